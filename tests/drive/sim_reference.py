"""Verbatim copies of simulator functions before they were rewritten for speed, kept as
oracles: the new versions must return exactly the same values (tests/drive/test_sim_equal.py).

- ``associate``: the argmax over a cell's whole (44-wide) quad list, three gathers per
  candidate (before ``scenario.associate`` scanned a 16-wide prefix plus an overflow pass).
- (``env.collisions`` is checked against an exhaustive all-pairs oracle in the test file
  instead of a copy of its old version: cheaper to compile, and independent of the broad phase.)
- ``sample_points``: the lane heading by ``trig.atan2`` per sampled point (before
  ``scenario.sample_points`` read it from ``bank.q_heading``, computed once per quad).
- ``select_partners``: ring ranks by ``jnp.cumsum`` (before ``partners.select_partners``
  counted them by a triangular matmul); N_RADII = 16 inlined.
"""

import jax.numpy as jnp
import numpy as np

from simlab.drive import rng, trig
from simlab.drive.bank import MapBank, cell_candidates
from simlab.drive.scenario import _u, quad_frame

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
    heading = trig.atan2(seg[..., 1], seg[..., 0])
    return dict(
        quad=q,
        lane=bank.q_lane[q],
        s=bank.q_s0[q] + t * jnp.linalg.norm(seg, axis=-1),
        x=p[..., 0],
        y=p[..., 1],
        z=p[..., 2],
        heading=heading,
    )
