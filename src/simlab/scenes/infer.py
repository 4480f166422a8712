"""Pose inference for floating objects: batched scoring and jit-compiled MH kernels.

A scene's latent state is the objects' world poses as ``t (N, 3)`` [m] and unit quaternions
``q (N, 4)``; the camera pose is known. The target is

    log p(t, q | obs) = Σ_i log p_float(t_i, q_i) + log p(obs | render(t, q)) + const,

with the floating prior uniform on the bound box B (``Config.bounds``) times Haar rotations,
so only the likelihood changes inside B and proposals leaving B are rejected.

Moves (spec §6.2–6.3, 6.6), each an exact MH kernel on that target:

* ``DRIFTS``: Gaussian–vMF drifts GVMF(current; σ, κ) at the reference's six scales;
* ``FLIPS``: 180° flips about body x, y, z composed with a κ = 1000 vMF jitter (symmetric,
  because the vMF about the identity is invariant under conjugation and inversion);
* ``grid_move``: enumerative-Gibbs-style translation moves on a cell grid centred on the
  current value (the reverse grid is scored too);
* ``icp_move``: a data-driven mixture proposal 0.5·GVMF(T) + 0.5·GVMF(icp(T)), with icp(T')
  run again for the reverse density (see ``simlab.scenes.icp``).

For an MH step on object i the other objects are rendered once per block and composited with
``min``; every candidate render is a batch-able pure function.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes.camera import Intrinsics, unproject_depth
from simlab.scenes.dists import gaussian_vmf_pose_logpdf, gaussian_vmf_pose_sample
from simlab.scenes.geometry import pose_from_tq, quat_multiply
from simlab.scenes.likelihood import Observation, Workspace, exact_loglik, windowed_loglik
from simlab.scenes.render import scene_zbuffer, to_depth

__all__ = [
    "DRIFTS",
    "FLIPS",
    "Config",
    "Scene",
    "active_objects",
    "grid_kernel",
    "grid_move",
    "grid_offsets",
    "icp_mixture_kernel",
    "icp_move",
    "log_likelihood",
    "make_scene",
    "mh_sweeps",
    "object_zbuffer",
    "pad_poses",
    "pose_mh_kernel",
    "render_xyz",
    "score_object_poses",
]

#: (σ [m], κ) of the reference's drift moves (ThreeDP3, in cm: (0.5, 10), (1, 100), ...).
DRIFTS = (
    (0.005, 10.0),
    (0.01, 100.0),
    (0.015, 1000.0),
    (0.001, 1000.0),
    (0.001, 100.0),
    (0.005, 5000.0),
)
#: 180° flips about body x, y, z, each followed by a vMF(κ) jitter.
FLIPS = ((0, 1000.0), (1, 1000.0), (2, 1000.0))


class Config(NamedTuple):
    """Static likelihood and prior settings (hashable; a ``jit`` static argument).

    kind: "windowed" (inner loops) or "exact"; sigma [m] and f for the windowed form;
    p_out; s the splat footprint; bounds (lo, hi) [m] the floating prior's box B.

    sigma defaults to 1 cm, not the spec's 5 mm windowed default: the spec's measured MH
    step used r = 1 cm; on 12 noisy single-object scenes (bench/scenes/bench_scenes.py,
    594 steps from 2 cm / 15° starts) the medians tie (2.7 vs 2.6 mm) but 5 mm has the worse
    tail (max 13.2 vs 8.6 mm), and on the noiseless case of tests/scenes/test_infer.py 5 mm
    stays in a far mode (36 mm) where 1 cm reaches 2.3 mm.
    """

    kind: str = "windowed"
    sigma: float = 0.01
    p_out: float = 0.01
    f: int = 2
    s: int = 2
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]] = (
        (-0.4, -0.4, 0.0),
        (0.4, 0.4, 0.4),
    )


class Scene(NamedTuple):
    """Object geometry (a pytree): points (N, P, 3) [m, object frames], valid (N, P), and the
    world → camera transform T_cw (4, 4)."""

    points: jax.Array
    valid: jax.Array
    T_cw: jax.Array


def make_scene(
    point_sets: list[np.ndarray], T_wc: np.ndarray, n_pad: int = 0, p_pad: int = 0
) -> Scene:
    """A ``Scene`` from per-object splat points (object frames) and the camera pose T_wc.

    ``n_pad`` / ``p_pad``: pad to at least that many objects / points per object (see
    ``render.pack_points``). Padding objects have no valid points: the samplers skip them
    (``active_objects``), so a fixed padding makes scenes with different object counts share
    one compilation of every jit-compiled kernel."""
    from simlab.scenes.render import pack_points

    pts, valid = pack_points(point_sets, n_pad, p_pad)
    return Scene(pts, valid, jnp.asarray(np.linalg.inv(np.asarray(T_wc, np.float64)), jnp.float32))


def active_objects(scene: Scene) -> jax.Array:
    """(N,) bool: the real objects of a (possibly padded) scene, those with valid points."""
    return jnp.any(scene.valid, axis=1)


def pad_poses(scene: Scene, t, q, bounds):
    """Pad t (n, 3), q (n, 4) to the scene's N objects with identity poses at the centre of
    the box ``bounds`` (so every bound check passes; padding objects render nothing)."""
    n, N = t.shape[0], scene.points.shape[0]
    centre = 0.5 * (jnp.asarray(bounds[0], t.dtype) + jnp.asarray(bounds[1], t.dtype))
    t = jnp.concatenate([t, jnp.broadcast_to(centre, (N - n, 3))])
    q = jnp.concatenate([q, jnp.broadcast_to(jnp.array([1.0, 0, 0, 0], q.dtype), (N - n, 4))])
    return t, q


def _crop(ws: Workspace):
    return (ws.lo, ws.hi)


def object_zbuffer(cam, ws, cfg: Config, scene: Scene, i, t, q) -> jax.Array:
    """Z-buffer (H, W) of object i alone at pose (t (3,), q (4,)); i may be traced."""
    pts = jax.lax.dynamic_index_in_dim(scene.points, i, keepdims=True)
    val = jax.lax.dynamic_index_in_dim(scene.valid, i, keepdims=True)
    return scene_zbuffer(cam, pts, val, pose_from_tq(t, q)[None], scene.T_cw, _crop(ws), cfg.s)


def _others_zbuffer(cam, ws, cfg, scene, i, t, q):
    keep = scene.valid & (jnp.arange(scene.points.shape[0]) != i)[:, None]
    return scene_zbuffer(cam, scene.points, keep, pose_from_tq(t, q), scene.T_cw, _crop(ws), cfg.s)


def render_xyz(cam: Intrinsics, ws: Workspace, cfg: Config, scene: Scene, t, q) -> jax.Array:
    """Camera-frame xyz image (H, W, 3) [m, 0 = empty] of all objects at t (N, 3), q (N, 4)."""
    z = scene_zbuffer(
        cam, scene.points, scene.valid, pose_from_tq(t, q), scene.T_cw, _crop(ws), cfg.s
    )
    return unproject_depth(cam, to_depth(z))


def _loglik_xyz(ws, cfg, obs, xyz):
    if cfg.kind == "windowed":
        return windowed_loglik(obs, ws, xyz, cfg.sigma, cfg.p_out, cfg.f)
    if cfg.kind == "exact":
        return exact_loglik(obs, ws, xyz, cfg.p_out)
    raise ValueError(f"likelihood kind must be 'windowed' or 'exact', not {cfg.kind!r}")


def _in_bounds(cfg, t):
    lo, hi = jnp.asarray(cfg.bounds[0]), jnp.asarray(cfg.bounds[1])
    return jnp.all((t >= lo) & (t <= hi), axis=-1)


@partial(jax.jit, static_argnames=("cam", "ws", "cfg"))
def log_likelihood(cam, ws, cfg: Config, scene: Scene, obs: Observation, t, q) -> jax.Array:
    """log p(obs | poses) (scalar) plus the bound check of the floating prior (−∞ outside B)."""
    ll = _loglik_xyz(ws, cfg, obs, render_xyz(cam, ws, cfg, scene, t, q))
    return jnp.where(jnp.all(_in_bounds(cfg, t)), ll, -jnp.inf)


def _score_with_static(cam, ws, cfg, scene, obs, static, i, ti, qi):
    z = jnp.minimum(static, object_zbuffer(cam, ws, cfg, scene, i, ti, qi))
    ll = _loglik_xyz(ws, cfg, obs, unproject_depth(cam, to_depth(z)))
    return jnp.where(_in_bounds(cfg, ti), ll, -jnp.inf)


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "batch_size"))
def score_object_poses(
    cam, ws, cfg: Config, scene, obs, t, q, i, t_cand, q_cand, batch_size: int = 1
) -> jax.Array:
    """Scores (B,) of candidate poses t_cand (B, 3), q_cand (B, 4) for object i, the other
    objects held at (t, q); one render + likelihood per candidate, all in one jit call.

    ``batch_size`` candidates are vmapped together (``lax.map``): on a CPU, 1 (a compiled
    loop) is fastest, because vmapped scatters serialise badly; on a GPU use the whole batch.
    """
    static = _others_zbuffer(cam, ws, cfg, scene, i, t, q)
    return jax.lax.map(
        lambda ab: _score_with_static(cam, ws, cfg, scene, obs, static, i, ab[0], ab[1]),
        (t_cand, q_cand),
        batch_size=batch_size if batch_size > 1 else None,
    )


def _move_arrays(drifts=DRIFTS, flips=FLIPS, flip_sigma: float = 0.0):
    sig = [d[0] for d in drifts] + [flip_sigma] * len(flips)
    kap = [d[1] for d in drifts] + [f[1] for f in flips]
    axis = [-1] * len(drifts) + [f[0] for f in flips]
    return jnp.asarray(sig, jnp.float32), jnp.asarray(kap, jnp.float32), jnp.asarray(axis)


def _propose(key, ti, qi, sigma, kappa, axis):
    """Drift (axis = −1) or flip-and-jitter proposal; both symmetric."""
    flip = jnp.where(
        axis >= 0,
        jnp.zeros(4).at[1 + jnp.maximum(axis, 0)].set(1.0),
        jnp.array([1.0, 0.0, 0.0, 0.0]),
    )
    return gaussian_vmf_pose_sample(key, ti, quat_multiply(qi, flip), sigma, kappa)


def pose_mh_kernel(key, ti, qi, cur, log_target, sig, kap, axis):
    """Apply the moves (sig (M,), kap (M,), axis (M,)) in turn to one pose by MH.

    ti (3,), qi (4,): the current pose; cur its log target; log_target(t, q) -> scalar.
    Both move kinds are symmetric, so log α = log_target(new) − log_target(old).
    Returns (ti, qi, cur, accepted (M,)).
    """

    def step(c, mv):
        key, ti, qi, cur = c
        s, k, ax = mv
        key, kp, ku = jax.random.split(key, 3)
        t2, q2 = _propose(kp, ti, qi, s, k, ax)
        new = log_target(t2, q2)
        ok = jnp.log(jax.random.uniform(ku)) < new - cur
        out = (key, jnp.where(ok, t2, ti), jnp.where(ok, q2, qi), jnp.where(ok, new, cur))
        return out, ok

    (_, ti, qi, cur), oks = jax.lax.scan(step, (key, ti, qi, cur), (sig, kap, axis))
    return ti, qi, cur, oks


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "n_sweeps", "moves"))
def mh_sweeps(
    key,
    cam: Intrinsics,
    ws: Workspace,
    cfg: Config,
    scene: Scene,
    obs: Observation,
    t,
    q,
    n_sweeps: int,
    moves: tuple = (DRIFTS, FLIPS),
):
    """Run ``n_sweeps`` sweeps of pose MH over all objects.

    Each sweep visits every object i once and applies each move in ``moves`` (drifts, flips)
    once: len(DRIFTS) + len(FLIPS) = 9 MH steps per object per sweep. Padding objects (no
    valid points) are skipped by a ``lax.cond``, which on a CPU runs one branch only. Returns
    (t (N, 3), q (N, 4), log target (n_sweeps,) after each sweep (the last real object's),
    acceptance rate (M,) per move).
    """
    sig, kap, axis = _move_arrays(*moves)
    n = t.shape[0]
    active = active_objects(scene)

    def object_block(carry, i):
        key, t, q, acc, last = carry

        def run(key, t, q, acc):
            # the key advances only for real objects, so padding leaves the random stream alone
            key, sub = jax.random.split(key)
            static = _others_zbuffer(cam, ws, cfg, scene, i, t, q)
            score = partial(_score_with_static, cam, ws, cfg, scene, obs, static, i)
            ti, qi, cur, oks = pose_mh_kernel(
                sub, t[i], q[i], score(t[i], q[i]), score, sig, kap, axis
            )
            return key, t.at[i].set(ti), q.at[i].set(qi), acc + oks, cur

        def skip(key, t, q, acc):
            return key, t, q, acc, last

        return jax.lax.cond(active[i], run, skip, key, t, q, acc), None

    def sweep(carry, _):
        carry, _ = jax.lax.scan(object_block, carry, jnp.arange(n))
        return carry, carry[-1]

    acc0 = jnp.zeros(sig.shape[0], jnp.float32)
    init = (key, t, q, acc0, jnp.float32(-jnp.inf))
    (key, t, q, acc, _), lls = jax.lax.scan(sweep, init, None, length=n_sweeps)
    return t, q, lls, acc / (n_sweeps * jnp.maximum(jnp.sum(active), 1))


def grid_offsets(n: int, h) -> jax.Array:
    """Centres (n³, 3) of an n×n×n grid of cells of side h [m] about 0; offs[n³−1−k] = −offs[k]."""
    g = (jnp.arange(n) - (n - 1) / 2) * h
    return jnp.stack(jnp.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)


def grid_kernel(key, ti, qi, log_target_batch, h, n: int):
    """One enumerative grid MH move on a position ti (3,) (spec §6.6).

    Score the n³ cell centres of a grid of side-h cells centred on ti, pick a cell ∝
    exp(score), draw a uniform point in it, and accept with the ratio that uses the reverse grid
    centred on the proposal; the current value always lies in that grid's mirrored cell
    (the grid is symmetric), so the move never needs an off-grid rejection.
    ``log_target_batch(t (B, 3), q (4,)) -> (B,)``. Returns (ti, accepted).
    """
    offs = grid_offsets(n, h)
    kc, ku, ka = jax.random.split(key, 3)
    fwd = log_target_batch(ti + offs, qi)
    k = jax.random.categorical(kc, fwd)
    t2 = ti + offs[k] + h * (jax.random.uniform(ku, (3,)) - 0.5)
    bwd = log_target_batch(t2 + offs, qi)
    ends = log_target_batch(jnp.stack([t2, ti]), qi)
    kr = offs.shape[0] - 1 - k
    log_a = ends[0] - ends[1] + jax.nn.log_softmax(bwd)[kr] - jax.nn.log_softmax(fwd)[k]
    ok = jnp.log(jax.random.uniform(ka)) < log_a
    return jnp.where(ok, t2, ti), ok


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "n", "steps"))
def grid_move(
    key, cam, ws: Workspace, cfg: Config, scene, obs, t, q, i, h, n: int = 5, steps: int = 1
):
    """``steps`` enumerative grid moves (``grid_kernel``) on object i's position with cells of
    side h [m]. Returns (t, q, number accepted)."""
    static = _others_zbuffer(cam, ws, cfg, scene, i, t, q)
    score = jax.vmap(
        lambda a, b: _score_with_static(cam, ws, cfg, scene, obs, static, i, a, b), (0, None)
    )

    def one(c, key):
        ti, acc = c
        ti, ok = grid_kernel(key, ti, q[i], score, h, n)
        return (ti, acc + ok), None

    (ti, acc), _ = jax.lax.scan(one, (t[i], 0), jax.random.split(key, steps))
    return t.at[i].set(ti), q, acc


def icp_mixture_kernel(key, ti, qi, cur, log_target, icp_fn, sigma, kappa):
    """One MH step with q(T'|T) = ½·GVMF(T'; T, σ, κ) + ½·GVMF(T'; icp(T), σ, κ) (spec §6.3).

    ``icp_fn(t, q) -> (t, q)`` must be a deterministic function of the pose (the reverse
    density runs it again from the proposal). Returns (ti, qi, cur, accepted).
    """
    kc, kp, ku = jax.random.split(key, 3)
    ta, qa = icp_fn(ti, qi)
    use_icp = jax.random.bernoulli(kc)
    t2, q2 = gaussian_vmf_pose_sample(
        kp, jnp.where(use_icp, ta, ti), jnp.where(use_icp, qa, qi), sigma, kappa
    )
    tb, qb = icp_fn(t2, q2)
    half = jnp.log(0.5)

    def mix(to_t, to_q, c1, c2):
        a = gaussian_vmf_pose_logpdf(to_t, to_q, c1[0], c1[1], sigma, kappa)
        b = gaussian_vmf_pose_logpdf(to_t, to_q, c2[0], c2[1], sigma, kappa)
        return jnp.logaddexp(half + a, half + b)

    log_fwd = mix(t2, q2, (ti, qi), (ta, qa))
    log_bwd = mix(ti, qi, (t2, q2), (tb, qb))
    new = log_target(t2, q2)
    ok = jnp.log(jax.random.uniform(ku)) < new - cur + log_bwd - log_fwd
    ok = ok & jnp.isfinite(new)
    return jnp.where(ok, t2, ti), jnp.where(ok, q2, qi), jnp.where(ok, new, cur), ok


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "steps", "outer", "inner"))
def icp_move(
    key,
    cam,
    ws: Workspace,
    cfg: Config,
    scene,
    obs,
    t,
    q,
    i,
    steps: int = 5,
    sigma: float = 0.001,
    kappa: float = 5000.0,
    outer: int = 5,
    inner: int = 10,
):
    """``steps`` ICP-mixture MH moves on object i (spec §6.3; default (σ, κ) = (1 mm, 5000)).

    Unexplained points are those > 1 cm from the other objects' render; ICP registers i's
    rendered visible surface onto them. Returns (t, q, number accepted).
    """
    from simlab.scenes.icp import icp_pose, unexplained_points

    static = _others_zbuffer(cam, ws, cfg, scene, i, t, q)
    mask = unexplained_points(obs, unproject_depth(cam, to_depth(static)))

    def render_i(ti, qi):
        z = object_zbuffer(cam, ws, cfg, scene, i, ti, qi)
        return jnp.where(z < static, z, 1e9)

    def log_target(ti, qi):
        return _score_with_static(cam, ws, cfg, scene, obs, static, i, ti, qi)

    def one(c, k):
        ti, qi, cur, acc = c
        k_icp, k_mh = jax.random.split(k)

        def icp_fn(a, b):
            return icp_pose(k_icp, cam, render_i, obs, mask, a, b, outer, inner)

        ti, qi, cur, ok = icp_mixture_kernel(k_mh, ti, qi, cur, log_target, icp_fn, sigma, kappa)
        return (ti, qi, cur, acc + ok), None

    init = (t[i], q[i], log_target(t[i], q[i]), 0)
    (ti, qi, _, acc), _ = jax.lax.scan(one, init, jax.random.split(key, steps))
    return t.at[i].set(ti), q.at[i].set(qi), acc


def n_steps_per_sweep(n_objects: int, moves=(DRIFTS, FLIPS)) -> int:
    return n_objects * sum(len(m) for m in moves)


def run_floating(
    key,
    cam: Intrinsics,
    ws: Workspace,
    cfg: Config,
    scene: Scene,
    obs: Observation,
    t,
    q,
    sweeps: int = 50,
    icp_every: int = 10,
    icp_steps: int = 3,
    callback=None,
):
    """3DP3* pose inference (every object floating): blocks of ``icp_every`` MH sweeps
    (drifts + flips), each followed by ``icp_steps`` ICP-mixture moves per object
    (``icp_steps = 0`` disables them). Returns (t (N, 3), q (N, 4), log-target history).

    ``callback(done_sweeps, total)`` is called after each block (for progress bars).
    """
    history = []
    done = 0
    real = np.flatnonzero(np.asarray(active_objects(scene)))
    while done < sweeps:
        block = min(icp_every, sweeps - done)
        key, k1, k2 = jax.random.split(key, 3)
        t, q, lls, _ = mh_sweeps(k1, cam, ws, cfg, scene, obs, t, q, block)
        history += [float(x) for x in lls]
        if icp_steps > 0:
            for i, k in zip(real, jax.random.split(k2, len(real))):
                t, q, _ = icp_move(k, cam, ws, cfg, scene, obs, t, q, jnp.int32(i), steps=icp_steps)
        done += block
        if callback is not None:
            callback(done, sweeps)
    return t, q, history
