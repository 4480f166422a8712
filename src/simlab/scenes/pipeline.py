"""Inference programs (spec §6.7) and the ICP baselines, from initial world poses.

* ``run_3dp3_star``: 3DP3* (no scene graph): pose MH sweeps (drifts + flips) with ICP-mixture
  moves, every object floating (``infer.run_floating``); by default two chains, from the
  initial poses and from an ICP start (``icp_start``), merged by the log target.
* ``run_3dp3``: 3DP3*, then structure inference (full-structure moves for n ≤ 5, toggles to the
  table and to any parent), contact refinement under the graph (``refine.graph_mh_sweeps``),
  the structure moves again on the refined poses, and table restarts (``table_restarts``:
  an object still floating is tried flush on the table, from its own pose and from a
  table-constrained ICP fit, and kept there when the structure score rises).
* ``run_icp``: ICP per object (rendered visible surface onto the points the other objects do
  not explain), single start or multi-start over the 24 cube rotations with the best start
  chosen by the exact likelihood: our JAX point-to-point ICP, 5 × 10 iterations, 2 cm
  rejection. The benchmark's spec baseline (Open3D point-to-plane) is ``o3d_icp``.

Poses are float32 world poses (n, 4, 4) [m]; graphs as in ``simlab.scenes.graph``.
"""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes.camera import unproject_depth
from simlab.scenes.contact import closest_contact, contact_pose
from simlab.scenes.geometry import matrix_to_quat, pose_from_tq, pose_to_tq, quat_multiply
from simlab.scenes.graph import TABLE_HALF, GraphPrior, padded_forests, table_pose
from simlab.scenes.infer import (
    Config,
    Scene,
    _others_zbuffer,
    _score_with_static,
    active_objects,
    log_likelihood,
    object_zbuffer,
    pad_poses,
    run_floating,
)
from simlab.scenes.likelihood import Observation, Workspace
from simlab.scenes.refine import _carry, graph_log_target, graph_mh_sweeps
from simlab.scenes.render import to_depth
from simlab.scenes.structure import LOG8, structure_kernel, toggle_kernel

