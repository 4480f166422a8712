"""Depth rendering in JAX: point splatting (the inference default) and triangle rasterisation.

**Splatting** (spec §5). Each object contributes its surface points (one per occupied 5 mm
cell); every point is projected and written with ``.at[].min(z)`` to the s×s pixels whose
centres surround it (s = 2 by default: a 5 mm cell spans 1.3–2.2 px at 0.6–1 m at 160×120, and
1×1 footprints leave ~20 % holes). A flat buffer of H·W + 1 slots takes off-image points in its
last slot, so there is no branching. The whole thing is ``vmap``-able over candidate poses.

**Rasterisation.** Each triangle is scanned over a fixed K×K pixel window anchored at its
bounding box, with perspective-correct depth (1/z interpolated in screen space) and a z-buffer
``min`` scatter. K is static: ``raster_window`` picks the smallest power of two that covers
every triangle's bounding box (subdivide large triangles first, see ``objects.subdivide``).
Used for the 640×480 benchmark images and as an exactness reference.

Depth images are float32 metres with 0 = missing; object-id images use −1 for "no object".
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes.camera import Intrinsics, unproject_depth
from simlab.scenes.geometry import transform_points

__all__ = [
    "pack_points",
    "raster_depth",
    "raster_window",
    "scene_zbuffer",
    "splat_depth",
    "splat_depth_ids",
    "splat_scene",
    "to_depth",
]

_FAR = jnp.float32(1e9)


def pack_points(
    point_sets: list[np.ndarray], n_pad: int = 0, p_pad: int = 0
) -> tuple[jax.Array, jax.Array]:
    """Stack per-object point arrays into (N, P, 3) float32 and a (N, P) validity mask.

    P is the largest count rounded up to a multiple of 1024 (at least ``p_pad``) and N is
    max(len(point_sets), n_pad): padding objects have no valid points, so they render nothing.
    Both paddings exist so that scenes with different objects share compiled code."""
    pmax = max(-(-max(len(p) for p in point_sets) // 1024) * 1024, p_pad)
    n = max(len(point_sets), n_pad)
    pts = np.zeros((n, pmax, 3), np.float32)
    mask = np.zeros((n, pmax), bool)
    for i, p in enumerate(point_sets):
        pts[i, : len(p)], mask[i, : len(p)] = p, True
    return jnp.asarray(pts), jnp.asarray(mask)


def _splat_flat(cam: Intrinsics, pts_cam: jax.Array, valid: jax.Array, s: int):
    """Flat pixel indices (P·s², ) and depths of an s×s splat of camera-frame points (P, 3)."""
    z = pts_cam[:, 2]
    ok = valid & (z > cam.near) & (z < cam.far)
    zs = jnp.where(ok, z, 1.0)
    u = cam.fx * pts_cam[:, 0] / zs + cam.cx
    v = cam.fy * pts_cam[:, 1] / zs + cam.cy
    # the s×s block of pixel centres nearest to (u, v): for s = 2, floor(u) and floor(u) + 1
    if s % 2:
        u0 = jnp.round(u).astype(jnp.int32) - (s - 1) // 2
        v0 = jnp.round(v).astype(jnp.int32) - (s - 1) // 2
    else:
        u0 = jnp.floor(u).astype(jnp.int32) - (s // 2 - 1)
        v0 = jnp.floor(v).astype(jnp.int32) - (s // 2 - 1)
    off = jnp.arange(s, dtype=jnp.int32)
    uu = u0[:, None, None] + off[None, None, :]
    vv = v0[:, None, None] + off[None, :, None]
    inside = ok[:, None, None] & (uu >= 0) & (uu < cam.width) & (vv >= 0) & (vv < cam.height)
    flat = jnp.where(inside, vv * cam.width + uu, cam.width * cam.height)
    zz = jnp.broadcast_to(jnp.where(ok, z, _FAR)[:, None, None], flat.shape)
    return flat.reshape(-1), zz.reshape(-1)


@partial(jax.jit, static_argnames=("cam", "s"))
def splat_depth(
    cam: Intrinsics, points: jax.Array, valid: jax.Array, T_co: jax.Array, s: int = 2
) -> jax.Array:
    """Depth (H, W) [m, 0 = missing] of one or more objects.

    points (N, P, 3) in object frames [m]; valid (N, P) bool; T_co (N, 4, 4) object → camera.
    vmap over T_co for batches of candidate poses.
    """
    return to_depth(splat_zbuffer(cam, points, valid, T_co, s))


def splat_zbuffer(cam: Intrinsics, points, valid, T_co, s: int = 2) -> jax.Array:
    """Z-buffer (H, W) with +1e9 for empty pixels (min-compositable across renders)."""
    pc = transform_points(T_co, points).reshape(-1, 3)
    flat, z = _splat_flat(cam, pc, valid.reshape(-1), s)
    buf = jnp.full(cam.width * cam.height + 1, _FAR).at[flat].min(z)
    return buf[:-1].reshape(cam.height, cam.width)


def scene_zbuffer(
    cam: Intrinsics,
    points: jax.Array,
    valid: jax.Array,
    T_wo: jax.Array,
    T_cw: jax.Array,
    crop: tuple[tuple[float, ...], tuple[float, ...]] | None = None,
    s: int = 2,
) -> jax.Array:
    """Z-buffer (H, W) [m, +1e9 empty] of objects at world poses, cropped to a world box.

    points (N, P, 3) object frames; valid (N, P); T_wo (N, 4, 4) object → world;
    T_cw (4, 4) world → camera; crop (lo, hi) world-frame box [m] (points outside are dropped,
    as the likelihoods require), or None.
    """
    world = transform_points(T_wo, points)
    ok = valid
    if crop is not None:
        lo, hi = jnp.asarray(crop[0]), jnp.asarray(crop[1])
        ok = ok & jnp.all((world > lo) & (world < hi), axis=-1)
    pc = transform_points(T_cw, world.reshape(-1, 3))
    flat, z = _splat_flat(cam, pc, ok.reshape(-1), s)
    buf = jnp.full(cam.width * cam.height + 1, _FAR).at[flat].min(z)
    return buf[:-1].reshape(cam.height, cam.width)


def to_depth(zbuf: jax.Array) -> jax.Array:
    """Z-buffer (+1e9 empty) → depth image (0 empty)."""
    return jnp.where(zbuf < 1e8, zbuf, 0.0)


@partial(jax.jit, static_argnames=("cam", "s"))
def splat_depth_ids(cam: Intrinsics, points, valid, T_co, s: int = 2):
    """(depth (H, W) [m], ids (H, W) int32, −1 = none): object index of each visible pixel.

    The ids come from a second scatter of each point's object index where its depth equals
    the buffer (ties go to the larger index).
    """
    n, p = points.shape[:2]
    zbuf = splat_zbuffer(cam, points, valid, T_co, s)
    pc = transform_points(T_co, points).reshape(-1, 3)
    flat, z = _splat_flat(cam, pc, valid.reshape(-1), s)
    obj = jnp.broadcast_to(jnp.arange(n, dtype=jnp.int32)[:, None], (n, p)).reshape(-1)
    obj = jnp.repeat(obj, s * s)
    full = jnp.concatenate([zbuf.reshape(-1), jnp.array([_FAR])])
    hit = (z == full[flat]) & (z < 1e8)
    ids = jnp.full(cam.width * cam.height + 1, -1, jnp.int32).at[flat].max(jnp.where(hit, obj, -1))
    return to_depth(zbuf), ids[:-1].reshape(cam.height, cam.width)


def splat_scene(cam: Intrinsics, points, valid, T_co, s: int = 2):
    """(depth (H, W), xyz (H, W, 3) camera frame, ids (H, W)) of a scene; convenience wrapper."""
    depth, ids = splat_depth_ids(cam, points, valid, T_co, s)
    return depth, unproject_depth(cam, depth), ids


def raster_window(cam: Intrinsics, tris_cam: np.ndarray) -> int:
    """Smallest power-of-two window K covering every triangle's pixel bounding box.

    tris_cam (..., F, 3, 3) camera-frame triangles [m] (triangles behind ``near`` are ignored).
    """
    t = np.asarray(tris_cam, np.float64).reshape(-1, 3, 3)
    t = t[(t[:, :, 2] > cam.near).all(axis=1)]
    if len(t) == 0:
        return 1
    u = cam.fx * t[..., 0] / t[..., 2] + cam.cx
    v = cam.fy * t[..., 1] / t[..., 2] + cam.cy
    u = np.clip(u, -1, cam.width)
    v = np.clip(v, -1, cam.height)
    span = max(
        (np.floor(u.max(1)) - np.ceil(u.min(1))).max(),
        (np.floor(v.max(1)) - np.ceil(v.min(1))).max(),
    )
    return int(2 ** np.ceil(np.log2(max(span + 1, 1))))


@partial(jax.jit, static_argnames=("cam", "K"))
def raster_depth(cam: Intrinsics, tris_cam: jax.Array, K: int) -> tuple[jax.Array, jax.Array]:
    """(depth (H, W) [m, 0 = missing], triangle index (H, W), −1 = none) of triangles.

    tris_cam (F, 3, 3) camera-frame vertices [m]. A pixel is covered when its centre lies inside
    the projected triangle (either winding). Triangles with a vertex nearer than ``near`` are
    skipped; every triangle's bounding box must fit in K×K pixels (``raster_window``).
    """
    z = tris_cam[..., 2]  # (F, 3)
    ok = (z > cam.near).all(axis=1)
    zs = jnp.where(ok[:, None], z, 1.0)
    u = cam.fx * tris_cam[..., 0] / zs + cam.cx
    v = cam.fy * tris_cam[..., 1] / zs + cam.cy
    u0 = jnp.ceil(u.min(axis=1)).astype(jnp.int32)
    v0 = jnp.ceil(v.min(axis=1)).astype(jnp.int32)
    off = jnp.arange(K, dtype=jnp.int32)
    shape = (tris_cam.shape[0], K, K)
    pu = jnp.broadcast_to(u0[:, None, None] + off[None, None, :], shape)  # pixel columns
    pv = jnp.broadcast_to(v0[:, None, None] + off[None, :, None], shape)  # pixel rows
    x = pu.astype(jnp.float32)
    y = pv.astype(jnp.float32)

    def edge(i, j):  # signed area of (vertex i, vertex j, pixel), shape (F, K, K)
        return (u[:, j, None, None] - u[:, i, None, None]) * (y - v[:, i, None, None]) - (
            v[:, j, None, None] - v[:, i, None, None]
        ) * (x - u[:, i, None, None])

    area = (u[:, 1] - u[:, 0]) * (v[:, 2] - v[:, 0]) - (v[:, 1] - v[:, 0]) * (u[:, 2] - u[:, 0])
    sgn = jnp.sign(area)[:, None, None]
    w0, w1, w2 = edge(1, 2) * sgn, edge(2, 0) * sgn, edge(0, 1) * sgn
    a = jnp.abs(area)[:, None, None]
    inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (a > 1e-12)
    # perspective-correct depth: 1/z is affine in screen space
    inv_z = (
        w0 / zs[:, 0, None, None] + w1 / zs[:, 1, None, None] + w2 / zs[:, 2, None, None]
    ) / jnp.where(a > 0, a, 1.0)
    depth = 1.0 / jnp.where(inv_z > 0, inv_z, 1e-9)
    inside = (
        inside & ok[:, None, None] & (pu >= 0) & (pu < cam.width) & (pv >= 0) & (pv < cam.height)
    )
    inside = inside & (depth > cam.near) & (depth < cam.far)
    hw = cam.width * cam.height
    flat = jnp.where(inside, pv * cam.width + pu, hw).reshape(-1)
    zz = jnp.where(inside, depth, _FAR).reshape(-1)
    buf = jnp.full(hw + 1, _FAR).at[flat].min(zz)
    fid = jnp.broadcast_to(jnp.arange(shape[0], dtype=jnp.int32)[:, None, None], shape)
    hit = (zz == buf[flat]) & (zz < 1e8)
    ids = jnp.full(hw + 1, -1, jnp.int32).at[flat].max(jnp.where(hit, fid.reshape(-1), -1))
    return to_depth(buf[:-1]).reshape(cam.height, cam.width), ids[:-1].reshape(
        cam.height, cam.width
    )
