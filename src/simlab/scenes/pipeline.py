"""Inference programs (spec §6.7) and the ICP baselines, from initial world poses.

* ``run_3dp3_star``: 3DP3* (no scene graph): pose MH sweeps (drifts + flips) with ICP-mixture
  moves, every object floating (``infer.run_floating``).
* ``run_3dp3``: 3DP3*, then structure inference (full-structure moves for n ≤ 5, toggles to the
  table and to any parent), contact refinement under the graph (``refine.graph_mh_sweeps``),
  and the structure moves again on the refined poses.
* ``run_icp``: ICP per object (rendered visible surface onto the points the other objects do
  not explain), single start or multi-start over the 24 cube rotations with the best start
  chosen by the exact likelihood. (Open3D is not installed here: this is our JAX
  point-to-point ICP, 5 × 10 iterations, 2 cm rejection.)

Poses are float32 world poses (n, 4, 4) [m]; graphs as in ``simlab.scenes.graph``.
"""

from __future__ import annotations

import itertools
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes.camera import unproject_depth
from simlab.scenes.geometry import matrix_to_quat, pose_from_tq, pose_to_tq, quat_multiply
from simlab.scenes.graph import GraphPrior, enumerate_forests
from simlab.scenes.infer import (
    Config,
    Scene,
    _others_zbuffer,
    _score_with_static,
    object_zbuffer,
    pad_poses,
    run_floating,
)
from simlab.scenes.likelihood import Observation, Workspace
from simlab.scenes.refine import graph_mh_sweeps
from simlab.scenes.render import to_depth
from simlab.scenes.structure import structure_kernel, toggle_kernel

__all__ = [
    "CUBE_ROTATIONS",
    "Result",
    "run_3dp3",
    "run_3dp3_star",
    "run_icp",
    "run_structure",
    "snap_cylinder_rolls",
]


class Result(NamedTuple):
    """Poses (n, 4, 4) [m, world], graph parents (n,) and faces (n, 2) (all floating for
    methods without a graph)."""

    poses: np.ndarray
    parents: np.ndarray
    faces: np.ndarray


