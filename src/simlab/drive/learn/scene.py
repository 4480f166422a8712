"""Drive a trained policy in another simulator: ``Scene`` in, ``Control`` out (spec §11).

A host describes the world in its own right-handed frame (metres, radians) with NumPy
arrays; nothing JAX-typed crosses the boundary:

    policy = ScenePolicy.load("runs/.../artefacts/policy")        # export_policy files
    control, state = policy.act(scene, state=None, dt=0.1)         # state: per-ego memory
    # control.x, control.y, control.psi: the next pose after dt (or track control.a_long,
    # control.a_lat / control.phi with the host's own controller)

The scene's lanes are converted once (cached by content hash) into the training map arrays
by the same map builder as the procedural and CARLA maps, and the observation is computed by
the simulator's own ``observe`` (no dropout, no noise), then ``simenv.to_blocks``, so a
policy sees exactly the features it was trained on. The forward pass is the pure-NumPy one
of ``interface.DrivingPolicy``; the next pose comes from the same jerk bicycle model.

Limits of this version: stop lines and traffic lights are not taken from the scene (the
stop-line block is empty); lanes without successors get no route to other lanes (their
route distances read "far", see ``simenv.ROUTE_CLIP``) instead of a Euclidean fallback;
road edges are always derived from the lanes. Ego dynamics coefficients are nominal (1).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simlab.core.errors import ConfigError
from simlab.drive.learn.interface import DrivingPolicy

GOAL_RADIUS = (2.0, 12.0)  # δ_goal range (m), simlab.drive.state.REWARD_RANGES["goal_radius"]

__all__ = ["Control", "EgoState", "Scene", "SceneLane", "ScenePolicy"]


@dataclass
class SceneLane:
    """A lane centre line ``pts`` [n, 2 or 3] (m) in driving order, its width (m), speed
    limit (m/s) and the indices of the lanes that continue it."""

    pts: np.ndarray
    width: float = 3.5
    speed_limit: float = 13.89
    successors: tuple[int, ...] = ()


@dataclass
class Scene:
    """Agents are arrays [N]: x, y, psi (rad), v (m/s, signed along the heading), length,
    width (m); optional z and ``valid``. ``egos`` are the indices of the agents to control;
    ``goals[i]`` [k ≤ 4, 2 or 3] are ego i's targets in order (the last is final)."""

    lanes: list[SceneLane]
    x: np.ndarray
    y: np.ndarray
    psi: np.ndarray
    v: np.ndarray
    length: np.ndarray
    width: np.ndarray
    egos: list[int]
    goals: list[np.ndarray]
    z: np.ndarray | None = None
    valid: np.ndarray | None = None
    conditioning: np.ndarray | None = None  # [E, N_REWARD]; default: conservative (§10.2)


@dataclass
class EgoState:
    """Per-ego memory between calls [E]: accelerations (m/s²), steering (rad), target index."""

    a_long: np.ndarray
    a_lat: np.ndarray
    phi: np.ndarray
    goal_idx: np.ndarray


@dataclass
class Control:
    """Per-ego command [E]: action index, jerks (m/s³), accelerations (m/s²), steering φ
    (rad), curvature κ (1/m), the speed reached after dt (m/s) and the next pose."""

    action: np.ndarray
    j_long: np.ndarray
    j_lat: np.ndarray
    a_long: np.ndarray
    a_lat: np.ndarray
    phi: np.ndarray
    kappa: np.ndarray
    v: np.ndarray
    x: np.ndarray
    y: np.ndarray
    psi: np.ndarray
    extra: dict = field(default_factory=dict)


def _lanes_key(lanes: list[SceneLane]) -> str:
    h = hashlib.sha256()
    for lane in lanes:
        h.update(np.ascontiguousarray(lane.pts, np.float64).tobytes())
        h.update(np.asarray([lane.width, lane.speed_limit, *lane.successors], float).tobytes())
        h.update(b"|")
    return h.hexdigest()


