"""Scene graphs: a directed forest over the table and n objects, with contact edges.

Nodes: 0 is the table, i + 1 is object i. A graph is ``parents`` int (n,) with −1 for a
floating object, 0 for "on the table" and j + 1 for "on object j", plus ``faces`` int (n, 2)
(parent face, child face; ignored for floating objects). The table is a fixed root: a box of
half sizes ``TABLE_HALF`` whose +z face (face 0) is the plane z = 0 and the only face it
supports on.

The inference state keeps every object's **absolute** world pose T (n, 4, 4) beside the graph;
contacts are derived from T with ``contact_from_poses`` (an exact inverse), so structure
toggles never move anything, and moving an object carries its subtree rigidly (the
descendants' contacts, being functions of relative poses, are unchanged).

Prior (spec §3): uniform over forests in which the table is a root (counted by
``n_forests``: 2·(n+2)^(n−1), checked by enumeration; the spec's Cayley count (N+1)^(N−1) also
counts forests in which the table hangs below an object, which this state cannot express);
floating objects uniform in the box B times Haar rotations, −log vol(B) − log π²; contact
edges as in ``contact_logpdf``. Log densities are w.r.t. Lebesgue × hemisphere measure for
floating objects and Lebesgue (x, y, s) × area on S² × length on S¹ for contacts.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes.contact import contact_from_poses, contact_pose, face_extents, opposite
from simlab.scenes.dists import LOG_PI2

__all__ = [
    "TABLE_HALF",
    "GraphPrior",
    "absolute_poses",
    "all_poses",
    "contact_logpdf",
    "contacts_of",
    "descendants",
    "edges_of",
    "enumerate_forests",
    "is_forest",
    "log_forest_prior",
    "log_prior",
    "n_forests",
    "padded_forests",
    "table_pose",
]

#: Half sizes [m] of the table box (0.80 × 0.80 × 0.02 m), top face at z = 0.
TABLE_HALF = (0.4, 0.4, 0.01)


class GraphPrior(NamedTuple):
    """Static prior settings (hashable): vMF κ of the slack direction, slack σ_s [m], and the
    floating box B = (lo, hi) [m] (default: the workspace over the 0.8 m table)."""

    kappa: float = 300.0
    sigma_s: float = 0.005
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]] = (
        (-0.4, -0.4, 0.0),
        (0.4, 0.4, 0.4),
    )


def table_pose(dtype=jnp.float32) -> jax.Array:
    """World pose (4, 4) of the table box (centre 1 cm below z = 0)."""
    return jnp.eye(4, dtype=dtype).at[2, 3].set(-TABLE_HALF[2])


def n_forests(n: int) -> int:
    """Number of forests on {table, 1..n} with the table a root: 2·(n+2)^(n−1) (n ≥ 1).

    (Trees on n + 2 labelled nodes containing the edge super-root–table.)"""
    return 1 if n == 0 else 2 * (n + 2) ** (n - 1)


def log_forest_prior(n: int) -> float:
    return -math.log(n_forests(n))


def is_forest(parents) -> bool:
    """True if ``parents`` (n,) (−1 / 0 / j + 1) has no cycle and no self-parent."""
    p = [int(x) for x in parents]
    n = len(p)
    if not all(-1 <= x <= n and x != i + 1 for i, x in enumerate(p)):  # before following p[j]
        return False
    for i in range(n):
        seen, j = set(), i
        while p[j] > 0:
            if j in seen:
                return False
            seen.add(j)
            j = p[j] - 1
            if len(seen) > n:
                return False
    return True


def enumerate_forests(n: int) -> np.ndarray:
    """All graphs (K, n) int32 with K = ``n_forests(n)``, by filtering (n + 2)^n assignments."""
    out = [p for p in itertools.product(range(-1, n + 1), repeat=n) if is_forest(p)]
    return np.asarray(out, np.int32).reshape(-1, n)


@functools.lru_cache(maxsize=16)
def padded_forests(n: int, n_pad: int) -> tuple[np.ndarray, np.ndarray]:
    """The forests of ``n`` objects laid out for a scene padded to ``n_pad`` objects, in a table
    of fixed shape (``n_forests(n_pad)``, n_pad) so that every n ≤ n_pad shares one compiled
    full-structure move. Returns (forests, valid (K,) bool): rows ``valid`` are the
    ``enumerate_forests(n)`` graphs with the padding objects floating (−1); the filler rows are
    −2 everywhere (they match no state and ``structure_kernel`` never proposes them). Read-only
    (cached)."""
    if not 0 <= n <= n_pad:
        raise ValueError(f"need 0 <= n <= n_pad, got n={n}, n_pad={n_pad}")
    real = enumerate_forests(n)
    K = n_forests(n_pad)
    out = np.full((K, n_pad), -2, np.int32)
    out[: len(real), :n] = real
    out[: len(real), n:] = -1
    valid = np.arange(K) < len(real)
    out.flags.writeable = False
    valid.flags.writeable = False
    return out, valid


def descendants(parents: jax.Array, i) -> jax.Array:
    """Mask (n,) of object i and everything below it (jittable; i may be traced)."""
    n = parents.shape[0]
    mask = jnp.arange(n) == i

    def body(_, m):
        par_in = jnp.where(parents > 0, m[jnp.maximum(parents - 1, 0)], False)
        return m | par_in

    return jax.lax.fori_loop(0, n, body, mask)


def all_poses(T: jax.Array) -> jax.Array:
    """Node poses (n + 1, 4, 4): the table followed by the objects' poses T (n, 4, 4)."""
    return jnp.concatenate([table_pose(T.dtype)[None], T], 0)