__all__ = [
    "CUBE_ROTATIONS",
    "Result",
    "flush_on_table",
    "icp_start",
    "merge_by_target",
    "run_3dp3",
    "run_3dp3_star",
    "run_icp",
    "run_structure",
    "snap_cylinder_rolls",
    "structure_score",
    "table_icp_pose",
    "table_restarts",
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


def icp_start(key, cam, ws, cfg, scene, obs, t, q):
    """Data-driven start of the chain: ICP (``run_icp``'s kernel, one pass over the objects)
    from (t (N, 3), q (N, 4)), then, object by object, the ICP pose replaces the start when it
    raises the chain's log target (``cfg``'s likelihood with the others at their current
    choice). Returns (t, q, accepted (N,) bool).

    Why: the ICP-mixture move (spec §6.3) cannot make large jumps. Its reverse density is
    GVMF(T; T', 1 mm, κ 5000) (icp(T') lands near T', not back at T), so a jump of d costs
    about d²/(2σ²) nats: 95 nats for the 14 mm by which 3DP3* stayed stuck on a half-hidden
    can (stacking seed 2003, 110 nats below ICP's pose). Starting from ICP's basin and
    keeping the mixture moves for local polish removes those stuck objects."""
    n = scene.points.shape[0]
    real = np.flatnonzero(np.asarray(active_objects(scene)))
    keys = jax.random.split(key, n)
    t_icp, q_icp = t, q
    score_cfg = cfg._replace(kind="exact", p_out=0.001)  # as run_icp: one compilation
    for i in real:
        t_icp, q_icp = _icp_object(
            keys[i], cam, ws, cfg, score_cfg, scene, obs, t_icp, q_icp, jnp.int32(i), False
        )
    cur = log_likelihood(cam, ws, cfg, scene, obs, t, q)
    ok = np.zeros(n, bool)
    for i in real:
        t2, q2 = t.at[i].set(t_icp[i]), q.at[i].set(q_icp[i])
        new = log_likelihood(cam, ws, cfg, scene, obs, t2, q2)
        if bool(new > cur):
            t, q, cur, ok[i] = t2, q2, new, True
    return t, q, ok


def merge_by_target(cam, ws, cfg, scene, obs, a, b):
    """Combine two estimates a = (t, q) and b (each (N, 3), (N, 4)): start from the one with
    the higher log target, then, object by object, take the other's pose when that raises the
    target (``cfg``'s likelihood of the whole scene). Returns (t, q)."""
    la = log_likelihood(cam, ws, cfg, scene, obs, *a)
    lb = log_likelihood(cam, ws, cfg, scene, obs, *b)
    (t, q), (t2, q2), cur = (a, b, la) if bool(la >= lb) else (b, a, lb)
    for i in np.flatnonzero(np.asarray(active_objects(scene))):
        tc, qc = t.at[i].set(t2[i]), q.at[i].set(q2[i])
        new = log_likelihood(cam, ws, cfg, scene, obs, tc, qc)
        if bool(new > cur):
            t, q, cur = tc, qc, new
    return t, q


def run_3dp3_star(
    key,
    cam,
    ws,
    cfg,
    scene,
    obs,
    T0,
    sweeps=50,
    icp_every=10,
    icp_steps=3,
    icp_init=True,
    history: list | None = None,
    callback=None,
):
    """3DP3*: every object floating. T0 (n, 4, 4) for the scene's n real objects (the scene
    may be padded, see ``infer.make_scene``). Returns a ``Result``; ``history``, if given, is
    extended by the log target after each sweep of the chain from T0, and
    ``callback(done_sweeps, total)`` is called by that chain after each block (progress).

    ``icp_init``: run two chains of ``sweeps`` sweeps, one from T0 and one from the ICP
    start (``icp_start``), and return their ``merge_by_target``. Why: each start has its own
    stuck objects that the chain's moves cannot leave (see ``icp_start``). On tuning scenes
    ICP's pose was the better basin for a half-hidden can (stacking seed 2003: 13.8 → 2 mm)
    and a worse one for a soup can ICP pulled 14 mm away (standard seed 2001), so neither
    start alone is safe; the target tells the two apart (the estimate with the higher
    posterior wins)."""
    n = len(T0)
    t0, q0 = pad_poses(scene, *pose_to_tq(jnp.asarray(T0, jnp.float32)), cfg.bounds)
    chain = partial(run_floating, cam=cam, ws=ws, cfg=cfg, scene=scene, obs=obs, sweeps=sweeps)
    chain = partial(chain, icp_every=icp_every, icp_steps=icp_steps)
    if not icp_init:
        t, q, hist = chain(key, t=t0, q=q0, callback=callback)
    else:
        k0, ka, kb = jax.random.split(key, 3)

        def from_icp():
            t1, q1, _ = icp_start(k0, cam, ws, cfg, scene, obs, t0, q0)
            return chain(kb, t=t1, q=q1)

        # The chains are independent: run them on two threads (XLA releases the GIL), which
        # on a 2-core CPU halves their wall time; each result depends only on its key.
        with ThreadPoolExecutor(2) as pool:
            fa = pool.submit(chain, ka, t=t0, q=q0, callback=callback)
            fb = pool.submit(from_icp)
            a, b = fa.result(), fb.result()
        t, q = merge_by_target(cam, ws, cfg, scene, obs, a[:2], b[:2])
        hist = a[2]
    if history is not None:
        history.extend(hist)
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


def run_structure(
    key, T, half, prior: GraphPrior, parents=None, faces=None, iters=10, n_active=None
):
    """Structure inference at fixed poses (prior-only, nothing rendered): full-structure moves
    (n ≤ 5), then ``iters`` sweeps of toggles to the table and to any parent per object.

    T (N, 4, 4), half (N, 3). ``n_active``: only the first n_active objects are real; the
    rest are padding (floating inside the prior's box B, never toggled, never a parent), so
    that scenes of every object count share one compilation of the structure kernels (default
    N: no padding). Returns (parents (N,), faces (N, 2)) as NumPy arrays."""
    N = T.shape[0]
    n = N if n_active is None else int(n_active)
    if parents is None:
        parents, faces = _floating(N)
    parents, faces = jnp.asarray(parents, jnp.int32), jnp.asarray(faces, jnp.int32)
    T, half = jnp.asarray(T, jnp.float32), jnp.asarray(half, jnp.float32)
    active = jnp.arange(N) < n
    keys = jax.random.split(key, 3)
    if N <= 5:
        forests, valid = map(jnp.asarray, padded_forests(n, N))
        for k in jax.random.split(keys[0], 3):
            parents, faces, _ = structure_kernel(k, forests, parents, faces, T, half, prior, valid)
    for table_only, kk in ((True, keys[1]), (False, keys[2])):
        parents, faces = _toggle_sweeps(
            kk, parents, faces, T, half, prior, jnp.bool_(table_only), iters, active
        )
    return np.asarray(parents), np.asarray(faces)


@partial(jax.jit, static_argnames=("prior", "iters"))
def _toggle_sweeps(key, parents, faces, T, half, prior, table_only, iters, active):
    n = T.shape[0]

    def step(c, ki):
        k, i = ki
        p, f = c
        p2, f2, _, _ = toggle_kernel(k, p, f, T, half, i, prior, table_only, active=active)
        # padding objects stay floating (they are never proposed as parents either)
        return (jnp.where(active[i], p2, p), jnp.where(active[i], f2, f)), None

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
    restart_sweeps: int = 10,
):
    """3DP3: 3DP3* (or the given ``start``), structure inference, contact refinement, and the
    structure moves again. half (n, 3): the objects' box half sizes [m]; cylinder (n,) bool:
    the objects symmetric about body z, whose roll is snapped first (``snap_cylinder_rolls``).
    ``restart_sweeps`` > 0: then ``table_restarts`` for the objects left floating.
    Returns a ``Result``."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    if start is None:
        start = run_3dp3_star(k1, cam, ws, cfg, scene, obs, T0, sweeps, icp_every, icp_steps)
    else:  # callers pass the key ``start`` was run with; split(key, n)[i] does not depend on n
        k2, k3, k4 = jax.random.split(jax.random.fold_in(key, 1), 3)
    T0_graph = start.poses
    if cylinder is not None:
        T0_graph = snap_cylinder_rolls(T0_graph, cylinder)
    n = len(T0_graph)
    # pad to the scene's N objects (floating, at the box centre) so that every stage compiles
    # once for all object counts
    N = scene.points.shape[0]
    T = pose_from_tq(
        *pad_poses(scene, *pose_to_tq(jnp.asarray(T0_graph, jnp.float32)), prior.bounds)
    )
    half = jnp.concatenate(
        [jnp.asarray(half, jnp.float32), jnp.full((N - n, 3), 0.01, jnp.float32)]
    )
    parents, faces = run_structure(k2, T, half, prior, n_active=n)
    if refine_sweeps > 0:
        T, _, _ = graph_mh_sweeps(
            k3,
            cam,
            ws,
            cfg,
            prior,
            scene,
            obs,
            jnp.asarray(parents),
            jnp.asarray(faces),
            T,
            half,
            refine_sweeps,
        )
        parents, faces = run_structure(k4, T, half, prior, parents, faces, n_active=n)
    if restart_sweeps > 0:
        k5 = jax.random.fold_in(key, 5)
        parents, faces, T = table_restarts(
            k5, cam, ws, cfg, prior, scene, obs, parents, faces, T, half, n, restart_sweeps
        )
    return Result(np.asarray(T[:n], np.float64), parents[:n], faces[:n])


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "prior"))
def structure_score(cam, ws, cfg, prior, scene, obs, parents, faces, T, half) -> jax.Array:
    """log p(graph, T) + log p(obs | T) + log 8 per contact edge: the target of a scene
    graph state on the all-floating reference measure (the toggle's Jacobian, see
    ``structure``), so that states with different graphs can be compared."""
    target = graph_log_target(cam, ws, cfg, prior, scene, obs, parents, faces, T, half)
    return target + LOG8 * jnp.sum(parents >= 0)


def flush_on_table(T_i, half_i):
    """(face_p, face_c, pose (4, 4)): object i put flush on the table through its closest
    table face pair, i.e. the closest approximating contact with zero slack (s = 0, d = −e_z),
    keeping its in-plane offset and angle."""
    table = table_pose(T_i.dtype)
    table_half = jnp.asarray(TABLE_HALF, T_i.dtype)
    top_only = np.arange(6) == 0
    fp, fc, c = closest_contact(table, table_half, T_i, half_i, parent_faces=top_only)
    c = c.at[2].set(0.0).at[3:6].set(jnp.array([0.0, 0.0, -1.0], c.dtype))
    return fp, fc, contact_pose(table, table_half, fp, half_i, fc, c)


def table_icp_pose(key, cam, ws, cfg, scene, obs, T, half, i, yaws: int = 8, radius=0.04):
    """Object i (padded index) put flat on the table by contact-constrained ICP
    (``bottomup.planar_icp``: (x, y, yaw) on the table plane, every face down × ``yaws``
    yaws, from its current centre; 10 renders × 10 Procrustes steps, as the bottom-up's
    4 × 3 left a box started 4 cm off at 11 mm and this at 4 mm) against the observed points
    within ``radius`` [m] of its footprint that the other objects do not explain; the best
    start by the exact likelihood over the others' z-buffer. Returns the pose (4, 4) float32,
    or None when fewer than 20 such points are seen."""
    from simlab.scenes.bottomup import (
        FACE_AXIS,
        face_down_rotations,
        icp_target,
        observed_world,
        planar_icp,
    )
    from simlab.scenes.icp import unexplained_points

    t, q = pose_to_tq(T)
    static = _others_zbuffer(cam, ws, cfg, scene, i, t, q)
    free = np.asarray(unexplained_points(obs, unproject_depth(cam, to_depth(static))))
    world = observed_world(obs, obs.T_wc)
    centre = np.asarray(T[i, :2, 3], np.float64)
    reach = float(np.linalg.norm(np.asarray(half[i]))) + radius
    near = free & (np.linalg.norm(world[:, :2] - centre, axis=1) < reach) & (world[:, 2] > 0.01)
    pts = world[near]
    if len(pts) < 20:
        return None
    tgt, tmask = icp_target(pts, seed=int(i))
    h = np.asarray(half[i], np.float64)
    R = face_down_rotations()
    starts = [(f, 2 * np.pi * y / yaws) for f in range(6) for y in range(yaws)]
    poses, ll = planar_icp(
        key, cam, ws, cfg, scene.points, scene.valid, scene.T_cw, static, obs,
        jnp.asarray(tgt), jnp.asarray(tmask),
        jnp.full((len(starts),), i, jnp.int32),
        jnp.asarray(np.stack([R[f] for f, _ in starts]), jnp.float32),
        jnp.asarray([h[FACE_AXIS[f]] for f, _ in starts], jnp.float32),
        jnp.asarray([y for _, y in starts], jnp.float32),
        jnp.asarray(np.tile(centre, (len(starts), 1)), jnp.float32),
        outer=10, inner=10,
    )  # fmt: skip
    return poses[int(jnp.argmax(ll))]


def table_restarts(key, cam, ws, cfg, prior, scene, obs, parents, faces, T, half, n, sweeps=10):
    """For each real object the structure stage left floating: restart it flush on the table
    from two candidates, its own pose made flush (``flush_on_table``) and a table-constrained
    ICP fit (``table_icp_pose``); refine the scene under each graph for ``sweeps`` sweeps,
    and keep the best when it raises ``structure_score``. Returns (parents, faces, T).

    Why: an object that is mostly hidden can sit in a wrong basin of the floating pose
    posterior (tilted or sunk by 1–3 cm; its few pixels barely constrain it), where the
    contact toggle, which keeps the absolute pose, finds no plausible contact. On the table
    its pose has 3 free coordinates instead of 6, which is what the scene graph is for: ICP
    in those 3 coordinates is well posed on a few pixels where 6-D ICP is not. This is a
    search step (keep-if-better), not an MCMC move."""
    parents, faces = jnp.asarray(parents), jnp.asarray(faces)
    cur = structure_score(cam, ws, cfg, prior, scene, obs, parents, faces, T, half)
    for i, k in zip(range(n), jax.random.split(key, n)):
        if int(parents[i]) != -1:
            continue
        k_icp, k_ref = jax.random.split(k)
        starts = [T[i], table_icp_pose(k_icp, cam, ws, cfg, scene, obs, T, half, i)]
        best = None
        for Ts in starts:
            if Ts is None:
                continue
            fp, fc, Ti = flush_on_table(Ts, half[i])
            p2 = parents.at[i].set(0)
            f2 = faces.at[i].set(jnp.stack([fp, fc]).astype(faces.dtype))
            T2 = _carry(T, p2, i, Ti)  # i's children (if any) move along with it
            T2, _, _ = graph_mh_sweeps(
                k_ref, cam, ws, cfg, prior, scene, obs, p2, f2, T2, half, sweeps
            )
            new = structure_score(cam, ws, cfg, prior, scene, obs, p2, f2, T2, half)
            if best is None or bool(new > best[0]):
                best = (new, p2, f2, T2)
        if best is not None and bool(best[0] > cur):
            cur, parents, faces, T = best
    return np.asarray(parents), np.asarray(faces), T


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