_BANKS: dict[str, object] = {}


def scene_bank(lanes: list[SceneLane], lane_row_step: float = 40.0):
    """The map bank of a scene's lanes (W_lane rows ``lane_row_step`` m long, as the policy
    was trained with), built once per distinct lane set (content hash)."""
    from simlab.drive.bank import make_bank
    from simlab.drive.mapdata import MapBuild, build_map
    from simlab.drive.roadgraph import Lane, RoadGraph

    key = f"{_lanes_key(lanes)}|{lane_row_step}"
    if key not in _BANKS:
        out = []
        for i, lane in enumerate(lanes):
            pts = np.asarray(lane.pts, float)
            if pts.ndim != 2 or pts.shape[0] < 2 or pts.shape[1] not in (2, 3):
                raise ConfigError(f"scene lane {i}: pts must be [n >= 2, 2 or 3], got {pts.shape}")
            if pts.shape[1] == 2:
                pts = np.concatenate([pts, np.zeros((len(pts), 1))], 1)
            out.append(Lane(pts, float(lane.width), float(lane.speed_limit),
                            succ=[int(k) for k in lane.successors]))  # fmt: skip
        scene_map = build_map(RoadGraph("scene", out), MapBuild(lane_row_step=lane_row_step))
        maps = [scene_map]
        if len(scene_map.s_a) == 0:
            # The simulator's arrays need at least one stop line; a map without any gets a
            # small procedural companion (map 1, never used) whose yield lines fill them.
            from simlab.drive.procgen import roundabout

            maps.append(build_map(roundabout(0)))
        _BANKS[key] = make_bank(maps)
    return _BANKS[key]


def _nearest_on_lanes(bank, px, py):
    """(quad, lane, s, z) of the lane point nearest to each (px, py) [K] (brute force)."""
    p0, p1 = np.asarray(bank.q_p0), np.asarray(bank.q_p1)
    d = p1[:, :2] - p0[:, :2]
    ln2 = np.maximum((d * d).sum(-1), 1e-12)
    rel = np.stack([px, py], -1)[:, None, :] - p0[None, :, :2]
    t = np.clip((rel * d[None]).sum(-1) / ln2, 0.0, 1.0)
    foot = p0[None, :, :2] + t[..., None] * d[None]
    q = np.argmin(((np.stack([px, py], -1)[:, None] - foot) ** 2).sum(-1), -1)
    tq = t[np.arange(len(q)), q]
    s = np.asarray(bank.q_s0)[q] + tq * np.sqrt(ln2[q])
    z = p0[q, 2] + tq * (p1[q, 2] - p0[q, 2])
    return q, np.asarray(bank.q_lane)[q], s, z


@functools.lru_cache(maxsize=16)
def _jitted(env_cfg, n_agents: int):
    import jax

    from simlab.drive import env as sim
    from simlab.drive.learn.simenv import to_blocks
    from simlab.drive.observe import observe
    from simlab.drive.scenario import associate

    def reset(bank, key):
        return sim.reset(bank, env_cfg, key, 1, map_id=np.zeros((1,), np.int32))

    def obs(bank, state):
        assoc = associate(bank, state.map_id[:, None], state.x, state.y, state.z, state.psi,
                          state.quad)  # fmt: skip
        import equinox as eqx

        state = eqx.tree_at(lambda s: (s.quad, s.lane, s.s), state,
                            (assoc["quad"], assoc["lane"], assoc["s"]))  # fmt: skip
        return to_blocks(observe(bank, env_cfg, state))

    return jax.jit(reset), jax.jit(obs)