def _all_half(half: jax.Array) -> jax.Array:
    return jnp.concatenate([jnp.asarray(TABLE_HALF, half.dtype)[None], half], 0)


def contacts_of(parents, faces, T, half) -> jax.Array:
    """Contacts (n, 7) of every object with its parent at absolute poses T (n, 4, 4) and box
    half sizes ``half`` (n, 3) (rows of floating objects are meaningless)."""
    Tn, hn = all_poses(T), _all_half(half)
    p = jnp.maximum(parents, 0)
    return contact_from_poses(Tn[p], hn[p], faces[:, 0], T, half, faces[:, 1])


def absolute_poses(parents, faces, floating_T, contacts, half) -> jax.Array:
    """Absolute poses (n, 4, 4) from floating poses (n, 4, 4) (used for roots) and contacts
    (n, 7) (used for edges), resolved top-down in n passes (jittable)."""

    def body(_, T):
        Tn, hn = all_poses(T), _all_half(half)
        p = jnp.maximum(parents, 0)
        child = contact_pose(Tn[p], hn[p], faces[:, 0], half, faces[:, 1], contacts)
        return jnp.where((parents < 0)[:, None, None], floating_T, child)

    return jax.lax.fori_loop(0, parents.shape[0], body, floating_T)


def _vmf_down_logpdf(d, kappa: float):
    """vMF on S² about (0, 0, −1) w.r.t. area; uniform (−log 4π) for κ = 0."""
    if kappa <= 0:
        return jnp.full(d.shape[:-1], -math.log(4 * math.pi), d.dtype)
    return (
        math.log(kappa)
        - math.log(2 * math.pi)
        - math.log1p(-math.exp(-2 * kappa))
        - kappa
        - kappa * d[..., 2]
    )


def contact_logpdf(c, face_p, face_c, parent_rest_face, parent_is_table, half_parent, prior):
    """Log density of contacts c (..., 7) with faces (face_p, face_c) (spec §3).

    parent_rest_face: the parent's own child face g when it rests in contact, else −1 (then
    face_p is uniform over 6; otherwise 0.99·[face_p = opposite(g)] + 0.01/6); the table
    supports only on its +z face (face 0). x, y uniform over the parent face, φ uniform, slack
    direction vMF((0, 0, −1), κ), slack offset N(0, σ_s²).
    """
    fp_term = jnp.where(
        parent_rest_face >= 0,
        jnp.log(0.99 * (face_p == opposite(jnp.maximum(parent_rest_face, 0))) + 0.01 / 6),
        -math.log(6),
    )
    fp_term = jnp.where(parent_is_table, jnp.where(face_p == 0, 0.0, -jnp.inf), fp_term)
    ext = face_extents(half_parent, face_p)
    inside = (jnp.abs(c[..., 0]) <= ext[..., 0]) & (jnp.abs(c[..., 1]) <= ext[..., 1])
    xy = jnp.where(inside, -jnp.log(4 * ext[..., 0] * ext[..., 1]), -jnp.inf)
    s = c[..., 2] / prior.sigma_s
    slack = -0.5 * s * s - math.log(prior.sigma_s) - 0.5 * math.log(2 * math.pi)
    d = c[..., 3:6] / jnp.linalg.norm(c[..., 3:6], axis=-1, keepdims=True)
    return (
        fp_term
        - math.log(6)
        + xy
        - math.log(2 * math.pi)
        + _vmf_down_logpdf(d, prior.kappa)
        + slack
    )


def floating_logpdf(T, prior: GraphPrior):
    """−log vol(B) − log π² inside B, −∞ outside, for poses T (..., 4, 4)."""
    lo, hi = np.asarray(prior.bounds[0]), np.asarray(prior.bounds[1])
    t = T[..., :3, 3]
    inside = jnp.all((t >= lo) & (t <= hi), axis=-1)
    return jnp.where(inside, -float(np.sum(np.log(hi - lo))) - LOG_PI2, -jnp.inf)


def object_log_priors(parents, faces, T, half, prior: GraphPrior) -> jax.Array:
    """Per-object prior terms (n,) (floating or contact), without the forest term."""
    c = contacts_of(parents, faces, T, half)
    p = jnp.maximum(parents - 1, 0)
    rest = jnp.where((parents > 0) & (parents[p] >= 0), faces[p, 1], -1)
    hn = _all_half(half)[jnp.maximum(parents, 0)]
    lc = contact_logpdf(c, faces[:, 0], faces[:, 1], rest, parents == 0, hn, prior)
    return jnp.where(parents < 0, floating_logpdf(T, prior), lc)


def log_prior(parents, faces, T, half, prior: GraphPrior) -> jax.Array:
    """log p(graph, poses) (scalar): forest prior + Σ object terms (jittable, vmappable)."""
    return log_forest_prior(parents.shape[0]) + jnp.sum(
        object_log_priors(parents, faces, T, half, prior)
    )


def edges_of(parents) -> np.ndarray:
    """Contact edges (E, 2) of (parent node, child node) (node 0 = table, i + 1 = object i)."""
    p = np.asarray(parents)
    idx = np.flatnonzero(p >= 0)
    return np.stack([p[idx], idx + 1], 1).astype(np.int64).reshape(-1, 2)
