"""Oriented boxes: corners, separating-axis overlap and the swept-corner collision test (§4).

A box is (x, y, psi, l, w): centre (m), heading (rad), length along the heading and width.
All functions broadcast over leading batch dimensions and compute in float32.
"""

from __future__ import annotations

import jax.numpy as jnp

from simlab.drive import trig

__all__ = [
    "box_corners",
    "boxes_overlap",
    "segment_hits_box",
    "swept_collision",
    "swept_collision_cs",
    "swept_reach",
    "to_frame",
]

f32 = jnp.float32
_SIGNS = ((1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0))


def box_corners(x, y, psi, l, w) -> jnp.ndarray:
    """Corners [..., 4, 2] of boxes, counter-clockwise from front-left."""
    s, c = trig.sincos(psi)
    c, s = c[..., None], s[..., None]
    sl = jnp.asarray([a for a, _ in _SIGNS], f32) * (0.5 * l)[..., None]
    sw = jnp.asarray([b for _, b in _SIGNS], f32) * (0.5 * w)[..., None]
    cx = x[..., None] + c * sl - s * sw
    cy = y[..., None] + s * sl + c * sw
    return jnp.stack([cx, cy], -1)


def to_frame(px, py, x, y, psi):
    """Points (px, py) expressed in the frame of pose (x, y, psi)."""
    dx, dy = px - x, py - y
    s, c = trig.sincos(psi)
    return c * dx + s * dy, -s * dx + c * dy


def boxes_overlap(xa, ya, pa, la, wa, xb, yb, pb, lb, wb) -> jnp.ndarray:
    """Separating-axis test: True where closed boxes a and b intersect (broadcasting)."""
    (sa, ca), (sb, cb) = trig.sincos(pa), trig.sincos(pb)
    dx, dy = xb - xa, yb - ya
    ha_l, ha_w, hb_l, hb_w = 0.5 * la, 0.5 * wa, 0.5 * lb, 0.5 * wb
    sep = jnp.zeros(jnp.broadcast_shapes(jnp.shape(dx), jnp.shape(pb), jnp.shape(pa)), bool)
    for ux, uy in ((ca, sa), (-sa, ca), (cb, sb), (-sb, cb)):
        ra = ha_l * jnp.abs(ca * ux + sa * uy) + ha_w * jnp.abs(-sa * ux + ca * uy)
        rb = hb_l * jnp.abs(cb * ux + sb * uy) + hb_w * jnp.abs(-sb * ux + cb * uy)
        sep = sep | (jnp.abs(dx * ux + dy * uy) > ra + rb)
    return ~sep


def segment_hits_box(x0, y0, x1, y1, hl, hw) -> jnp.ndarray:
    """True where the segment (x0, y0) -> (x1, y1) meets the axis-aligned box [±hl] × [±hw]
    (Liang–Barsky slab clipping; endpoints inside count)."""
    dx, dy = x1 - x0, y1 - y0
    t0 = jnp.zeros_like(dx)
    t1 = jnp.ones_like(dx)
    for p, d, h in ((x0, dx, hl), (y0, dy, hw)):
        par = jnp.abs(d) < 1e-9
        safe = jnp.where(par, 1.0, d)
        ta, tb = (-h - p) / safe, (h - p) / safe
        lo, hi = jnp.minimum(ta, tb), jnp.maximum(ta, tb)
        outside = par & (jnp.abs(p) > h)
        t0 = jnp.where(par, t0, jnp.maximum(t0, lo))
        t1 = jnp.where(par, t1, jnp.minimum(t1, hi))
        t1 = jnp.where(outside, -1.0, t1)
    return t0 <= t1


def _corners_sweep_into(pose_j0, pose_j1, size_j, pose_i0, pose_i1, size_i) -> jnp.ndarray:
    """Do j's corners, moving relative to i, cross i's box? Corners at t are taken in i's frame
    at t and corners at t+1 in i's frame at t+1, so the segment is the relative motion.

    Poses here are (x, y, cos ψ, sin ψ). Flat elementwise arithmetic over the four corners
    (no [..., 4, 2] stacks and no trigonometry), so XLA fuses the whole test: in i's frame a
    corner of j is R(-ψ_i)(c_j - c_i) + R(ψ_j - ψ_i)(±l_j/2, ±w_j/2)."""

    def frame(pose_j, pose_i):
        (xj, yj, cj, sj), (xi, yi, ci, si) = pose_j, pose_i
        dx, dy = xj - xi, yj - yi
        cr, sr = cj * ci + sj * si, sj * ci - cj * si  # cos, sin of ψ_j - ψ_i
        return ci * dx + si * dy, -si * dx + ci * dy, cr, sr

    ox0, oy0, cr0, sr0 = frame(pose_j0, pose_i0)
    ox1, oy1, cr1, sr1 = frame(pose_j1, pose_i1)
    hl_j, hw_j = 0.5 * size_j[0], 0.5 * size_j[1]
    hl_i, hw_i = 0.5 * size_i[0], 0.5 * size_i[1]
    hit = None
    for sl, sw in _SIGNS:
        u, v = sl * hl_j, sw * hw_j
        ax, ay = ox0 + cr0 * u - sr0 * v, oy0 + sr0 * u + cr0 * v
        bx, by = ox1 + cr1 * u - sr1 * v, oy1 + sr1 * u + cr1 * v
        h = segment_hits_box(ax, ay, bx, by, hl_i, hw_i)
        hit = h if hit is None else hit | h
    return hit