class ScenePolicy:
    """A trained policy behind the §11 interface (see the module docstring)."""

    def __init__(self, policy: DrivingPolicy, n_partners: int = 20):
        from simlab.drive.config import EnvConfig

        self.policy = policy
        # Observe as in training: the row counts of the lane, boundary, stop and goal blocks,
        # the ego block's lane choice and the W_lane row length come from the policy's meta
        # when its trainer wrote them (the partner count is the caller's: long-form
        # evaluation observes 40).
        meta = policy.config.get("meta", {}) if policy is not None else {}
        counts = ("n_lanes", "n_boundary", "n_stops", "n_goals")
        env_meta = meta.get("env", {})
        trained = {k: int(v) for k, v in env_meta.items() if k in counts}
        if "ego_lane" in env_meta:
            trained["ego_lane"] = str(env_meta["ego_lane"])
        self.lane_row_step = float(meta.get("maps", {}).get("lane_row_step", 40.0))
        self.env_cfg = EnvConfig(
            n_partners=n_partners, training=False, conservative=True, noise_scale=0.0,
            randomize_lights=False, p_blind=0.0, p_braking=0.0, random_agent_count=False,
            **trained,
        )  # fmt: skip

    @classmethod
    def load(cls, path: str | Path, n_partners: int = 20) -> ScenePolicy:
        return cls(DrivingPolicy.load(path), n_partners)

    def observe(self, scene: Scene, state: EgoState | None = None) -> dict:
        """Observation blocks [E, ...] of the egos (NumPy), as the policy sees them."""
        import equinox as eqx
        import jax
        import jax.numpy as jnp

        n = len(scene.x)
        egos = np.asarray(scene.egos, int)
        if n < 1 or len(egos) < 1 or egos.min() < 0 or egos.max() >= n:
            raise ConfigError(f"scene: egos {scene.egos} must index its {n} agents")
        if len(scene.goals) != len(egos):
            raise ConfigError(f"scene: {len(egos)} egos but {len(scene.goals)} goal lists")
        state = state or self.initial_state(scene)
        bank = scene_bank(scene.lanes, self.lane_row_step)
        cfg = dataclasses.replace(self.env_cfg, n_agents=n, min_agents=n)
        reset, obs = _jitted(cfg, n)
        ws = reset(bank, jax.random.PRNGKey(0))
        valid = np.ones(n, bool) if scene.valid is None else np.asarray(scene.valid, bool)
        qa, _, _, za = _nearest_on_lanes(bank, np.asarray(scene.x), np.asarray(scene.y))
        z = za if scene.z is None else np.asarray(scene.z)
        g = cfg.n_goals
        goal_xyz = np.zeros((n, g, 3), np.float32)
        goal_lane = np.zeros((n, g), np.int32)
        goal_s = np.zeros((n, g), np.float32)
        n_targets = np.ones(n, np.int32)
        goal_idx = np.zeros(n, np.int32)
        a_long, a_lat, phi = (np.zeros(n, np.float32) for _ in range(3))
        for e, (i, goals) in enumerate(zip(egos, scene.goals)):
            pts = np.asarray(goals, float).reshape(-1, np.shape(goals)[-1])
            if not 1 <= len(pts) <= g:
                raise ConfigError(f"scene: ego {i} needs 1 to {g} goals, got {len(pts)}")
            _, gl, gs, gz = _nearest_on_lanes(bank, pts[:, 0], pts[:, 1])
            k = len(pts)
            goal_xyz[i, :k] = np.stack([pts[:, 0], pts[:, 1],
                                        pts[:, 2] if pts.shape[1] > 2 else gz], -1)  # fmt: skip
            goal_lane[i, :k], goal_s[i, :k], n_targets[i] = gl, gs, k
            goal_idx[i] = min(int(state.goal_idx[e]), k - 1)
            a_long[i], a_lat[i], phi[i] = state.a_long[e], state.a_lat[e], state.phi[e]
        coef = np.asarray(ws.coef[0])
        if scene.conditioning is not None:
            cond = np.asarray(scene.conditioning, np.float32)
            if cond.shape != (len(egos), coef.shape[-1]):
                raise ConfigError(
                    f"scene.conditioning: shape {cond.shape}, expected "
                    f"({len(egos)}, {coef.shape[-1]}) (one row of reward coefficients per ego)"
                )
            coef[egos] = cond
        length = np.asarray(scene.length, np.float32)
        ones = np.ones(n, np.float32)
        names = ("x", "y", "z", "psi", "v", "a_long", "a_lat", "phi", "length", "width",
                 "l_wb", "c_throttle", "c_steer", "c_acc", "c_vel", "coef", "goal_xyz",
                 "goal_lane", "goal_s", "n_targets", "goal_idx", "quad", "used", "present",
                 "active", "pending", "blind")  # fmt: skip
        values = (scene.x, scene.y, z, scene.psi, scene.v, a_long, a_lat, phi, length,
                  scene.width, 0.6 * length, ones, ones, ones, ones, coef, goal_xyz,
                  goal_lane, goal_s, n_targets, goal_idx, qa.astype(np.int32), valid, valid,
                  valid, np.zeros(n, bool), np.zeros(n, bool))  # fmt: skip
        arrays = []
        for name, val in zip(names, values):
            like = getattr(ws, name)
            arrays.append(jnp.asarray(np.asarray(val)[None], like.dtype).reshape(like.shape))
        ws = eqx.tree_at(lambda s: [getattr(s, k) for k in names], ws, arrays)
        blocks = jax.device_get(obs(bank, ws))
        return jax.tree_util.tree_map(lambda x: np.asarray(x)[0, egos], blocks)

    def initial_state(self, scene: Scene) -> EgoState:
        """Zero accelerations and steering, first target, for every ego."""
        e = len(scene.egos)
        return EgoState(np.zeros(e), np.zeros(e), np.zeros(e), np.zeros(e, int))

    def act(self, scene: Scene, state: EgoState | None = None, dt: float | None = None,
            deterministic: bool = True, rng=None) -> tuple[Control, EgoState]:  # fmt: skip
        """(Control, next EgoState) for the scene's egos; ``dt`` defaults to Δt_train (s)."""
        from simlab.drive.dynamics import bicycle_step

        dt = float(dt or self.policy.dt_train)
        state = state or self.initial_state(scene)
        obs = self.observe(scene, state)
        blocks = {k: (v.x, v.valid) if hasattr(v, "valid") else v for k, v in obs.items()}
        action, j_long, j_lat = self.policy.act(blocks, deterministic, rng)
        egos = np.asarray(scene.egos, int)
        length = np.asarray(scene.length, np.float32)[egos]
        out = bicycle_step(
            np.asarray(scene.x)[egos], np.asarray(scene.y)[egos], np.asarray(scene.psi)[egos],
            np.asarray(scene.v)[egos], state.a_long, state.a_lat, state.phi, j_long, j_lat,
            0.6 * length, 1.0, 1.0, 1.0, 1.0, dt,
        )  # fmt: skip
        x, y, psi, v, al, at, phi, _ = (np.asarray(o, np.float64) for o in out)
        kappa = np.tan(phi) / (0.6 * length)
        # Reaching a waypoint (within δ_goal of the conditioning) moves to the next target.
        radius = obs["coef"][:, 0] * (GOAL_RADIUS[1] - GOAL_RADIUS[0]) + GOAL_RADIUS[0]
        goal_idx = np.asarray(state.goal_idx).copy()
        for e, goals in enumerate(scene.goals):
            pts = np.asarray(goals, float).reshape(-1, np.shape(goals)[-1])
            k = min(int(goal_idx[e]), len(pts) - 1)
            if k < len(pts) - 1 and np.hypot(x[e] - pts[k, 0], y[e] - pts[k, 1]) < radius[e]:
                goal_idx[e] = k + 1
        control = Control(action, j_long, j_lat, al, at, phi, kappa, v, x, y, psi)
        return control, EgoState(al, at, phi, goal_idx)