def _cube_rotations() -> np.ndarray:
    """The 24 rotations of the cube as quaternions (24, 4) (signed permutation matrices with
    determinant +1)."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((-1, 1), repeat=3):
            R = np.zeros((3, 3))
            R[np.arange(3), perm] = signs
            if np.linalg.det(R) > 0:
                out.append(np.asarray(matrix_to_quat(jnp.asarray(R, jnp.float32))))
    return np.stack(out)


CUBE_ROTATIONS = _cube_rotations()


def _floating(n):
    return np.full(n, -1, np.int32), np.zeros((n, 2), np.int32)


def run_3dp3_star(key, cam, ws, cfg, scene, obs, T0, sweeps=50, icp_every=10, icp_steps=3):
    """3DP3*: every object floating. T0 (n, 4, 4) for the scene's n real objects (the scene
    may be padded, see ``infer.make_scene``). Returns a ``Result``."""
    n = len(T0)
    t0, q0 = pad_poses(scene, *pose_to_tq(jnp.asarray(T0, jnp.float32)), cfg.bounds)
    t, q, _ = run_floating(key, cam, ws, cfg, scene, obs, t0, q0, sweeps, icp_every, icp_steps)
    return Result(np.asarray(pose_from_tq(t, q), np.float64)[:n], *_floating(n))


def snap_cylinder_rolls(T, cylinder) -> np.ndarray:
    """Roll each cylinder about its body z axis so that a side face of its box faces straight
    down as nearly as its axis allows. T (n, 4, 4) world poses [m]; cylinder (n,) bool.

    Why: contacts are between box faces, and a can lying on its curved side has a roll that
    neither the depth image nor the floating prior can see (both are invariant under it), so
    3DP3* leaves it anywhere; its box side face is then up to 45° from flush and the contact
    prior (vMF, κ = 300) prefers floating. The roll orbit is a symmetry of the target, so
    choosing its representative with a flush side face changes neither the likelihood nor
    the ADD-S error (up to the 64-segment mesh), and makes the contact expressible.
    Upright cans (axis vertical) are left as they are. Returns float64 (n, 4, 4).
    """
    T = np.array(T, np.float64)
    for i in np.flatnonzero(np.asarray(cylinder)):
        d = T[i, :3, :3].T @ np.array([0.0, 0.0, -1.0])  # world down in the body frame
        if np.hypot(d[0], d[1]) < 1e-3:
            continue
        phi = np.arctan2(d[1], d[0])
        # new body frame R·Rz(φ): world down then has body xy along +x, so the +x side
        # face's outward normal is as close to down as the axis's tilt allows
        c, s = np.cos(phi), np.sin(phi)
        T[i, :3, :3] = T[i, :3, :3] @ np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    return T


def run_structure(key, T, half, prior: GraphPrior, parents=None, faces=None, iters=10):
    """Structure inference at fixed poses (prior-only, nothing rendered): full-structure moves
    (n ≤ 5), then ``iters`` sweeps of toggles to the table and to any parent per object.
    Returns (parents (n,), faces (n, 2)) as NumPy arrays."""
    n = T.shape[0]
    if parents is None:
        parents, faces = _floating(n)
    parents, faces = jnp.asarray(parents, jnp.int32), jnp.asarray(faces, jnp.int32)
    T, half = jnp.asarray(T, jnp.float32), jnp.asarray(half, jnp.float32)
    keys = jax.random.split(key, 3)
    if n <= 5:
        forests = jnp.asarray(enumerate_forests(n))
        for k in jax.random.split(keys[0], 3):
            parents, faces, _ = structure_kernel(k, forests, parents, faces, T, half, prior)
    for table_only, kk in ((True, keys[1]), (False, keys[2])):
        parents, faces = _toggle_sweeps(
            kk, parents, faces, T, half, prior, jnp.bool_(table_only), iters
        )
    return np.asarray(parents), np.asarray(faces)


@partial(jax.jit, static_argnames=("prior", "iters"))
def _toggle_sweeps(key, parents, faces, T, half, prior, table_only, iters):
    n = T.shape[0]

    def step(c, ki):
        k, i = ki
        p, f = c
        p, f, _, _ = toggle_kernel(k, p, f, T, half, i, prior, table_only)
        return (p, f), None

    idx = jnp.tile(jnp.arange(n), iters)
    (parents, faces), _ = jax.lax.scan(
        step, (parents, faces), (jax.random.split(key, idx.shape[0]), idx)
    )
    return parents, faces


def run_3dp3(
    key,
    cam,
    ws: Workspace,
    cfg: Config,
    scene: Scene,
    obs: Observation,
    T0,
    half,
    prior: GraphPrior = GraphPrior(),
    sweeps: int = 50,
    icp_every: int = 10,
    icp_steps: int = 3,
    refine_sweeps: int = 20,
    start: Result | None = None,
    cylinder=None,
):
    """3DP3: 3DP3* (or the given ``start``), structure inference, contact refinement, and the
    structure moves again. half (n, 3): the objects' box half sizes [m]; cylinder (n,) bool:
    the objects symmetric about body z, whose roll is snapped first (``snap_cylinder_rolls``).
    Returns a ``Result``."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    if start is None:
        start = run_3dp3_star(k1, cam, ws, cfg, scene, obs, T0, sweeps, icp_every, icp_steps)
    else:  # callers pass the key ``start`` was run with; split(key, n)[i] does not depend on n
        k2, k3, k4 = jax.random.split(jax.random.fold_in(key, 1), 3)
    T0_graph = start.poses
    if cylinder is not None:
        T0_graph = snap_cylinder_rolls(T0_graph, cylinder)
    T = jnp.asarray(T0_graph, jnp.float32)
    half = jnp.asarray(half, jnp.float32)
    n = T.shape[0]
    parents, faces = run_structure(k2, T, half, prior)
    if refine_sweeps > 0:
        # pad to the scene's N objects (floating, at the box centre) for one compilation
        N = scene.points.shape[0]
        Tp = pose_from_tq(*pad_poses(scene, *pose_to_tq(T), prior.bounds))
        pad = N - n
        Tp, _, _ = graph_mh_sweeps(
            k3,
            cam,
            ws,
            cfg,
            prior,
            scene,
            obs,
            jnp.concatenate([jnp.asarray(parents), jnp.full(pad, -1, jnp.int32)]),
            jnp.concatenate([jnp.asarray(faces), jnp.zeros((pad, 2), jnp.int32)]),
            Tp,
            jnp.concatenate([half, jnp.full((pad, 3), 0.01, jnp.float32)]),
            refine_sweeps,
        )
        T = Tp[:n]
        parents, faces = run_structure(k4, T, half, prior, parents, faces)
    return Result(np.asarray(T, np.float64), parents, faces)


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "score_cfg", "multi"))
def _icp_object(key, cam, ws, cfg, score_cfg, scene, obs, t, q, i, multi: bool):
    from simlab.scenes.icp import icp_pose, unexplained_points

    static = _others_zbuffer(cam, ws, cfg, scene, i, t, q)
    mask = unexplained_points(obs, unproject_depth(cam, to_depth(static)))

    def render_i(ti, qi):
        z = object_zbuffer(cam, ws, cfg, scene, i, ti, qi)
        return jnp.where(z < static, z, 1e9)

    def icp(qs):
        return icp_pose(key, cam, render_i, obs, mask, t[i], qs)

    if not multi:
        ti, qi = icp(q[i])
        return t.at[i].set(ti), q.at[i].set(qi)
    starts = quat_multiply(q[i][None], jnp.asarray(CUBE_ROTATIONS))
    ts, qs = jax.lax.map(icp, starts)
    score = jax.lax.map(
        lambda ab: _score_with_static(cam, ws, score_cfg, scene, obs, static, i, ab[0], ab[1]),
        (ts, qs),
    )
    best = jnp.argmax(score)
    return t.at[i].set(ts[best]), q.at[i].set(qs[best])


def run_icp(key, cam, ws, cfg, scene, obs, T0, multi_start: bool = False, rounds: int = 1):
    """ICP baseline: each object in turn, the others held at their current estimates; multi-
    start tries the 24 cube rotations of the current estimate and keeps the best by the exact
    likelihood (p_out = 0.001). Returns a ``Result``."""
    n = len(T0)
    t, q = pad_poses(scene, *pose_to_tq(jnp.asarray(T0, jnp.float32)), cfg.bounds)
    score_cfg = cfg._replace(kind="exact", p_out=0.001)
    for r in range(rounds):
        for i, k in enumerate(jax.random.split(jax.random.fold_in(key, r), n)):
            t, q = _icp_object(
                k, cam, ws, cfg, score_cfg, scene, obs, t, q, jnp.int32(i), multi_start
            )
    return Result(np.asarray(pose_from_tq(t, q), np.float64)[:n], *_floating(n))