def _overlap_cs(pose_a, size_a, pose_b, size_b) -> jnp.ndarray:
    """``boxes_overlap`` for poses (x, y, cos ψ, sin ψ)."""
    (xa, ya, ca, sa), (xb, yb, cb, sb) = pose_a, pose_b
    dx, dy = xb - xa, yb - ya
    ha_l, ha_w, hb_l, hb_w = 0.5 * size_a[0], 0.5 * size_a[1], 0.5 * size_b[0], 0.5 * size_b[1]
    sep = None
    for ux, uy in ((ca, sa), (-sa, ca), (cb, sb), (-sb, cb)):
        ra = ha_l * jnp.abs(ca * ux + sa * uy) + ha_w * jnp.abs(-sa * ux + ca * uy)
        rb = hb_l * jnp.abs(cb * ux + sb * uy) + hb_w * jnp.abs(-sb * ux + cb * uy)
        s = jnp.abs(dx * ux + dy * uy) > ra + rb
        sep = s if sep is None else sep | s
    return ~sep


def swept_collision_cs(pose_i0, pose_i1, size_i, pose_j0, pose_j1, size_j) -> jnp.ndarray:
    """``swept_collision`` with poses given as (x, y, cos ψ, sin ψ): the hot-path form, where
    cos and sin are computed once per agent instead of once per pair and corner."""
    a = _corners_sweep_into(pose_j0, pose_j1, size_j, pose_i0, pose_i1, size_i)
    b = _corners_sweep_into(pose_i0, pose_i1, size_i, pose_j0, pose_j1, size_j)
    return a | b | _overlap_cs(pose_i1, size_i, pose_j1, size_j)


def swept_collision(pose_i0, pose_i1, size_i, pose_j0, pose_j1, size_j) -> jnp.ndarray:
    """Swept-box collision between i and j over one step (spec §4), broadcasting.

    pose_*0 / pose_*1 = (x, y, psi) at t and t+1; size_* = (l, w). True when a corner of j
    sweeps through i's box, a corner of i sweeps through j's box (relative motion), or the
    boxes overlap at t+1 (separating-axis test). Exact for relative translation: the first
    contact of two convex polygons is a vertex of one on the boundary of the other.
    """
    cs = lambda p: (p[0], p[1], *trig.sincos(p[2])[::-1])  # noqa: E731
    return swept_collision_cs(cs(pose_i0), cs(pose_i1), size_i, cs(pose_j0), cs(pose_j1), size_j)


def swept_reach(pose_i0, pose_i1, r_i, pose_j0, pose_j1, r_j) -> jnp.ndarray:
    """Conservative broad phase for ``swept_collision``: False only where i and j cannot meet.

    r_*: bounding radii (half-diagonals, m). Derivation: a swept corner segment a -> b (j's
    corner in i's frames at t and t+1) reaches i's box (inside the disc of radius r_i) only if
    max(|a|, |b|) - |b - a| <= r_i, with |a| >= d0 - r_j, |b| >= d1 - r_j (centre distances
    d0, d1) and |b - a| <= |Δc_j - Δc_i| + r_j|Δψ_j| + (d0 + r_j)|Δψ_i| (a rotation by δ moves
    a point at distance ρ by at most ρ|δ|); likewise with i and j swapped; the overlap at
    t+1 needs d1 <= r_i + r_j. The small slack absorbs float32 rounding."""
    (xi0, yi0, pi0), (xi1, yi1, pi1) = pose_i0, pose_i1
    (xj0, yj0, pj0), (xj1, yj1, pj1) = pose_j0, pose_j1
    d0 = jnp.hypot(xj0 - xi0, yj0 - yi0)
    d1 = jnp.hypot(xj1 - xi1, yj1 - yi1)
    rel = jnp.hypot((xj1 - xj0) - (xi1 - xi0), (yj1 - yj0) - (yi1 - yi0))
    turn_i = jnp.abs(trig.wrap(pi1 - pi0))
    turn_j = jnp.abs(trig.wrap(pj1 - pj0))
    b_ij = r_j * turn_j + (d0 + r_j) * turn_i
    b_ji = r_i * turn_i + (d0 + r_i) * turn_j
    slack = 1e-3 * (1.0 + d0 + d1)
    return jnp.maximum(d0, d1) <= r_i + r_j + rel + jnp.maximum(b_ij, b_ji) + slack
