"""Involutive structure moves on scene graphs (spec §6.4): floating ↔ contact toggles and the
full-structure move. Absolute poses never change, so the likelihood cancels and nothing is
rendered: every log α here is a prior ratio plus proposal and Jacobian terms.

**Toggle** of object i (``toggle_kernel``). Auxiliary choices u = (parent, face_p, face_c).

* floating → contact: the parent is uniform over the nodes outside i's subtree (the table
  included; only the table when ``table_only``); each face is drawn independently with the
  closest pair's face (``contact.closest_contact``) weighted 1000:1 against each other face (the
  table supports only on face 0). The contact is the closest approximating contact for those
  faces, i.e. the one that reproduces i's absolute pose.
* contact → floating: deterministic; u' = (parent, faces) becomes a backward choice.

``toggle_involution`` is the map (graph, u) ↦ (graph', u') with log|J| = +log 8 floating →
contact and −log 8 back: the rotation (hemisphere measure, mass π²) becomes (d, φ) on S² × S¹
(mass 8π²) through the Hopf map, which carries uniform to uniform, and the translation block
is unit triangular (tested against ``jax.jacfwd`` in exponential / tangent coordinates).

**Full-structure move** (``structure_kernel``, n ≤ 5): every forest (``graph.enumerate_forests``)
with closest-face contacts is scored by its prior plus log 8 per contact edge (the Jacobian of
the states it would be reached by, relative to all-floating), the proposal is 0.9·softmax +
0.1·[current]; the move is exact only when the current contacts use closest faces, and it is
rejected otherwise.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp

from simlab.scenes.contact import pair_contacts
from simlab.scenes.graph import GraphPrior, _all_half, all_poses, descendants, log_prior

__all__ = [
    "LOG8",
    "closest_faces",
    "structure_kernel",
    "toggle_involution",
    "toggle_kernel",
    "toggle_proposal_logpdf",
]

LOG8 = math.log(8.0)
_LOG1000 = math.log(1000.0)


def closest_faces(T, half, parent, i):
    """(face_p, face_c) of the closest face pair between node ``parent`` (0 = table) and object
    i at absolute poses T (n, 4, 4); the table offers only its +z face."""
    Tn, hn = all_poses(T), _all_half(half)
    _, dist = pair_contacts(Tn[parent], hn[parent], T[i], half[i])
    dist = jnp.where((parent == 0) & (jnp.arange(6) != 0)[:, None], jnp.inf, dist)
    k = jnp.argmin(dist.reshape(-1))
    return k // 6, k % 6


def _face_logits(best, table):
    logits = jnp.where(jnp.arange(6) == best, _LOG1000, 0.0)
    return jnp.where(table & (jnp.arange(6) != 0), -jnp.inf, logits)


def _eligible(parents, i, table_only, active=None):
    """Nodes (n + 1,) that may become i's parent: the table, and (unless ``table_only``) every
    active object outside i's subtree (padding objects, ``active`` False, never parent)."""
    n = parents.shape[0]
    act = jnp.ones(n, bool) if active is None else active
    anyp = jnp.concatenate([jnp.ones(1, bool), ~descendants(parents, i) & act])
    return jnp.where(table_only, jnp.arange(n + 1) == 0, anyp)


def toggle_proposal_logpdf(
    parents, T, half, i, parent, face_p, face_c, table_only=False, active=None
):
    """log q(u = (parent, face_p, face_c)) of the floating → contact proposal for object i
    (``active`` (n,) bool: the real objects of a padded scene; default all)."""
    el = _eligible(parents, i, table_only, active)
    log_par = jnp.where(el[parent], -jnp.log(jnp.sum(el)), -jnp.inf)
    bp, bc = closest_faces(T, half, parent, i)
    lp = jax.nn.log_softmax(_face_logits(bp, parent == 0))[face_p]
    lc = jax.nn.log_softmax(_face_logits(bc, jnp.bool_(False)))[face_c]
    return log_par + lp + lc


def toggle_involution(parents, faces, i, u, log_jacobian=LOG8):
    """The toggle's involution on (graph, u): returns (parents', faces', u', log|J|).

    u = (parent, face_p, face_c) int32 (3,) is meaningful only when object i floats (the
    forward direction); u' is that triple when i goes back to floating, else zeros.
    ``log_jacobian`` is the constant log 8 (a parameter only so that tests can show that the
    S³ convention's log 4 is detected)."""
    floating = parents[i] < 0
    to_contact = (parents.at[i].set(u[0]), faces.at[i].set(u[1:3]))
    u_back = jnp.concatenate([parents[i][None], faces[i]]).astype(jnp.int32)
    to_float = (parents.at[i].set(-1), faces.at[i].set(0))
    p2 = jnp.where(floating, to_contact[0], to_float[0])
    f2 = jnp.where(floating, to_contact[1], to_float[1])
    u2 = jnp.where(floating, jnp.zeros(3, jnp.int32), u_back)
    return p2, f2, u2, jnp.where(floating, log_jacobian, -log_jacobian)


