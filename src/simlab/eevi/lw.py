"""Likelihood-weighting EEVI bounds for Bayesian networks, batched over many target sets.

The same estimators as :mod:`simlab.eevi.estimators` with ``ImportanceK(None, K)`` (the
internal proposal = likelihood weighting), specialised to :class:`~simlab.eevi.bn.CompiledBN`
so that the target set is a *runtime* boolean mask: one compiled program serves every term of
a ranking (HEPAR II: 5 diseases × 36 tests × 2 terms) instead of one compilation per term.

For outer sample i (a full joint assignment x_i) and target mask m, with K fresh particles
z_k ∼ q_int(· ; y_i) (ancestral sampling with the targets fixed), w_k = Σ_{a ∈ m} log p(x_a | pa):

* ``log_marginal_lower`` = logmeanexp(w_1..w_K)               E[·] ≤ log p(y_i);
* ``log_marginal_upper`` = logmeanexp(w*, w_2..w_K)           E[·] ≥ log p(y_i),

where w* = Σ_{a ∈ m} log p(x_{i,a} | pa) is the exact particle's weight (``project``). The two
estimates share the particles 2..K (each is valid on its own; sharing halves the work and
makes their difference less noisy). Background evidence c (on roots) is a second mask: its
nodes are fixed in every particle and log p(c) is subtracted.

Why the default does not route through gen (``bench/eevi/bench_lw_vs_gen.py``, HEPAR II,
N = K = 100, measured under load): the generic path (``entropy_bounds`` with
``ImportanceK(None, K)``) fixes the target selection at trace time, so the ranking would compile
370 programs (≈ 14 s each) instead of one, and ran 1.9× slower per term. ``engine="gen"`` takes
the fresh particles from gen's ``importance`` with ``Masked`` constraints on every node (runtime
masks, one compilation, the same estimator): its run time equalled the direct version's
(0.43 s vs 0.46 s for 8 terms; an earlier, more loaded run gave 2.2× slower) but it compiled 2×
slower (10 s vs 5 s), which the test budget and the demo feel, so "direct" stays the default.
``tests/eevi/test_lw.py`` checks both engines and the generic path against each other.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from simlab.core.errors import DataError
from simlab.eevi.bn import CompiledBN, log_factors, sample
from simlab.eevi.estimators import EntropyBounds
from simlab.gen.logmath import logmeanexp

__all__ = ["bn_entropy_bounds", "bn_outer_samples", "lw_log_marginal_bounds"]


@functools.partial(jax.jit, static_argnums=(0, 2))
def _outer(bn: CompiledBN, key, n: int, bg_mask, bg_vals):
    fixed = jnp.broadcast_to(bg_vals, (n, bn.n))
    return sample(bn, key, bg_mask, fixed)


def bn_outer_samples(bn: CompiledBN, key, N: int, background: dict | None = None):
    """(vals (N, n) int32, log p(background) (N,)): exact joint draws, given root evidence.

    ``background``: {node name: state index} on root nodes only (NotImplementedError
    otherwise: exact draws given non-root evidence would need exact inference)."""
    mask, vals = _background(bn, background)
    out = _outer(bn, key, N, jnp.asarray(mask), jnp.asarray(vals))
    lf = log_factors(bn, out)
    log_c = jnp.sum(jnp.where(jnp.asarray(mask), lf, 0.0), axis=-1)
    return out, np.asarray(log_c, np.float64)


def _background(bn: CompiledBN, background: dict | None):
    mask = np.zeros(bn.n, bool)
    vals = np.zeros(bn.n, np.int32)
    for v, s in (background or {}).items():
        if v not in bn.index:
            raise DataError(f"{bn.source or 'network'}: background names unknown node {v!r}")
        if bn.parents[v]:
            raise NotImplementedError(
                f"background evidence on non-root node {v!r}: exact outer samples would need "
                "exact inference"
            )
        i = bn.index[v]
        mask[i] = True
        vals[i] = s
    return mask, vals


def _gen_weights(bn: CompiledBN, key, outer_vals, m, K: int):
    """(N, K) likelihood weights from gen's ``importance`` on the BayesNet GF, the target mask m
    (n,) given as ``Masked`` constraints on every node (so it stays a runtime value)."""
    from simlab.eevi.bn import BayesNet
    from simlab.gen import ChoiceMap, Masked, importance

    model = BayesNet(bn)

    def one(k, x):
        cons = ChoiceMap({v: Masked(x[i], m[i]) for i, v in enumerate(bn.names)})
        return importance(k, model, (), cons, K).log_weights

    return jax.vmap(one)(jax.random.split(key, outer_vals.shape[0]), outer_vals)


@functools.partial(jax.jit, static_argnums=(0, 4), static_argnames=("engine",))
def lw_log_marginal_bounds(
    bn: CompiledBN, key, outer_vals, masks, K: int, bg_mask=None, engine: str = "direct"
):
    """Per-sample bounds on log p(y_i ∪ c) for every target mask.

    outer_vals: (N, n) int32 joint draws. masks: (T, n) bool target sets (may include the
    background nodes; they are added anyway). K ≥ 1 particles. Returns (lower, upper), each
    (T, N) float: E[lower] ≤ log p(y ∪ c) ≤ E[upper]. Terms run one after another
    (``lax.map``), particles of one term are one (N·K, n) batch. ``engine``: "direct" (batched
    ancestral sampling here) or "gen" (the fresh particles from ``simlab.gen.importance``;
    the same estimator, see the module docstring for the measured costs).
    """
    if engine not in ("direct", "gen"):
        raise ValueError(f"engine must be 'direct' or 'gen', got {engine!r}")
    n_out = outer_vals.shape[0]
    bg = jnp.zeros(bn.n, bool) if bg_mask is None else bg_mask
    rep = jnp.repeat(outer_vals, K, axis=0)  # (N·K, n): particle k of sample i at i·K + k
    lf_outer = log_factors(bn, outer_vals)

    def term(args):
        k, m = args
        m = m | bg
        if engine == "gen":
            w = _gen_weights(bn, k, outer_vals, m, K)
        else:
            parts = sample(bn, k, m, rep)
            w = jnp.sum(jnp.where(m, log_factors(bn, parts), 0.0), axis=-1).reshape(n_out, K)
        w_star = jnp.sum(jnp.where(m, lf_outer, 0.0), axis=-1)
        lower = logmeanexp(w, axis=-1)
        upper = logmeanexp(jnp.concatenate([w_star[:, None], w[:, 1:]], axis=1), axis=-1)
        return lower, upper

    keys = jax.random.split(key, masks.shape[0])
    return jax.lax.map(term, (keys, masks))


CHUNK = 8  # target masks per compiled call (a fixed shape, so one compilation serves all)
_CACHE: dict = {}


def _compiled(bn: CompiledBN, outer_shape, K: int, chunk: int, options=None, engine="direct"):
    """The AOT-compiled lw_log_marginal_bounds for (bn, outer shape, K, chunk), cached."""
    opts = tuple(sorted((options or {}).items()))
    key = (bn, tuple(outer_shape), K, chunk, jnp.result_type(float), opts, engine)
    if key not in _CACHE:
        spec = jax.ShapeDtypeStruct
        _CACHE[key] = lw_log_marginal_bounds.lower(
            bn,
            jax.random.key(0),
            spec(tuple(outer_shape), jnp.int32),
            spec((chunk, bn.n), jnp.bool_),
            K,
            spec((bn.n,), jnp.bool_),
            engine=engine,
        ).compile(dict(opts) or None)
    return _CACHE[key]


def bn_entropy_bounds(
    bn: CompiledBN,
    key,
    outer_vals,
    targets: list,
    K: int,
    log_p_background=None,
    background: dict | None = None,
    compiler_options: dict | None = None,
    outer_chunk: int | None = None,
    engine: str = "direct",
) -> list[EntropyBounds]:
    """EntropyBounds (nats) for each target set (a list of node-name lists), all on the same
    outer samples (shared: compose them with :func:`simlab.eevi.estimators.combine`).

    An empty target set gives exactly H = 0 (both bounds). ``background`` + its per-sample
    ``log_p_background`` turn the bounds into bounds on H(Y | c). ``compiler_options``: XLA
    options of the (cached) compilation. ``outer_chunk``: at most this many outer samples per
    compiled call (memory is O(chunk · K · n)); the last chunk is padded to the same shape.
    ``engine``: "direct" or "gen" (see :func:`lw_log_marginal_bounds`).
    """
    outer_vals = jnp.asarray(outer_vals, jnp.int32)
    n = outer_vals.shape[0]
    if outer_chunk is not None and n > outer_chunk:
        keys = jax.random.split(key, -(-n // outer_chunk))
        parts = []
        for j, k in enumerate(keys):
            rows = outer_vals[j * outer_chunk : (j + 1) * outer_chunk]
            pad = outer_chunk - rows.shape[0]  # fixed shape: one compilation for every chunk
            rows = jnp.concatenate([rows, outer_vals[:pad]]) if pad else rows
            parts.append(bn_entropy_bounds(bn, k, rows, targets, K, None, background,
                                           compiler_options, engine=engine))  # fmt: skip
        c = np.zeros(n) if log_p_background is None else np.asarray(log_p_background, np.float64)
        out = []
        for i, t in enumerate(targets):
            lo = np.concatenate([p[i].log_marginal_lower for p in parts])[:n] - c
            up = np.concatenate([p[i].log_marginal_upper for p in parts])[:n] - c
            if not t:  # H of the empty set is exactly 0, with or without a background
                lo, up = np.zeros(n), np.zeros(n)
            meta = {"K": K, "N": n, "M": 1, "method": "lw", "targets": tuple(t)}
            out.append(EntropyBounds.from_samples(
                lo, up, runtime_s=sum(p[i].runtime_s for p in parts),
                compile_s=parts[0][i].compile_s, **meta))  # fmt: skip
        return out
    masks = np.stack([bn.mask(t) for t in targets]) if targets else np.zeros((0, bn.n), bool)
    bg_mask = jnp.asarray(_background(bn, background)[0])
    chunk = max(1, min(CHUNK, len(targets)))
    n_chunks = -(-len(targets) // chunk)
    padded = np.zeros((n_chunks * chunk, bn.n), bool)
    padded[: len(targets)] = masks
    t0 = time.perf_counter()
    fn = _compiled(bn, outer_vals.shape, K, chunk, compiler_options, engine)
    t1 = time.perf_counter()
    lows, ups = [], []
    for j, k in enumerate(jax.random.split(key, n_chunks)):
        lo, up = fn(k, outer_vals, jnp.asarray(padded[j * chunk : (j + 1) * chunk]), bg_mask)
        lows.append(lo)
        ups.append(up)
    lower, upper = jax.block_until_ready((jnp.concatenate(lows), jnp.concatenate(ups)))
    t2 = time.perf_counter()
    c = np.zeros(n) if log_p_background is None else np.asarray(log_p_background, np.float64)
    out = []
    per = (t2 - t1) / max(1, len(targets))
    for j, t in enumerate(targets):
        lo = np.asarray(lower[j], np.float64) - c
        up = np.asarray(upper[j], np.float64) - c
        if not t:
            lo, up = np.zeros(n), np.zeros(n)
        out.append(
            EntropyBounds.from_samples(
                lo,
                up,
                K=K,
                N=n,
                M=1,
                method="lw",
                runtime_s=per,
                compile_s=t1 - t0,
                targets=tuple(t),
            )
        )
    return out
