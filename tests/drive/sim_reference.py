"""Verbatim copies of simulator functions before they were rewritten for speed, kept as
oracles: the new versions must return exactly the same values (tests/drive/test_sim_equal.py).

- ``associate``: the argmax over a cell's whole (44-wide) quad list, three gathers per
  candidate (before ``scenario.associate`` scanned a 16-wide prefix plus an overflow pass).
- ``collisions``: the narrow test over all W·A·4 first-partner slots (before ``env.collisions``
  gathered the agents that have a near partner); N_NEAR = 4 and OVER_BATCH = 64 inlined.
- ``select_partners``: ring ranks by ``jnp.cumsum`` (before ``partners.select_partners``
  counted them by a triangular matmul); N_RADII = 16 inlined.
"""

import jax
import jax.numpy as jnp
import numpy as np

from simlab.drive import trig
from simlab.drive.bank import MapBank, cell_candidates
from simlab.drive.config import EnvConfig
from simlab.drive.geometry import swept_collision_cs, swept_reach
from simlab.drive.scenario import quad_frame
from simlab.drive.state import WorldState

i32 = jnp.int32


def associate(bank: MapBank, map_id, x, y, z, psi, prev_quad) -> dict:
    """Lane association: the quad under (x, y) with the best heading match, ties broken by z
    closeness; keeps ``prev_quad`` when the point is on no quad. Returns quad, lane, s,
    offset (signed lateral offset from the centre, left positive, m), heading error
    (psi minus lane heading, wrapped), curvature, speed limit, on_lane, z of the lane."""
    cand = cell_candidates(bank.quad_grid, map_id, jnp.stack([x, y], -1))  # [..., K]
    safe = jnp.maximum(cand, 0)
    p0, p1, w = bank.q_p0[safe], bank.q_p1[safe], bank.q_width[safe]
    ux, uy = p1[..., 0] - p0[..., 0], p1[..., 1] - p0[..., 1]
    ln = jnp.maximum(jnp.sqrt(ux * ux + uy * uy), 1e-6)
    ux, uy = ux / ln, uy / ln
    dx, dy = x[..., None] - p0[..., 0], y[..., None] - p0[..., 1]
    t = dx * ux + dy * uy
    d = -dx * uy + dy * ux
    inside = (cand >= 0) & (t >= -0.05) & (t <= ln + 0.05) & (jnp.abs(d) <= 0.5 * w)
    zq = p0[..., 2] + (p1[..., 2] - p0[..., 2]) * jnp.clip(t / ln, 0, 1)
    sin_p, cos_p = trig.sincos(psi)
    score = (ux * cos_p[..., None] + uy * sin_p[..., None]) - 0.2 * jnp.abs(zq - z[..., None])
    score = jnp.where(inside, score, -1e9)
    best = jnp.argmax(score, axis=-1)
    on_lane = jnp.take_along_axis(inside, best[..., None], -1)[..., 0]
    quad = jnp.where(on_lane, jnp.take_along_axis(cand, best[..., None], -1)[..., 0], prev_quad)
    frame = quad_frame(bank, jnp.maximum(quad, 0), x, y, psi)
    return dict(frame, on_lane=on_lane)


def _gather(v, idx):
    """v [W, A] gathered at partner indices idx [W, A, N] (clamped; mask separately)."""
    w = v.shape[0]
    return jnp.take_along_axis(v, jnp.maximum(idx, 0).reshape(w, -1), 1).reshape(idx.shape)


