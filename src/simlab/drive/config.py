"""Simulator configuration (a frozen, hashable dataclass: pass it as a static jit argument).

Defaults follow spec §3–§7; every ⚠ item is a field. Choices made here where the spec is open:
* ``respawn_per_step`` / ``respawn_tries``: removed agents and finished lives are refilled at
  most this many slots per world per step (bounded cost per step); the first spawn of an
  episode uses the full sequential rejection sampler (``spawn_tries`` = 30 tries per slot).
* The spawn margin inflates the candidate's half-extents by ``spawn_margin`` metres.
* Episodes of all worlds are synchronised (all start at step 0); a world reset re-runs the
  full spawn for every world that needs it under one ``lax.cond``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["EnvConfig"]


@dataclass(frozen=True)
class EnvConfig:
    n_agents: int = 32  # A_max slots per world
    min_agents: int = 1  # agents per world ~ U{min_agents, n_agents}
    random_agent_count: bool = True  # False: every world targets n_agents
    dt: float = 0.3  # s
    max_steps: int = 1200  # episode limit (steps)
    # observation counts
    n_partners: int = 20
    n_lanes: int = 80
    n_boundary: int = 80
    n_stops: int = 4
    n_goals: int = 4  # 1 final goal + up to 3 waypoints
    obs_radius: float = 200.0  # m
    partner_select: Literal["rings", "top_k"] = "rings"  # spec §2.3's, or exact nearest
    # the lane of the ego block (offset, angle, curvature, v_lim): the associated quad (best
    # heading match), or the quad under the agent on the shortest route to its target
    # (``observe.route_quad``); events always use the associated one
    ego_lane: Literal["heading", "route"] = "heading"
    # training-time observation perturbations
    training: bool = True
    lane_dropout: float = 0.5
    boundary_dropout: float = 0.4
    noise_scale: float = 1.0  # multiplies sigma_pos/psi/v; 0.5 in long-form evaluation
    sigma_pos: float = 0.2
    sigma_psi: float = 0.02
    sigma_v: float = 0.2
    # spawning and goals
    spawn_tries: int = 30
    spawn_margin: float = 1.0
    respawn_per_step: int = 2
    respawn_tries: int = 8
    goal_candidates: int = 16
    goal_min_dist: float = 20.0
    goal_max_dist: float = 200.0
    goal_max_turn_deg: float = 60.0
    v_goal: float = 3.0  # m/s
    # incident handling
    on_collision: Literal["remove", "stop", "ignore"] = "remove"
    on_offroad: Literal["remove", "stop", "ignore"] = "remove"
    reset_inactive_fraction: float = 0.4
    red_on_yellow: bool = False
    slope_max: float = 0.15  # 2.5-D collision filter
    wrong_way_dist: float = 2.0  # m sustained before a wrong-way event
    # erratic drivers
    p_blind: float = 0.05
    p_braking: float = 0.10
    brake_prob: float = 0.03  # per step
    brake_duration: float = 3.0  # s
    # traffic lights
    randomize_lights: bool = True
    p_light_removed: float = 0.2
    p_group_removed: float = 0.2
    p_all_lights_off: float = 0.2
    p_always_green: float = 0.05
    # conditioning
    conservative: bool = False  # long-form evaluation: fixed conservative coefficients
    alpha_velocity: float = 2.5e-3
    alpha_timestep: float = 2.5e-5

    def __post_init__(self) -> None:
        if not 1 <= self.min_agents <= self.n_agents:
            raise ValueError("need 1 <= min_agents <= n_agents")
        if self.n_partners < 1 or self.n_lanes < 1 or self.n_boundary < 1:
            raise ValueError("observation counts must be positive")
        if self.partner_select not in ("rings", "top_k"):
            raise ValueError(f"partner_select must be rings or top_k, not {self.partner_select!r}")
        if self.dt <= 0:
            raise ValueError("dt must be positive")
