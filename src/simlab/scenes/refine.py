"""Pose and contact refinement under a fixed scene graph (spec §6.5), jit-compiled.

State: absolute poses T (n, 4, 4) [m] with a fixed graph (parents (n,), faces (n, 2)); the
target is ``graph.log_prior`` + the depth likelihood of the rendered scene. Moving object i
carries its subtree rigidly, so the descendants' contacts stay fixed and they are re-rendered
where they now are. An MH step on an object with children renders the whole scene once (one
splat of n objects); on a leaf it splats that object alone over the others' z-buffer.

Moves per object, in order (``MOVES``), all exact MH kernels:

* kind 0, in-place pose drift: T_i ← GVMF(T_i; σ, κ). Symmetric in absolute coordinates; for
  an object in contact the map absolute ↔ contact (same faces) has the constant Jacobian 8, so
  it is symmetric in contact coordinates too and α is the target ratio. Defaults (5 mm, 2000)
  and (1 mm, 100) (InverseGraphics ``demo.jl`` in metres).
* kind 1, scalar drift of contact coordinate k ∈ {x, y, s} by N(0, σ²) (default 4 mm) or of φ
  (k = 6, σ rad); a no-op for floating objects.
* kind 2, prior proposal of (d, s): d ∼ vMF((0, 0, −1), κ), s ∼ N(0, σ_s²) (an independence
  proposal, so α is the likelihood ratio); pulls contacts flush.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp

from simlab.scenes.camera import unproject_depth
from simlab.scenes.contact import contact_pose
from simlab.scenes.dists import gaussian_vmf_pose_sample
from simlab.scenes.geometry import invert_pose, pose_from_tq, pose_to_tq
from simlab.scenes.graph import (
    GraphPrior,
    _all_half,
    all_poses,
    contacts_of,
    descendants,
    log_prior,
)
from simlab.scenes.infer import (
    Config,
    Scene,
    _loglik_xyz,
    _others_zbuffer,
    active_objects,
    object_zbuffer,
    render_xyz,
)
from simlab.scenes.likelihood import Observation, Workspace
from simlab.scenes.render import to_depth

__all__ = ["MOVES", "graph_log_target", "graph_mh_sweeps", "vmf_down_sample"]

#: (kind, σ [m or rad], κ, coordinate) per move; see the module docstring.
MOVES = (
    (0, 0.005, 2000.0, 0),
    (0, 0.001, 100.0, 0),
    (1, 0.004, 0.0, 0),
    (1, 0.004, 0.0, 1),
    (1, 0.004, 0.0, 2),
    (1, 0.1, 0.0, 6),
    (2, 0.0, 0.0, 0),
)


def vmf_down_sample(key, kappa: float) -> jax.Array:
    """A direction (3,) ∼ vMF((0, 0, −1), κ) on S² (exact inverse-CDF in the polar angle)."""
    ku, ka = jax.random.split(key)
    u = jax.random.uniform(ku)
    w = 1.0 + jnp.log(u + (1.0 - u) * math.exp(-2.0 * kappa)) / kappa
    a = jax.random.uniform(ka, maxval=2 * math.pi)
    r = jnp.sqrt(jnp.maximum(1.0 - w * w, 0.0))
    return jnp.stack([r * jnp.cos(a), r * jnp.sin(a), -w])


def graph_log_target(cam, ws, cfg: Config, prior: GraphPrior, scene, obs, parents, faces, T, half):
    """log p(graph, T) + log p(obs | render(T)) (scalar)."""
    t, q = pose_to_tq(T)
    xyz = render_xyz(cam, ws, cfg, scene, t, q)
    return log_prior(parents, faces, T, half, prior) + _loglik_xyz(ws, cfg, obs, xyz)


def _carry(T, parents, i, Ti_new):
    """Poses with object i at Ti_new and its subtree moved rigidly along."""
    delta = Ti_new @ invert_pose(T[i])
    sub = descendants(parents, i)
    return jnp.where(sub[:, None, None], delta[None] @ T, T)


def _ds_logpdf(c, prior: GraphPrior):
    s = c[2] / prior.sigma_s
    return -0.5 * s * s + prior.kappa * (-c[5])  # vMF and Gaussian up to constants


@partial(jax.jit, static_argnames=("cam", "ws", "cfg", "prior", "n_sweeps", "moves"))
def graph_mh_sweeps(
    key,
    cam,
    ws: Workspace,
    cfg: Config,
    prior: GraphPrior,
    scene: Scene,
    obs: Observation,
    parents,
    faces,
    T,
    half,
    n_sweeps: int,
    moves: tuple = MOVES,
):
    """``n_sweeps`` sweeps of the refinement moves over every object; graph fixed.

    T (n, 4, 4) float32; half (n, 3) box half sizes (n = the scene's N, padding objects
    included: floating, inside the prior's box, skipped by the sweeps). Returns (T, log
    target after each sweep (n_sweeps,), acceptance rate per move (M,))."""
    kinds = jnp.asarray([m[0] for m in moves])
    sig = jnp.asarray([m[1] for m in moves], jnp.float32)
    kap = jnp.asarray([max(m[2], 1e-3) for m in moves], jnp.float32)
    coord = jnp.asarray([m[3] for m in moves])
    n = T.shape[0]
    target = partial(graph_log_target, cam, ws, cfg, prior, scene, obs, parents, faces)

    def propose(key, T, i, kind, s, k, j):
        kd, kc, kv = jax.random.split(key, 3)
        t, q = pose_to_tq(T[i])
        t2, q2 = gaussian_vmf_pose_sample(kd, t, q, s, k)
        drift = pose_from_tq(t2, q2)
        c = contacts_of(parents, faces, T, half)[i]
        step = jnp.zeros(7).at[j].set(s * jax.random.normal(kc))
        c_scalar = c + step
        d_new = vmf_down_sample(kv, prior.kappa)
        s_new = prior.sigma_s * jax.random.normal(jax.random.fold_in(kv, 1))
        c_prior = c.at[3:6].set(d_new).at[2].set(s_new)
        c_new = jnp.where(kind == 1, c_scalar, c_prior)
        p = jnp.maximum(parents[i], 0)
        Tn, hn = all_poses(T), _all_half(half)
        from_contact = contact_pose(Tn[p], hn[p], faces[i, 0], half[i], faces[i, 1], c_new)
        in_contact = parents[i] >= 0
        Ti = jnp.where(kind == 0, drift, jnp.where(in_contact, from_contact, T[i]))
        # the independence proposal's density ratio q(old)/q(new) on (d, s)
        log_q = jnp.where(
            (kind == 2) & in_contact, _ds_logpdf(c, prior) - _ds_logpdf(c_new, prior), 0.0
        )
        # re-orthonormalise the moved subtree: what is stored is exactly what is rendered (via
        # quaternions); the other objects keep their stored poses bit for bit, so the leaf
        # path's z-buffer of them (below) stays exact
        sub = descendants(parents, i)
        moved = pose_from_tq(*pose_to_tq(_carry(T, parents, i, Ti)))
        return jnp.where(sub[:, None, None], moved, T), log_q

    active = active_objects(scene)

    def object_block(carry, i):
        key, T, cur, acc = carry
        # A leaf moves alone, so the others' z-buffer is fixed for its whole block: splat it
        # once and only object i per step (min-compositing is exact, so the target is the
        # same); an object with children carries them and renders the whole scene per step.
        leaf = ~jnp.any(parents == i + 1)
        t, q = pose_to_tq(T)
        # only a leaf's steps read it; skip the n-object splat for other and padding blocks
        others = partial(_others_zbuffer, cam, ws, cfg, scene, i, t, q)
        blank = jax.eval_shape(others)
        static = jax.lax.cond(leaf & active[i], others, lambda: jnp.zeros(blank.shape, blank.dtype))

        def leaf_target(T2):
            ti, qi = pose_to_tq(T2[i])
            z = jnp.minimum(static, object_zbuffer(cam, ws, cfg, scene, i, ti, qi))
            ll = _loglik_xyz(ws, cfg, obs, unproject_depth(cam, to_depth(z)))
            return log_prior(parents, faces, T2, half, prior) + ll

        def step(c, mv):
            key, T, cur = c
            kind, s, k, j = mv
            key, kp, ku = jax.random.split(key, 3)
            T2, log_q = propose(kp, T, i, kind, s, k, j)
            new = jax.lax.cond(leaf, leaf_target, lambda T2: target(T2, half), T2)
            ok = jnp.log(jax.random.uniform(ku)) < new - cur + log_q
            # a degenerate contact (d near +e_z) can produce non-finite poses: never accept
            sane = jnp.all(jnp.isfinite(T2)) & jnp.all(jnp.abs(T2[:, :3, 3]) < 10.0)
            ok = ok & jnp.isfinite(new) & sane
            return (key, jnp.where(ok, T2, T), jnp.where(ok, new, cur)), ok

        def run(key, T, cur, acc):
            (key, T, cur), oks = jax.lax.scan(step, (key, T, cur), (kinds, sig, kap, coord))
            return key, T, cur, acc + oks

        # padding objects (no valid points) are skipped; lax.cond runs one branch on a CPU
        carry = jax.lax.cond(active[i], run, lambda *c: c, key, T, cur, acc)
        return carry, carry[2]

    def sweep(carry, _):
        carry, curs = jax.lax.scan(object_block, carry, jnp.arange(n))
        return carry, curs[-1]

    cur0 = target(T, half)
    acc0 = jnp.zeros(len(moves), jnp.float32)
    (key, T, _, acc), hist = jax.lax.scan(sweep, (key, T, cur0, acc0), None, length=n_sweeps)
    return T, hist, acc / (n_sweeps * jnp.maximum(jnp.sum(active), 1))
