"""The world state pytree (spec §1): per-agent arrays [W, A], per-world arrays [W].

Everything the next step needs lives here, so a rollout buffer can store states and
rebuild observations from them. Empty slots are masked with ``present``/``active``.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp

__all__ = ["N_REWARD", "REWARD_NAMES", "REWARD_RANGES", "WorldState"]

# Reward conditioning coefficients (spec §7), sampled per agent per life: name -> (lo, hi).
REWARD_RANGES: dict[str, tuple[float, float]] = {
    "goal_radius": (2.0, 12.0),  # delta_goal (m)
    "collision": (0.0, 3.0),
    "boundary": (0.0, 3.0),
    "comfort": (0.0, 0.1),
    "l_align": (2.5e-4, 2.5e-2),
    "vel_align": (0.0, 1.0),
    "l_center": (2.5e-4, 7.5e-3),
    "center_bias": (-0.5, 0.5),  # m
    "reverse": (2.5e-4, 7.5e-3),
    "stop_line": (0.0, 1.0),
}
REWARD_NAMES = tuple(REWARD_RANGES)
N_REWARD = len(REWARD_NAMES)


class WorldState(eqx.Module):
    """State of W worlds with A agent slots each. float32 / int32 / bool throughout.

    Agents [W, A]: pose x, y, z (m), psi (rad); v (m/s); a_long, a_lat (m/s²); phi (rad);
    size length, width, l_wb (m); dynamics coefficients c_throttle, c_steer, c_acc, c_vel;
    reward coefficients coef [W, A, N_REWARD] (order ``REWARD_NAMES``); targets
    goal_xyz [W, A, G, 3], goal_lane / goal_s / goal_heading [W, A, G]; n_targets (1 + number
    of waypoints) and goal_idx (index of the current target); lane association quad / lane /
    s; flags ``used`` (slot counts toward the world's agents), ``present`` (occupies space),
    ``active`` (driven and rewarded), ``pending`` (waits for a spawn), ``reborn`` (waits for a
    new life in place); erratic flags blind / braker and brake_timer (steps left);
    wrong_dist (m driven the wrong way in a row); life_steps, life_dist (m) accumulators.
    Worlds [W]: map_id, step (episode step), n_target; lights: light_offset [W, J] (s),
    light_tau [W, 3] (red, yellow, green durations, s), stop_mode [W, S] (0 normal,
    1 off, 2 always green); group_off [W, J, G] removed signal groups. ``key``: the simulator's
    uint32 seed (scalar; see ``simlab.drive.rng``).
    """

    x: jnp.ndarray
    y: jnp.ndarray
    z: jnp.ndarray
    psi: jnp.ndarray
    v: jnp.ndarray
    a_long: jnp.ndarray
    a_lat: jnp.ndarray
    phi: jnp.ndarray
    length: jnp.ndarray
    width: jnp.ndarray
    l_wb: jnp.ndarray
    c_throttle: jnp.ndarray
    c_steer: jnp.ndarray
    c_acc: jnp.ndarray
    c_vel: jnp.ndarray
    coef: jnp.ndarray
    goal_xyz: jnp.ndarray
    goal_lane: jnp.ndarray
    goal_s: jnp.ndarray
    goal_heading: jnp.ndarray
    n_targets: jnp.ndarray
    goal_idx: jnp.ndarray
    quad: jnp.ndarray
    lane: jnp.ndarray
    s: jnp.ndarray
    used: jnp.ndarray
    present: jnp.ndarray
    active: jnp.ndarray
    pending: jnp.ndarray
    reborn: jnp.ndarray
    blind: jnp.ndarray
    braker: jnp.ndarray
    brake_timer: jnp.ndarray
    wrong_dist: jnp.ndarray
    life_steps: jnp.ndarray
    life_dist: jnp.ndarray
    map_id: jnp.ndarray
    step: jnp.ndarray
    n_target: jnp.ndarray
    light_offset: jnp.ndarray
    light_tau: jnp.ndarray
    stop_mode: jnp.ndarray
    group_off: jnp.ndarray
    key: jnp.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.x.shape

    @property
    def erratic(self) -> jnp.ndarray:
        """[W, A] agents whose transitions PPO must exclude (blind or braking drivers)."""
        return self.blind | self.braker