@partial(jax.jit, static_argnames=("prior",))
def toggle_kernel(
    key,
    parents,
    faces,
    T,
    half,
    i,
    prior: GraphPrior,
    table_only=False,
    log_jacobian=LOG8,
    active=None,
):
    """One toggle MH step on object i (``table_only``: propose only the table as parent; may
    be traced; ``active`` (n,) bool: the real objects of a padded scene, the only possible
    parents). Returns (parents, faces, accepted, log α)."""
    k1, k2, k3, k4 = jax.random.split(key, 4)
    floating = parents[i] < 0
    el = _eligible(parents, i, table_only, active)
    parent = jax.random.categorical(k1, jnp.where(el, 0.0, -jnp.inf))
    bp, bc = closest_faces(T, half, parent, i)
    fp = jax.random.categorical(k2, _face_logits(bp, parent == 0))
    fc = jax.random.categorical(k3, _face_logits(bc, jnp.bool_(False)))
    u = jnp.stack([parent, fp, fc]).astype(jnp.int32)
    p2, f2, u2, logdet = toggle_involution(parents, faces, i, u, log_jacobian)
    log_q_fwd = jnp.where(
        floating,
        toggle_proposal_logpdf(parents, T, half, i, *u, table_only=table_only, active=active),
        0.0,
    )
    log_q_bwd = jnp.where(
        floating,
        0.0,
        toggle_proposal_logpdf(p2, T, half, i, *u2, table_only=table_only, active=active),
    )
    log_a = (
        log_prior(p2, f2, T, half, prior)
        - log_prior(parents, faces, T, half, prior)
        + log_q_bwd
        - log_q_fwd
        + logdet
    )
    log_a = jnp.where(jnp.isnan(log_a), -jnp.inf, log_a)
    ok = jnp.log(jax.random.uniform(k4)) < log_a
    return jnp.where(ok, p2, parents), jnp.where(ok, f2, faces), ok, log_a


def _pair_closest(T, half):
    """Closest faces (n + 1, n, 2) for every (parent node, child object) pair."""
    n = T.shape[0]
    par = jnp.repeat(jnp.arange(n + 1), n)
    ch = jnp.tile(jnp.arange(n), n + 1)
    fp, fc = jax.vmap(lambda p, c: closest_faces(T, half, p, c))(par, ch)
    return jnp.stack([fp, fc], -1).reshape(n + 1, n, 2).astype(jnp.int32)


@partial(jax.jit, static_argnames=("prior",))
def structure_scores(forests, T, half, prior: GraphPrior):
    """(faces (K, n, 2), scores (K,)) of every forest (K, n) with closest-face contacts:
    log prior + log 8 per contact edge."""
    pc = _pair_closest(T, half)
    n = T.shape[0]
    faces = jnp.where(
        (forests >= 0)[..., None], pc[jnp.maximum(forests, 0), jnp.arange(n)], 0
    ).astype(jnp.int32)
    lp = jax.vmap(lambda p, f: log_prior(p, f, T, half, prior))(forests, faces)
    return faces, lp + LOG8 * jnp.sum(forests >= 0, axis=1)


@partial(jax.jit, static_argnames=("prior",))
def structure_kernel(key, forests, parents, faces, T, half, prior: GraphPrior, valid=None):
    """One full-structure MH move (n ≤ 5). ``forests`` (K, n) from ``enumerate_forests``;
    ``valid`` (K,) bool marks the rows that are forests of the current scene (a padded table,
    ``graph.padded_forests``, has filler rows that are never proposed). Returns (parents,
    faces, accepted)."""
    k1, k2, k3 = jax.random.split(key, 3)
    cand_faces, score = structure_scores(forests, T, half, prior)
    if valid is not None:
        score = jnp.where(valid, score, -jnp.inf)
    cur = jnp.argmax(jnp.all(forests == parents, axis=1))
    closest = jnp.all(jnp.where((parents >= 0)[:, None], cand_faces[cur] == faces, True))
    logp = jax.nn.log_softmax(jnp.where(jnp.isfinite(score), score, -jnp.inf))
    stay = jax.random.bernoulli(k1, 0.1)
    k_new = jnp.where(stay, cur, jax.random.categorical(k2, logp))

    def log_q(to, frm):
        return jnp.logaddexp(jnp.log(0.9) + logp[to], jnp.where(to == frm, jnp.log(0.1), -jnp.inf))

    log_a = score[k_new] - score[cur] + log_q(cur, k_new) - log_q(k_new, cur)
    ok = closest & (jnp.log(jax.random.uniform(k3)) < log_a)
    return (
        jnp.where(ok, forests[k_new], parents),
        jnp.where(ok, cand_faces[k_new], faces),
        ok,
    )
