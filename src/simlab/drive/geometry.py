"""Oriented boxes: corners, separating-axis overlap and the swept-corner collision test (§4).

A box is (x, y, psi, l, w): centre (m), heading (rad), length along the heading and width.
All functions broadcast over leading batch dimensions and compute in float32.
"""

from __future__ import annotations

import jax.numpy as jnp

__all__ = ["box_corners", "boxes_overlap", "segment_hits_box", "swept_collision", "to_frame"]

f32 = jnp.float32
_SIGNS = ((1.0, 1.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0))


def box_corners(x, y, psi, l, w) -> jnp.ndarray:
    """Corners [..., 4, 2] of boxes, counter-clockwise from front-left."""
    c, s = jnp.cos(psi)[..., None], jnp.sin(psi)[..., None]
    sl = jnp.asarray([a for a, _ in _SIGNS], f32) * (0.5 * l)[..., None]
    sw = jnp.asarray([b for _, b in _SIGNS], f32) * (0.5 * w)[..., None]
    cx = x[..., None] + c * sl - s * sw
    cy = y[..., None] + s * sl + c * sw
    return jnp.stack([cx, cy], -1)


def to_frame(px, py, x, y, psi):
    """Points (px, py) expressed in the frame of pose (x, y, psi)."""
    dx, dy = px - x, py - y
    c, s = jnp.cos(psi), jnp.sin(psi)
    return c * dx + s * dy, -s * dx + c * dy


def boxes_overlap(xa, ya, pa, la, wa, xb, yb, pb, lb, wb) -> jnp.ndarray:
    """Separating-axis test: True where closed boxes a and b intersect (broadcasting)."""
    ca, sa, cb, sb = jnp.cos(pa), jnp.sin(pa), jnp.cos(pb), jnp.sin(pb)
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
    at t and corners at t+1 in i's frame at t+1, so the segment is the relative motion."""
    xj0, yj0, pj0 = pose_j0
    xj1, yj1, pj1 = pose_j1
    xi0, yi0, pi0 = pose_i0
    xi1, yi1, pi1 = pose_i1
    lj, wj = size_j
    li, wi = size_i
    c0 = box_corners(xj0, yj0, pj0, lj, wj)
    c1 = box_corners(xj1, yj1, pj1, lj, wj)
    ax, ay = to_frame(c0[..., 0], c0[..., 1], xi0[..., None], yi0[..., None], pi0[..., None])
    bx, by = to_frame(c1[..., 0], c1[..., 1], xi1[..., None], yi1[..., None], pi1[..., None])
    hit = segment_hits_box(ax, ay, bx, by, 0.5 * li[..., None], 0.5 * wi[..., None])
    return hit.any(-1)


def swept_collision(pose_i0, pose_i1, size_i, pose_j0, pose_j1, size_j) -> jnp.ndarray:
    """Swept-box collision between i and j over one step (spec §4), broadcasting.

    pose_*0 / pose_*1 = (x, y, psi) at t and t+1; size_* = (l, w). True when a corner of j
    sweeps through i's box, a corner of i sweeps through j's box (relative motion), or the
    boxes overlap at t+1 (separating-axis test). Exact for relative translation: the first
    contact of two convex polygons is a vertex of one on the boundary of the other.
    """
    a = _corners_sweep_into(pose_j0, pose_j1, size_j, pose_i0, pose_i1, size_i)
    b = _corners_sweep_into(pose_i0, pose_i1, size_i, pose_j0, pose_j1, size_j)
    c = boxes_overlap(*pose_i1, *size_i, *pose_j1, *size_j)
    return a | b | c
