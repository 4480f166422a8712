"""Bottom-up initialisation without neural networks (spec §6.1).

1. The observed points above the table (the workspace crop, z > 1.2 cm) are voxelised at 5 mm
   and clustered: DBSCAN with radius 0.6 cm on this lattice is exactly 6-connected components,
   so ``scipy.ndimage.label`` does it (no scikit-learn at run time); blobs under 20 voxels are
   dropped.
2. Greedy placement, largest unexplained blob first. For every object not yet placed, every
   support plane (the table, and the top of every placed object that rests flat) and every
   child face × 8 initial yaws, run **contact-constrained ICP**: the candidate's rendered
   visible surface is matched to the blob's points (nearest neighbours, 2 cm rejection) and
   the pose is projected onto the zero-slack planar contact by a weighted 2-D Procrustes step
   in (x, y, yaw); ``outer`` renders × ``inner`` steps, all candidates batched in one jit.
3. Candidates are scored with the **exact** likelihood (p_out = 0.001, r = 1 cm) of the placed
   objects plus the candidate, and the best (object, support, face, yaw) is kept. Points within
   1 cm of the new render become explained; the blobs are recomputed from the rest.

Identities are known, as in the paper. The result is a pose per object (n, 4, 4); objects
never matched (no blob left) are put flat on the table at the last blob's centre.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from simlab.scenes.camera import Intrinsics, unproject_depth
from simlab.scenes.geometry import transform_points
from simlab.scenes.icp import _pick, nearest_neighbours
from simlab.scenes.infer import Config, _loglik_xyz
from simlab.scenes.likelihood import Observation, Workspace
from simlab.scenes.render import scene_zbuffer, to_depth

__all__ = [
    "FACE_AXIS",
    "blobs",
    "bottom_up_init",
    "face_down_rotations",
    "icp_target",
    "observed_world",
    "planar_icp",
]


def blobs(points_world: np.ndarray, res: float = 0.005, min_voxels: int = 20) -> list[np.ndarray]:
    """Clusters of world points (P, 3) [m]: 6-connected components of their 5 mm voxels with
    at least ``min_voxels`` cells, largest first; returns index arrays into ``points_world``."""
    if len(points_world) == 0:
        return []
    cells = np.floor(points_world / res).astype(np.int64)
    lo = cells.min(0)
    cells -= lo
    grid = np.zeros(cells.max(0) + 1, bool)
    grid[tuple(cells.T)] = True
    labels, n = ndimage.label(grid)  # default structure: 6-connectivity in 3-D
    lab = labels[tuple(cells.T)]
    sizes = ndimage.sum_labels(grid, labels, index=np.arange(1, n + 1))
    order = np.argsort(-sizes)
    return [np.flatnonzero(lab == k + 1) for k in order if sizes[k] >= min_voxels]


#: Body axis along each face's normal in ``contact`` order (+z, −z, −x, +x, +y, −y): the
#: centre height of an object resting on face k is its half size along FACE_AXIS[k].
FACE_AXIS = (2, 2, 0, 0, 1, 1)


def face_down_rotations() -> np.ndarray:
    """Rotations (6, 3, 3) turning each face k (``contact`` order: +z, −z, −x, +x, +y, −y) to
    point down (−z)."""
    normals = np.array([[0, 0, 1], [0, 0, -1], [-1, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0]], float)
    out = []
    for n in normals:
        target = np.array([0.0, 0.0, -1.0])
        v, c = np.cross(n, target), float(n @ target)
        if np.linalg.norm(v) < 1e-9:
            R = np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
        else:
            K = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
            R = np.eye(3) + K + K @ K / (1 + c)
        out.append(R)
    return np.stack(out)


def _pose(R0, yaw, xy, z):
    c, s = jnp.cos(yaw), jnp.sin(yaw)
    Rz = jnp.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    T = jnp.eye(4).at[:3, :3].set(Rz @ R0).at[:2, 3].set(xy).at[2, 3].set(z)
    return T


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "outer", "inner"))
def planar_icp(
    key,
    cam: Intrinsics,
    ws: Workspace,
    cfg: Config,
    pts_all,
    valid_all,
    T_cw,
    static,
    obs: Observation,
    target,
    target_mask,
    obj,
    R0,
    z,
    yaw0,
    xy0,
    outer: int = 4,
    inner: int = 3,
    reject: float = 0.02,
):
    """Contact-constrained ICP for a batch of B starts of objects ``obj`` (B,) (indices into
    splat points pts_all (N, P, 3), valid_all (N, P)): face-down rotations R0 (B, 3, 3), centre
    heights z (B,) [m], yaws (B,) [rad], centres xy0 (B, 2) [m]; target world points (M, 3)
    with mask (M,); ``static`` (H, W) the z-buffer of already placed objects (occluders).
    Returns (poses (B, 4, 4), exact log likelihoods (B,) of static + candidate)."""
    T_wc = jnp.linalg.inv(T_cw)
    n_src = 200

    def one(o, R0, z, yaw, xy):
        pts, valid = pts_all[o], valid_all[o]

        def render(T):
            return scene_zbuffer(cam, pts[None], valid[None], T[None], T_cw, (ws.lo, ws.hi), cfg.s)

        def outer_step(c, k):
            yaw, xy = c
            T = _pose(R0, yaw, xy, z)
            zo = render(T)
            vis = jnp.where(zo < static, zo, 1e9)
            flat = unproject_depth(cam, to_depth(vis)).reshape(-1, 3)
            si, sm = _pick(k, flat[:, 2] > 0, n_src)
            src_obj = transform_points(jnp.linalg.inv(T), transform_points(T_wc, flat[si]))

            def inner_step(c, _):
                yaw, xy = c
                src = transform_points(_pose(R0, yaw, xy, z), src_obj)
                j, d2 = nearest_neighbours(src, target, target_mask)
                w = (sm & (d2 < reject**2)).astype(jnp.float32)
                a, b = src[:, :2], target[j, :2]
                ws_ = jnp.maximum(w.sum(), 1e-9)
                ca, cb = (w[:, None] * a).sum(0) / ws_, (w[:, None] * b).sum(0) / ws_
                H = ((a - ca) * w[:, None]).T @ (b - cb)
                psi = jnp.arctan2(H[0, 1] - H[1, 0], H[0, 0] + H[1, 1])
                Rp = jnp.array([[jnp.cos(psi), -jnp.sin(psi)], [jnp.sin(psi), jnp.cos(psi)]])
                new_xy = Rp @ (xy - ca) + cb
                ok = w.sum() >= 3
                return (jnp.where(ok, yaw + psi, yaw), jnp.where(ok, new_xy, xy)), None

            return jax.lax.scan(inner_step, (yaw, xy), None, length=inner)[0], None

        (yaw, xy), _ = jax.lax.scan(outer_step, (yaw, xy), jax.random.split(key, outer))
        T = _pose(R0, yaw, xy, z)
        zbuf = jnp.minimum(static, render(T))
        exact = cfg._replace(kind="exact", p_out=0.001)
        ll = _loglik_xyz(ws, exact, obs, unproject_depth(cam, to_depth(zbuf)))
        return T, ll

    return jax.lax.map(lambda a: one(*a), (obj, R0, z, yaw0, xy0))


def observed_world(obs: Observation, T_wc) -> np.ndarray:
    """Every observed pixel's point (N, 3) in the world frame [m], float64 (padding rows
    included: mask them with ``obs.mask``)."""
    T_wc = np.asarray(T_wc, np.float64)
    return np.asarray(obs.pts, np.float64) @ T_wc[:3, :3].T + T_wc[:3, 3]


def icp_target(points: np.ndarray, seed: int, m: int = 512):
    """At most ``m`` of ``points`` (n, 3), a seeded random subset, zero-padded to (m, 3)
    float32 with its validity mask (m,): a fixed-size ICP target, so one compilation."""
    sel = np.random.default_rng(seed).permutation(len(points))[:m]
    tgt = np.zeros((m, 3), np.float32)
    tgt[: len(sel)] = points[sel]
    return tgt, np.arange(m) < len(sel)


def _support_heights(placed: dict, halves) -> list[float]:
    """Heights [m] of the support planes: the table (0) and the top of every placed object
    that rests flat (a body axis within 2.6° of vertical)."""
    out = [0.0]
    for k, T in placed.items():
        if np.max(np.abs(T[2, :3])) > 0.999:
            out.append(float(T[2, 3] + np.abs(T[2, :3]) @ halves[k]))
    return out


def bottom_up_init(
    cam: Intrinsics,
    ws: Workspace,
    obs: Observation,
    objs,
    T_wc: np.ndarray,
    cfg: Config = Config(),
    yaws: int = 8,
    key=None,
) -> np.ndarray:
    """Initial world poses (n, 4, 4) [m] of the known objects ``objs`` from the observation
    alone (see the module docstring)."""
    from simlab.scenes.render import pack_points

    key = jax.random.key(0) if key is None else key
    pts_all, valid_all = pack_points([o.surface_points for o in objs])
    T_cw = jnp.asarray(np.linalg.inv(T_wc), jnp.float32)
    world = observed_world(obs, T_wc)[np.asarray(obs.mask)]
    explained = np.zeros(len(world), bool)
    R_face = face_down_rotations()
    n = len(objs)
    placed: dict[int, np.ndarray] = {}
    halves = [np.asarray(o.half_extents) for o in objs]
    static = jnp.full((cam.height, cam.width), 1e9, jnp.float32)
    last_centre = np.zeros(2)
    while len(placed) < n:
        groups = blobs(world[~explained])
        if not groups:
            break
        idx = np.flatnonzero(~explained)[groups[0]]
        blob = world[idx]
        last_centre = blob[:, :2].mean(0)
        tgt, tmask = icp_target(blob, seed=len(placed))
        supports = _support_heights(placed, halves)
        cand = [
            (i, R_face[f], z_sup + halves[i][FACE_AXIS[f]], 2 * math.pi * y / yaws)
            for i in range(n)
            if i not in placed
            for z_sup in supports
            for f in range(6)
            for y in range(yaws)
        ]
        m = len(cand)
        pad = -(-m // 96) * 96  # a few batch sizes only, so few compilations
        cand += [cand[-1]] * (pad - m)
        key, sub = jax.random.split(key)
        poses, ll = planar_icp(
            sub,
            cam,
            ws,
            cfg,
            pts_all,
            valid_all,
            T_cw,
            static,
            obs,
            jnp.asarray(tgt),
            jnp.asarray(tmask),
            jnp.asarray([c[0] for c in cand]),
            jnp.asarray(np.stack([c[1] for c in cand]), jnp.float32),
            jnp.asarray([c[2] for c in cand], jnp.float32),
            jnp.asarray([c[3] for c in cand], jnp.float32),
            jnp.asarray(np.tile(last_centre, (pad, 1)), jnp.float32),
        )
        ll = np.asarray(ll)[:m]
        k = int(np.argmax(ll))
        best = (ll[k], cand[k][0] if np.isfinite(ll[k]) else None, np.asarray(poses[k], np.float64))
        _, i, T = best
        if i is None:
            break
        placed[i] = T
        Ti = jnp.asarray(T, jnp.float32)[None]
        zi = scene_zbuffer(
            cam, pts_all[i][None], valid_all[i][None], Ti, T_cw, (ws.lo, ws.hi), cfg.s
        )
        static = jnp.minimum(static, zi)
        # points within 1 cm of the placed objects' surfaces are explained
        surf = np.concatenate(
            [objs[k].surface_points @ P[:3, :3].T + P[:3, 3] for k, P in placed.items()]
        )
        d, _ = cKDTree(surf).query(world, k=1)
        explained = d < 0.01
    out = np.zeros((n, 4, 4))
    for i in range(n):
        if i in placed:
            out[i] = placed[i]
        else:
            T = np.eye(4)
            T[:2, 3] = last_centre
            T[2, 3] = halves[i][2]
            out[i] = T
    return out
