"""Scenario generation (spec §3.1 randomisation, §5): vehicles, conditioning, spawn poses,
goals and waypoints, traffic lights, and the lane association used everywhere.

All functions are pure and batched; ``map_id`` broadcasts against the sample shape.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlab.drive import rng, trig
from simlab.drive.bank import QUAD_CORE, QUAD_PAD, MapBank, cell_row, route_distance
from simlab.drive.config import EnvConfig
from simlab.drive.fusion import few_rows
from simlab.drive.geometry import boxes_overlap
from simlab.drive.state import REWARD_RANGES

__all__ = [
    "associate",
    "mixture_coef",
    "quad_frame",
    "sample_goals",
    "sample_lights",
    "sample_points",
    "sample_reward_coefs",
    "sample_vehicles",
    "spawn_slots",
    "stop_states",
]

f32, i32 = jnp.float32, jnp.int32
RED, YELLOW, GREEN, OFF = 0, 1, 2, 3


def _u(key, shape, lo=0.0, hi=1.0):
    return rng.uniform(key, shape, lo, hi)


def wrap(a):
    """Angle wrapped to [-pi, pi)."""
    return (a + jnp.pi) % (2 * jnp.pi) - jnp.pi


def mixture_coef(key, a: float, shape) -> jnp.ndarray:
    """X(a) = ½·U(1/a, 1) + ½·U(1, a): a mixture, not a sum (spec §3.1)."""
    k1, k2, k3 = rng.split(key, 3)
    low = _u(k1, shape, 1.0 / a, 1.0)
    high = _u(k2, shape, 1.0, a)
    return jnp.where(rng.bernoulli(k3, 0.5, shape), low, high)


def sample_reward_coefs(key, shape, conservative: bool = False) -> jnp.ndarray:
    """Reward coefficients [..., N_REWARD] in ``REWARD_NAMES`` order.

    conservative: the long-form evaluation setting (spec §10.2): collision 3, boundary 3,
    stop-line 1, every other coefficient at its range midpoint."""
    lo = jnp.asarray([r[0] for r in REWARD_RANGES.values()], f32)
    hi = jnp.asarray([r[1] for r in REWARD_RANGES.values()], f32)
    if conservative:
        mid = 0.5 * (lo + hi)
        fixed = mid.at[1].set(3.0).at[2].set(3.0).at[9].set(1.0)
        return jnp.broadcast_to(fixed, (*shape, len(REWARD_RANGES)))
    return lo + (hi - lo) * _u(key, (*shape, len(REWARD_RANGES)))


def sample_vehicles(key, shape) -> dict:
    """Sizes and dynamics coefficients: l ~ U(0.8, 7), w ~ U(0.8, 3) clipped to <= l,
    l_wb = 0.6 l; C_throttle, C_steer ~ X(1.25); C_acc, C_vel ~ X(1.5)."""
    ks = rng.split(key, 6)
    length = _u(ks[0], shape, 0.8, 7.0)
    width = jnp.minimum(_u(ks[1], shape, 0.8, 3.0), length)
    return dict(
        length=length,
        width=width,
        l_wb=0.6 * length,
        c_throttle=mixture_coef(ks[2], 1.25, shape),
        c_steer=mixture_coef(ks[3], 1.25, shape),
        c_acc=mixture_coef(ks[4], 1.5, shape),
        c_vel=mixture_coef(ks[5], 1.5, shape),
    )


def sample_points(bank: MapBank, key, map_id, shape) -> dict:
    """Points uniform by lane length on spawnable lanes: quad, lane, s, x, y, z, heading."""
    k1, k2 = rng.split(key, 2)
    m = jnp.broadcast_to(map_id, shape)
    idx = bank.spawn_off[m] + jnp.minimum(
        (_u(k1, shape) * bank.spawn_count[m]).astype(i32), bank.spawn_count[m] - 1
    )
    q = bank.spawn_quads[idx]
    t = _u(k2, shape)
    p0, p1 = bank.q_p0[q], bank.q_p1[q]
    p = p0 + (p1 - p0) * t[..., None]
    seg = p1[..., :2] - p0[..., :2]
    return dict(
        quad=q,
        lane=bank.q_lane[q],
        s=bank.q_s0[q] + t * jnp.linalg.norm(seg, axis=-1),
        x=p[..., 0],
        y=p[..., 1],
        z=p[..., 2],
        heading=bank.q_heading[q],  # precomputed per quad: atan2 per point cost ~40 %
    )


ASSOC_WIDTH = 16  # candidate columns every agent scans; wider cells go to the overflow pass
ASSOC_BATCH = 16  # up to n/16 agents on wider cells are scanned in full, gathered
ASSOC_SLOW = 2  # up to n/2 agents off a solo quad's core are scanned, gathered (``associate``)


def quad_coords(pk, x, y):
    """(t, d) [...]: points (x, y) in the frame of quads with packed rows pk [..., 8]
    (``bank.q_pack``): distance along the quad from p0 and lateral offset (left positive), m."""
    dx, dy = x - pk[..., 0], y - pk[..., 1]
    return dx * pk[..., 4] + dy * pk[..., 5], -dx * pk[..., 5] + dy * pk[..., 4]


def quad_claims(pk, t, d):
    """Points at (t, d) (``quad_coords``) in the region lane association gives a quad: its
    rectangle lengthened by ``QUAD_PAD`` at both ends (``bank.quad_solo`` relies on it)."""
    return (t >= -QUAD_PAD) & (t <= pk[..., 6] + QUAD_PAD) & (jnp.abs(d) <= 0.5 * pk[..., 7])


def _assoc_best(bank: MapBank, cand, x, y, z, cos_p, sin_p):
    """(column of the best quad [...], point inside it [...]) among candidates cand [..., K]:
    the quad under (x, y) with the best heading match, ties broken by z closeness, first
    column on equal scores (``argmax``). One packed row per candidate (``bank.q_pack``)."""
    ex = lambda v: v[..., None]  # noqa: E731
    pk = bank.q_pack[jnp.maximum(cand, 0)]  # [..., K, 8]
    p0z, p1z, ux, uy, ln = (pk[..., i] for i in (2, 3, 4, 5, 6))
    t, d = quad_coords(pk, ex(x), ex(y))
    inside = (cand >= 0) & quad_claims(pk, t, d)
    zq = p0z + (p1z - p0z) * jnp.clip(t / ln, 0, 1)
    score = (ux * ex(cos_p) + uy * ex(sin_p)) - 0.2 * jnp.abs(zq - ex(z))
    score = jnp.where(inside, score, -1e9)
    best = jnp.argmax(score, axis=-1)
    return best, jnp.take_along_axis(inside, best[..., None], -1)[..., 0]


def associate(bank: MapBank, map_id, x, y, z, psi, prev_quad, need=None) -> dict:
    """Lane association: the quad under (x, y) with the best heading match, ties broken by z
    closeness; keeps ``prev_quad`` when the point is on no quad. Returns quad, lane, s,
    offset (signed lateral offset from the centre, left positive, m), heading error
    (psi minus lane heading, wrapped), curvature, speed limit, on_lane, z of the lane.

    A point in the core of a solo quad (``bank.q_solo``: no other quad reaches its core) is
    in no other quad, so that quad is its association whatever the heading. Most agents
    are in such a core: their previous quad's, or, as quads are ~1 m long and an agent
    moves a few per step, the quad as far along the same lane as the agent has moved along
    the previous one. Those two are tested; the other agents (junctions, curves' joints,
    quad ends, lane changes) are gathered, up to n/``ASSOC_SLOW`` of them, and scanned
    (``_scan``); when more are, all agents are scanned. ``need`` [...] (optional): agents
    whose result the caller uses; the others are never scanned for it and get an
    arbitrary quad."""
    shape = jnp.shape(x)
    map_id = jnp.broadcast_to(map_id, shape)
    prev_quad = jnp.broadcast_to(prev_quad, shape)
    pq = jnp.maximum(prev_quad, 0)
    in_prev, t = _in_solo_core(bank, pq, x, y)
    ahead = pq + jnp.maximum(jnp.floor(t / bank.q_pack[pq, 6]), 0).astype(i32)
    ahead = jnp.minimum(ahead, bank.q_lane.shape[0] - 1)
    # a guess (a lane's quads have consecutive ids, in order); any solo core holding the
    # point would be exact
    ahead = jnp.where(bank.q_lane[ahead] == bank.q_lane[pq], ahead, pq)
    in_ahead, _ = _in_solo_core(bank, ahead, x, y)
    stay = (prev_quad >= 0) & (in_prev | in_ahead)
    base = jnp.where(stay & ~in_prev, ahead, prev_quad)  # a stayer's quad; else the previous
    if need is not None:
        stay |= ~jnp.broadcast_to(need, shape)
    scan = ~stay.ravel()
    n = scan.size
    cap = max(1, -(-n // ASSOC_SLOW))
    flat = lambda v: v.reshape(-1)  # noqa: E731

    def none(_):
        return base, jnp.ones(shape, bool)

    def some(_):
        idx, r = few_rows(scan, cap)
        g = lambda v: flat(v)[r]  # noqa: E731
        q, on = _scan(bank, g(map_id), g(x), g(y), g(z), g(psi))
        quad = flat(base).at[idx].set(q, mode="drop").reshape(shape)
        on_lane = jnp.ones((n,), bool).at[idx].set(on, mode="drop").reshape(shape)
        return quad, on_lane

    def every(_):
        return _scan(bank, map_id, x, y, z, psi)

    n_scan = jnp.sum(scan, dtype=i32)
    branch = jnp.where(n_scan == 0, 0, jnp.where(n_scan <= cap, 1, 2))
    quad, on_lane = jax.lax.switch(branch, [none, some, every], None)
    quad = jnp.where(on_lane, quad, prev_quad)
    frame = quad_frame(bank, jnp.maximum(quad, 0), x, y, psi)
    return dict(frame, on_lane=on_lane)


def _in_solo_core(bank: MapBank, quad, x, y):
    """(point in the core of ``quad`` and the quad solo [...], its distance along the quad
    from p0 (m) [...]) for quad ids ≥ 0."""
    pk = bank.q_pack[quad]
    t, d = quad_coords(pk, x, y)
    c = QUAD_CORE
    core = (t >= c) & (t <= pk[..., 6] - c) & (jnp.abs(d) <= 0.5 * pk[..., 7] - c)
    return core & bank.q_solo[quad], t


def _scan(bank: MapBank, map_id, x, y, z, psi):
    """(quad, on_lane) [...]: ``_assoc_best`` over the whole candidate list of each point's
    cell (up to K = 44 quads in junction cells), but cheap: valid candidates form a prefix
    of the list and only ~3 % of agents stand on a cell with more than ``ASSOC_WIDTH`` of
    them, so every point is scanned over the first ``ASSOC_WIDTH`` columns, and those on
    wider cells (column ``ASSOC_WIDTH`` valid) are gathered, up to n/``ASSOC_BATCH`` of
    them, and scanned in full; when more are, all are scanned in full."""
    shape = jnp.shape(x)
    grid = bank.quad_grid
    k_all = grid.rows.shape[1]
    kw = min(ASSOC_WIDTH, k_all)
    row = cell_row(grid, map_id, jnp.stack([x, y], -1))  # [...]
    sin_p, cos_p = trig.sincos(psi)
    cand = grid.rows[row, :kw]  # [..., kw]
    best, on_lane = _assoc_best(bank, cand, x, y, z, cos_p, sin_p)
    quad = jnp.take_along_axis(cand, best[..., None], -1)[..., 0]
    if kw < k_all:
        n = row.size
        wide = (grid.rows[row, kw] >= 0).ravel()  # [n]
        cap = max(1, -(-n // ASSOC_BATCH))
        flat = lambda v: v.reshape(-1)  # noqa: E731

        def some(args):
            quad, on_lane = args
            idx, r = few_rows(wide, cap)
            g = lambda v: flat(v)[r]  # noqa: E731
            c = grid.rows[g(row)]  # [cap, K]
            b, on = _assoc_best(bank, c, g(x), g(y), g(z), g(cos_p), g(sin_p))
            q = jnp.take_along_axis(c, b[:, None], -1)[:, 0]
            quad = flat(quad).at[idx].set(q, mode="drop").reshape(shape)
            on_lane = flat(on_lane).at[idx].set(on, mode="drop").reshape(shape)
            return quad, on_lane

        def full(args):
            c = grid.rows[row]
            b, on = _assoc_best(bank, c, x, y, z, cos_p, sin_p)
            return jnp.take_along_axis(c, b[..., None], -1)[..., 0], on

        n_wide = jnp.sum(wide, dtype=i32)
        branch = jnp.where(n_wide == 0, 0, jnp.where(n_wide <= cap, 1, 2))
        quad, on_lane = jax.lax.switch(branch, [lambda a: a, some, full], (quad, on_lane))
    return quad, on_lane


def quad_frame(bank: MapBank, quad, x, y, psi) -> dict:
    """Pose (x, y, psi) relative to lane quad ``quad``: quad, lane, s (m along the lane),
    offset (m, left positive), heading_error (rad), curvature (1/m), speed_limit (m/s),
    lane_z (m)."""
    q0, q1 = bank.q_p0[quad], bank.q_p1[quad]
    vx, vy = q1[..., 0] - q0[..., 0], q1[..., 1] - q0[..., 1]
    qlen = jnp.maximum(jnp.sqrt(vx * vx + vy * vy), 1e-6)
    vx, vy = vx / qlen, vy / qlen
    ex, ey = x - q0[..., 0], y - q0[..., 1]
    along = ex * vx + ey * vy
    return dict(
        quad=jnp.asarray(quad, i32),
        lane=bank.q_lane[quad],
        s=bank.q_s0[quad] + jnp.clip(along, 0.0, qlen),
        offset=-ex * vy + ey * vx,
        heading_error=trig.wrap(psi - trig.atan2(vy, vx)),
        curvature=bank.q_curv[quad],
        speed_limit=bank.q_speed[quad],
        lane_z=q0[..., 2] + (q1[..., 2] - q0[..., 2]) * jnp.clip(along / qlen, 0, 1),
    )


def sample_goals(bank: MapBank, cfg: EnvConfig, key, map_id, lane, s, heading) -> dict:
    """Targets for agents at (lane, s, heading) [...]: up to ``cfg.n_goals`` targets, the last
    valid one final. N_wp ~ U{0, n_goals-1} waypoints. Each target is drawn from
    ``goal_candidates`` points uniform by lane length: the first candidate whose route
    distance from the previous target is in [goal_min_dist, goal_max_dist] and whose lane
    heading differs by at most goal_max_turn_deg; failing that (relax heading) the first with
    a valid distance; failing that (relax distance) the candidate closest to the range.
    Returns goal_xyz [..., G, 3], goal_lane, goal_s, goal_heading [..., G], n_targets [...]."""
    shape = jnp.shape(lane)
    g, n_cand = cfg.n_goals, cfg.goal_candidates
    keys = rng.split(key, g + 1)
    n_targets = 1 + rng.randint(keys[-1], shape, 0, g)
    cos_max = jnp.cos(jnp.deg2rad(cfg.goal_max_turn_deg))
    mid = jnp.asarray(map_id)[..., None]

    def target(cur, k):
        cur_lane, cur_s, cur_h = cur
        c = sample_points(bank, k, mid, (*shape, n_cand))
        rd = route_distance(bank, cur_lane[..., None], cur_s[..., None], c["lane"], c["s"])
        ok_d = (rd >= cfg.goal_min_dist) & (rd <= cfg.goal_max_dist)
        ok_h = trig.sincos(c["heading"] - cur_h[..., None])[1] >= cos_max
        miss = jnp.maximum(cfg.goal_min_dist - rd, 0) + jnp.maximum(rd - cfg.goal_max_dist, 0)
        score = 4.0 * (ok_d & ok_h) + 2.0 * ok_d - jnp.minimum(miss, 1e5) * 1e-5
        best = jnp.argmax(score, -1)[..., None]
        pick = {n: jnp.take_along_axis(v, best, -1)[..., 0] for n, v in c.items()}
        xyz = jnp.stack([pick["x"], pick["y"], pick["z"]], -1)
        out = (xyz, pick["lane"], pick["s"], pick["heading"])
        return (pick["lane"], pick["s"], pick["heading"]), out

    init = (jnp.asarray(lane, i32), jnp.asarray(s, f32), jnp.asarray(heading, f32))
    _, (xyz, g_lane, g_s, g_h) = jax.lax.scan(target, init, keys[:g])
    last = lambda v: jnp.moveaxis(v, 0, -1)  # noqa: E731  [G, ...] -> [..., G]
    return dict(
        goal_xyz=jnp.moveaxis(xyz, 0, -2),
        goal_lane=last(g_lane),
        goal_s=last(g_s),
        goal_heading=last(g_h),
        n_targets=n_targets,
    )


def sample_lights(bank: MapBank, cfg: EnvConfig, key, n_worlds: int) -> dict:
    """Per-world light timings and removals (spec §5.3).

    Durations (s) per world: red U(0.15, 5)·2, yellow U(0.5, 0.75)·3, green U(0.1, 1)·10;
    each junction starts at a random point of its cycle. Stop-line modes: 20 % of lights
    removed individually, 20 % of (junction, group) pairs removed, 20 % of episodes with all
    lights off, 5 % of the remaining lights always green. Without ``randomize_lights`` the
    CARLA base timings (2, 3, 10 s) are used with no removals."""
    ks = rng.split(key, 8)
    w, j, s = n_worlds, bank.max_junctions, bank.max_stops
    if cfg.randomize_lights:
        tau = jnp.stack(
            [_u(ks[0], (w,), 0.15, 5.0) * 2, _u(ks[1], (w,), 0.5, 0.75) * 3,
             _u(ks[2], (w,), 0.1, 1.0) * 10], -1)  # fmt: skip
    else:
        tau = jnp.broadcast_to(jnp.asarray([2.0, 3.0, 10.0], f32), (w, 3))
    offset = _u(ks[3], (w, j)) * 1e4  # reduced modulo each junction's cycle later
    mode = jnp.zeros((w, s), i32)
    group_off = jnp.zeros((w, j, bank.max_groups), bool)
    if cfg.randomize_lights:
        off_single = rng.bernoulli(ks[4], cfg.p_light_removed, (w, s))
        group_off = rng.bernoulli(ks[5], cfg.p_group_removed, (w, j, bank.max_groups))
        off_world = rng.bernoulli(ks[6], cfg.p_all_lights_off, (w, 1))
        green = rng.bernoulli(ks[7], cfg.p_always_green, (w, s))
        mode = jnp.where(off_single | off_world, 1, jnp.where(green, 2, 0)).astype(i32)
    return dict(light_offset=offset, light_tau=tau, stop_mode=mode, group_off=group_off)


def stop_states(bank: MapBank, cfg: EnvConfig, state, stop_ids) -> jnp.ndarray:
    """Light state (0 red, 1 yellow, 2 green, 3 off) of global stop lines ``stop_ids``
    [W, ...] (-1 = none gives off). Groups of a junction take turns: green, yellow, all-red."""
    w = state.map_id.shape[0]
    sid = jnp.maximum(stop_ids, 0)
    junc, group, local = bank.s_junc[sid], bank.s_group[sid], bank.s_local[sid]
    wi = jnp.arange(w).reshape((w,) + (1,) * (stop_ids.ndim - 1))
    n_groups = bank.junc_groups[state.map_id.reshape(wi.shape), jnp.maximum(junc, 0)]
    tau = state.light_tau
    t_red, t_yel, t_grn = (tau[:, i].reshape(wi.shape) for i in range(3))
    period = t_red + t_yel + t_grn
    cycle = jnp.maximum(n_groups, 1) * period
    t = (
        state.step.reshape(wi.shape).astype(f32) * cfg.dt
        + state.light_offset[wi, jnp.maximum(junc, 0)]
    )
    u = jnp.mod(t, cycle)
    turn = jnp.floor(u / period).astype(i32)
    ph = u - turn * period
    own = jnp.where(ph < t_grn, GREEN, jnp.where(ph < t_grn + t_yel, YELLOW, RED))
    light = jnp.where(turn == group, own, RED)
    mode = state.stop_mode[wi, local]
    light = jnp.where(mode == 2, GREEN, light)
    removed = state.group_off[wi, jnp.maximum(junc, 0), jnp.minimum(group, bank.max_groups - 1)]
    light = jnp.where((mode == 1) | removed | (junc < 0) | (stop_ids < 0), OFF, light)
    return light.astype(i32)


def spawn_slots(bank: MapBank, cfg: EnvConfig, key, map_id, boxes, want, tries: int):
    """Sequential rejection sampling over slots (spec §5.1).

    boxes: dict x, y, psi, length, width, present [W, A] of agents already placed; want
    [W, A] marks slots to fill, in slot order; their sizes must already be in ``boxes``.
    Each try draws a point uniform by lane length with the lane heading, and is rejected if
    the candidate box, inflated by ``spawn_margin`` on every side, overlaps a present box.
    Returns (pose dict for all slots [W, A], placed [W, A]); failed slots stay empty."""
    w, a = want.shape
    margin = cfg.spawn_margin

    def body(carry, slot):
        present, x, y, z, psi, quad, lane, s, sk = carry
        k = rng.fold_in(key, slot)
        c = sample_points(bank, k, map_id[:, None], (w, tries))
        l_s = boxes["length"][:, slot][:, None, None] + 2 * margin
        w_s = boxes["width"][:, slot][:, None, None] + 2 * margin
        hit = boxes_overlap(
            c["x"][..., None], c["y"][..., None], c["heading"][..., None], l_s, w_s,
            x[:, None, :], y[:, None, :], psi[:, None, :],
            boxes["length"][:, None, :], boxes["width"][:, None, :],
        )  # fmt: skip
        ok = ~jnp.any(hit & present[:, None, :], axis=-1)  # [W, T]
        first = jnp.argmax(ok, -1)[:, None]
        placed = jnp.any(ok, -1) & want[:, slot]
        pick = {n: jnp.take_along_axis(v, first, -1)[:, 0] for n, v in c.items()}
        upd = lambda arr, val: arr.at[:, slot].set(jnp.where(placed, val, arr[:, slot]))  # noqa: E731
        carry = (
            upd(present, True), upd(x, pick["x"]), upd(y, pick["y"]), upd(z, pick["z"]),
            upd(psi, pick["heading"]), upd(quad, pick["quad"]), upd(lane, pick["lane"]),
            upd(s, pick["s"]), upd(sk, True),
        )  # fmt: skip
        return carry, None

    init = (
        boxes["present"], boxes["x"], boxes["y"], jnp.zeros((w, a), f32), boxes["psi"],
        jnp.zeros((w, a), i32), jnp.zeros((w, a), i32), jnp.zeros((w, a), f32),
        jnp.zeros((w, a), bool),
    )  # fmt: skip
    (_present, x, y, z, psi, quad, lane, s, placed), _ = jax.lax.scan(body, init, jnp.arange(a))
    return dict(x=x, y=y, z=z, psi=psi, quad=quad, lane=lane, s=s), placed