def collisions(cfg: EnvConfig, state: WorldState, new: dict) -> jnp.ndarray:
    """Collision flags [W, A]: swept-box collision (``swept_collision``) with any other
    present agent of the world whose z is level (|Δz| <= slope_max·d_xy + 1 m, spec §4).

    Exact over all pairs, but cheap: a broad phase (``swept_reach``, a few flops per pair,
    [W, A, A] broadcasting, no gathers) keeps pairs that could meet; each agent runs the
    narrow test on its first ``4`` such partners j > i (each pair once; a hit flags both
    agents). Agents with more near partners are few: up to W·A/``64`` of them are
    gathered and tested against their whole world; beyond that every near pair is tested.
    So the result never depends on ``4``."""
    w, a = state.x.shape
    ex, ey = (lambda v: v[:, :, None]), (lambda v: v[:, None, :])
    p0 = (state.x, state.y, state.psi)
    p1 = (new["x"], new["y"], new["psi"])
    radius = 0.5 * jnp.hypot(state.length, state.width)
    near = swept_reach(
        tuple(map(ex, p0)), tuple(map(ex, p1)), ex(radius),
        tuple(map(ey, p0)), tuple(map(ey, p1)), ey(radius),
    )  # fmt: skip
    dxy = jnp.hypot(ey(new["x"]) - ex(new["x"]), ey(new["y"]) - ex(new["y"]))
    level = jnp.abs(ey(new["z"]) - ex(new["z"])) <= cfg.slope_max * dxy + 1.0
    upper = jnp.arange(a)[None, :, None] < jnp.arange(a)[None, None, :]  # j > i
    # barriers keep XLA from fusing the broad phase into each of the reductions that read it
    # (it would recompute it once per argmax pass: measured 10x slower)
    pair = jax.lax.optimization_barrier(
        near & level & upper & ex(state.present) & ey(state.present)
    )

    (s0, c0), (s1, c1) = trig.sincos(state.psi), trig.sincos(new["psi"])  # once per agent
    q0, q1 = (state.x, state.y, c0, s0), (new["x"], new["y"], c1, s1)

    def narrow(i_sel, j_idx):
        """Swept test of agents i_sel(v) [..] against gathered partners j_idx [W, ...]."""
        g = lambda v: _gather(v, j_idx)  # noqa: E731
        return swept_collision_cs(
            tuple(map(i_sel, q0)), tuple(map(i_sel, q1)),
            (i_sel(state.length), i_sel(state.width)),
            tuple(map(g, q0)), tuple(map(g, q1)), (g(state.length), g(state.width)),
        )  # fmt: skip

    # the first 4 near partners of each agent, by repeated argmax (no sort, no cumsum)
    k = min(4, a)
    cols, rest = [], pair
    for _ in range(k):
        j = jnp.argmax(rest, -1)
        has = jnp.take_along_axis(rest, j[..., None], -1)[..., 0]
        cols.append(jnp.where(has, j, -1))
        rest = rest & (jnp.arange(a)[None, None, :] != j[..., None])
    idx, rest = jax.lax.optimization_barrier((jnp.stack(cols, -1), rest))  # [W, A, k]
    hit = narrow(ex, idx) & (idx >= 0)
    # a hit also flags the partner: a small scatter (a one-hot reduction over j would make XLA
    # recompute the narrow test once per column)
    rows = jnp.arange(w, dtype=i32)[:, None, None] * a + jnp.where(hit, idx, a * w)
    hit_j = jnp.zeros((w * a,), bool).at[rows.ravel()].set(True, mode="drop").reshape(w, a)
    flags = jnp.any(hit, -1) | hit_j

    # agents with more than 4 near partners: their remaining pairs (``rest``) are tested
    # row by row for up to ``cap`` such agents (gathered), or for all pairs beyond that
    over = jnp.any(rest, -1).ravel()  # [W·A]
    cap = max(1, -(-w * a // 64))

    def some_rows(f):
        (rows,) = jnp.nonzero(over, size=cap, fill_value=w * a)  # w·a: dropped by scatters
        r = jnp.minimum(rows, w * a - 1)
        rw = r // a
        own = lambda v: v.reshape(-1)[r][:, None]  # noqa: E731  [cap, 1]
        world = lambda v: v[rw]  # noqa: E731  [cap, A]
        hit = swept_collision_cs(
            tuple(map(own, q0)), tuple(map(own, q1)), (own(state.length), own(state.width)),
            tuple(map(world, q0)), tuple(map(world, q1)),
            (world(state.length), world(state.width)),
        )  # fmt: skip
        hit = hit & rest.reshape(w * a, a)[r] & (rows < w * a)[:, None]
        f = f.reshape(-1).at[rows].set(f.reshape(-1)[r] | jnp.any(hit, -1), mode="drop")
        cols = jnp.where(hit, rw[:, None] * a + jnp.arange(a), w * a)
        return f.at[cols.ravel()].set(True, mode="drop").reshape(w, a)

    def all_pairs(f):
        j_all = jnp.broadcast_to(jnp.arange(a, dtype=i32), (w, a, a))
        full = narrow(ex, j_all) & pair
        return jnp.any(full, -1) | jnp.any(full, 1)

    n_over = jnp.sum(over, dtype=i32)
    branch = jnp.where(n_over == 0, 0, jnp.where(n_over <= cap, 1, 2))
    flags = jax.lax.switch(branch, [lambda f: f, some_rows, all_pairs], flags)
    return flags & state.present


def select_partners(x, y, present, n: int, radius: float = 200.0) -> jnp.ndarray:
    """Partner indices [W, A, n] (-1 = empty) of every slot among present agents.

    x, y, present: [W, A]. Self is never a partner. Absent slots still get partners (the
    result is masked by the caller)."""
    w, a = x.shape
    dx = x[:, :, None] - x[:, None, :]
    dy = y[:, :, None] - y[:, None, :]
    d2 = dx * dx + dy * dy
    eye = jnp.eye(a, dtype=bool)[None]
    ok = present[:, None, :] & ~eye & (d2 <= radius * radius)
    d2 = jnp.where(ok, d2, jnp.inf)
    if a <= n:
        idx = jnp.where(ok, jnp.arange(a, dtype=i32)[None, None, :], -1)
        return jnp.pad(idx, ((0, 0), (0, 0), (0, n - a)), constant_values=-1)
    r2 = jnp.asarray(
        np.concatenate([[0.0], np.geomspace(2.0, radius, 16) ** 2, [np.inf]]), jnp.float32
    )  # r2[k + 1] is the k-th radius; r2[0] = 0 (empty disc), r2[-1] = beyond

    def count(k):  # partners strictly inside radius index k (k in -1..15)
        return jnp.sum(d2 < r2[k + 1][..., None], axis=-1)

    lo = jnp.full((w, a), -1, i32)
    hi = jnp.full((w, a), 16 - 1, i32)
    for _ in range(5):  # largest k with count(k) <= n
        mid = (lo + hi + 1) // 2
        fits = count(mid) <= n
        lo = jnp.where(fits & (lo < hi), mid, lo)
        hi = jnp.where(~fits & (lo < hi), mid - 1, hi)
    inner_r2 = r2[lo + 1][..., None]
    outer_r2 = r2[jnp.minimum(lo + 2, 16)][..., None]
    inner = d2 < inner_r2
    ring = (d2 >= inner_r2) & (d2 < outer_r2)
    n_inner = jnp.sum(inner, -1, keepdims=True)
    sel = inner | (ring & (n_inner + jnp.cumsum(ring, -1) <= n))
    slot = jnp.where(sel, jnp.cumsum(sel, -1) - 1, n)
    wi = jnp.arange(w)[:, None, None]
    ai = jnp.arange(a)[None, :, None]
    j = jnp.broadcast_to(jnp.arange(a, dtype=i32)[None, None, :], (w, a, a))
    out = jnp.full((w, a, n + 1), -1, i32).at[wi, ai, slot].set(j, mode="drop")
    return out[..., :n]
