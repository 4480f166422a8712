"""EEVI estimators of entropy and information bounds, as a thin layer over simlab.gen.

For targets Y (a selection of addresses) of a model p, with exact joint draws (y_i, z_i*) ∼ p:

* ``log_marginal_lower[i]`` = log p̂(y_i) from ``algorithm.random_weighted`` on the target
  γ(z) = p(y_i, z) (``Marginal.estimate_logpdf``): K-particle IS / SMC, E[·] ≤ log p(y_i);
* ``log_marginal_upper[i]`` = score(τ_i) − ``algorithm.estimate_logpdf(z_i*)`` (the formula of
  ``Marginal.random_weighted`` on the shared joint trace): IS / cSMC with the exact posterior
  particle z_i* among the K, E[·] ≥ log p(y_i);
* ``entropy_lower`` = −mean(log_marginal_upper) and ``entropy_upper`` = −mean(log_marginal_lower),
  nats, valid **in expectation** (E[entropy_lower] ≤ H(Y) ≤ E[entropy_upper]).

Compositions (spec §3): a term entering with + uses the bound of the same direction, a term
entering with − the opposite one. With shared outer samples the bound is a mean of per-sample
combinations d_i and its SE is sd(d)/√N; with independent samples SE = √Σ SE_term².
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from simlab.gen import ImportanceK, Target, select
from simlab.gen.choicemap import ChoiceMap, Selection
from simlab.gen.gfi import Trace

__all__ = [
    "EntropyBounds",
    "InfoBounds",
    "OuterSamples",
    "combine",
    "conditional_entropy_bounds",
    "entropy_bounds",
    "mutual_information_bounds",
    "outer_samples",
]


def _mean_se(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, np.float64)
    m = float(x.mean())
    if not np.all(np.isfinite(x)):
        return m, float("inf")
    se = float(x.std(ddof=1) / np.sqrt(len(x))) if len(x) > 1 else float("inf")
    return m, se


@dataclass(frozen=True)
class OuterSamples:
    """N exact joint traces (a batched Trace, leading axis N) and log p(background) per trace
    (zeros without background). ``background``: the ChoiceMap of root evidence or None."""

    traces: Trace
    log_p_background: np.ndarray
    background: ChoiceMap | None = None

    @property
    def N(self) -> int:
        return int(np.shape(self.traces.score)[0])


@dataclass(frozen=True)
class EntropyBounds:
    """Bounds on H(Y) in nats (E[entropy_lower] ≤ H(Y) ≤ E[entropy_upper]).

    ``log_marginal_lower`` / ``log_marginal_upper``: (N,) per-sample bounds on log p(y_i) (or
    log p(y_i | background)); E[·] ≤ / ≥ log p(y_i). ``n_neg_inf``: samples whose lower bound is
    −inf (all K weights zero: the entropy upper bound is then vacuous, +inf; never dropped).
    """

    entropy_lower: float
    entropy_upper: float
    se_lower: float
    se_upper: float
    log_marginal_lower: np.ndarray
    log_marginal_upper: np.ndarray
    n_neg_inf: int
    K: int
    N: int
    M: int
    method: str
    runtime_s: float
    compile_s: float
    targets: tuple = ()

    @classmethod
    def from_samples(cls, lower, upper, **meta) -> EntropyBounds:
        """From per-sample log-marginal bounds (N,) or (N, M) for the lower one."""
        lower = np.asarray(lower, np.float64)
        upper = np.asarray(upper, np.float64)
        n_inf = int(np.sum(np.isneginf(lower)))
        if lower.ndim == 2:  # M inner repetitions per outer sample
            lower = lower.mean(axis=1)
        h_up, se_up = _mean_se(-lower)
        h_lo, se_lo = _mean_se(-upper)
        return cls(h_lo, h_up, se_lo, se_up, lower, upper, n_inf, **meta)

    @property
    def width(self) -> float:
        return self.entropy_upper - self.entropy_lower


@dataclass(frozen=True)
class InfoBounds:
    """Bounds on a composed quantity (conditional entropy or (conditional) mutual information),
    nats: E[lower] ≤ value ≤ E[upper]. ``terms``: (sign, name, EntropyBounds | exact float).
    ``lower_samples`` / ``upper_samples``: per-sample combinations d_i when outer samples are
    shared (else None)."""

    lower: float
    upper: float
    se_lower: float
    se_upper: float
    shared: bool
    terms: tuple = ()
    lower_samples: np.ndarray | None = field(default=None, repr=False)
    upper_samples: np.ndarray | None = field(default=None, repr=False)

    @property
    def mid(self) -> float:
        return 0.5 * (self.lower + self.upper)


def combine(terms: Sequence[tuple[int, str, EntropyBounds | float]], shared: bool) -> InfoBounds:
    """Σ sign·H(term) with each term's bound chosen so the result stays a valid bound.

    ``terms``: (sign ∈ {+1, −1}, name, EntropyBounds or an exactly known entropy in nats).
    Lower bound: + terms use entropy_lower (−log_marginal_upper), − terms use entropy_upper
    (−log_marginal_lower); the upper bound the reverse. Exact terms enter both unchanged.
    """
    lo_parts, up_parts, const = [], [], 0.0
    for sign, _, t in terms:
        if sign not in (1, -1):
            raise ValueError(f"sign must be +1 or -1, got {sign}")
        if isinstance(t, EntropyBounds):
            h_lo_i, h_up_i = -t.log_marginal_upper, -t.log_marginal_lower
            lo_parts.append(sign * (h_lo_i if sign > 0 else h_up_i))
            up_parts.append(sign * (h_up_i if sign > 0 else h_lo_i))
        else:
            const += sign * float(t)
    if shared and lo_parts:
        n = {len(p) for p in lo_parts}
        if len(n) != 1:
            raise ValueError("shared outer samples need equal N for every term")
        d_lo = np.sum(lo_parts, axis=0) + const
        d_up = np.sum(up_parts, axis=0) + const
        lo, se_lo = _mean_se(d_lo)
        up, se_up = _mean_se(d_up)
        return InfoBounds(lo, up, se_lo, se_up, True, tuple(terms), d_lo, d_up)
    los = [_mean_se(p) for p in lo_parts]
    ups = [_mean_se(p) for p in up_parts]
    lo = const + sum(m for m, _ in los)
    up = const + sum(m for m, _ in ups)
    se_lo = float(np.sqrt(sum(s**2 for _, s in los)))
    se_up = float(np.sqrt(sum(s**2 for _, s in ups)))
    return InfoBounds(lo, up, se_lo, se_up, False, tuple(terms))


@functools.partial(jax.jit, static_argnums=0)
def _simulate_batch(model, keys, args):
    """vmap of model.simulate over keys (jit cached per model)."""
    return jax.vmap(lambda k: model.simulate(k, args))(keys)


def outer_samples(key, model, args=(), N: int = 100, background: ChoiceMap | None = None):
    """N exact joint traces τ_i ∼ p(·; args) (or p(· | background)), vmapped and jitted.

    ``background``: evidence on exogenous roots only. Then ``generate`` gives exact draws from
    p(· | c) and log p(c) = project(τ, c) must be the same for every trace; a differing value
    means the evidence is not on roots, which raises NotImplementedError (exact outer samples
    would need exact inference).
    """
    args = tuple(args)
    keys = jax.random.split(key, N)
    if background is None:
        traces = _simulate_batch(model, keys, args)
        return OuterSamples(traces, np.zeros(N))
    bn_roots = getattr(getattr(model, "bn", None), "parents", None)
    if bn_roots is not None:
        bad = [a for a in background.addresses() if bn_roots.get(a[0])]
        if bad:
            raise NotImplementedError(
                f"background evidence on non-root nodes {bad[:4]}: exact outer samples would "
                "need exact inference"
            )
    traces, log_c = jax.jit(jax.vmap(lambda k: model.generate(k, background, args)))(keys)
    log_c = np.asarray(log_c, np.float64)
    if np.ptp(log_c) > 1e-9 * max(1.0, np.abs(log_c).max()):
        raise NotImplementedError(
            "background evidence is not on exogenous roots (log p(background) differs between "
            "traces): exact outer samples would need exact inference"
        )
    return OuterSamples(traces, log_c, background)


def _algorithm(method: str, K: int, proposal, smc_kw: Mapping | None):
    if method == "is":
        return ImportanceK(proposal, K)
    if method == "smc":
        from simlab.gen.smc import SMCAlgorithm  # lands with simlab.gen's SMC

        kw = dict(smc_kw or {})
        model = kw.pop("model")
        return SMCAlgorithm(model, K, proposal=proposal, **kw)
    raise ValueError(f"method must be 'is' or 'smc', got {method!r}")


_FN_CACHE: dict = {}


def _per_sample_fn(model, sel: Selection, algorithm, M: int, cache_key=None):
    """jit(vmap) of one outer trace -> (lower (M,), upper ()) bounds on log p(y ∪ c).

    Model arguments are a (non-batched) argument of the compiled function, so one compilation
    serves every replicate. Cached by ``cache_key`` when given."""
    if cache_key is not None and cache_key in _FN_CACHE:
        return _FN_CACHE[cache_key]

    def one(key, trace, args):
        y = trace.choices.filter(sel)
        z = trace.choices.filter(~sel)
        target = Target(model, args, y)
        k_up, k_lo = jax.random.split(key)
        # Marginal.random_weighted's formula on the shared trace: E[·] ≥ log p(y).
        upper = trace.score - algorithm.estimate_logpdf(k_up, z, target)

        def lower_one(k):  # Marginal.estimate_logpdf: E[exp(·)] = p(y), so E[·] ≤ log p(y)
            zz, log_q = algorithm.random_weighted(k, target)
            log_g = target.log_density(zz)
            # all K weights zero: log_g = −inf and log_q is nan; the estimate is −inf
            return jnp.where(jnp.isneginf(log_g), -jnp.inf, log_g - log_q)

        lower = jax.vmap(lower_one)(jax.random.split(k_lo, M))
        return lower, upper

    fn = jax.jit(jax.vmap(one, in_axes=(0, 0, None)))
    if cache_key is not None:
        _FN_CACHE[cache_key] = fn
    return fn


def entropy_bounds(
    key,
    model,
    args=(),
    targets=(),
    *,
    N: int = 100,
    K: int = 100,
    M: int = 1,
    method: str = "is",
    proposal=None,
    outer: OuterSamples | None = None,
    background: ChoiceMap | None = None,
    smc_kw: Mapping | None = None,
    compiler_options: Mapping | None = None,
) -> EntropyBounds:
    """Bounds on H(Y) (nats) for the addresses ``targets`` of ``model(*args)``.

    method "is": ``ImportanceK(proposal, K)`` (proposal None = likelihood weighting; a GF or SP
    over z called with ``(target,)``); "smc": ``SMCAlgorithm`` with K particles (``smc_kw``
    holds ``model`` = the SequentialModel and its options). ``outer``: shared joint traces
    (drawn here if None). ``background``: root evidence c; the bounds are then on
    H(Y | c) via log p(y, c) − log p(c). M: inner IS repetitions of the lower bound on log p
    (the upper one always uses the single exact particle, M = 1). ``compiler_options``: XLA
    options for the one compilation (tests use -O0: {"xla_backend_optimization_level": 0}).
    Guarantees (in expectation): E[entropy_lower] ≤ H(Y) ≤ E[entropy_upper].
    """
    args = tuple(args)
    k_out, k_in = jax.random.split(key)
    if outer is None:
        outer = outer_samples(k_out, model, args, N, background)
    N = outer.N
    bg_addrs = () if outer.background is None else outer.background.addresses()
    if isinstance(targets, Selection):
        sel = targets | select(*bg_addrs) if bg_addrs else targets
    else:
        sel = select(*targets, *bg_addrs)
    algorithm = _algorithm(method, K, proposal, smc_kw)
    bg = None if outer.background is None else outer.background.addresses()
    sel_key = tuple(sel.prefixes) if hasattr(sel, "prefixes") else sel
    ck = (model, sel_key, method, K, proposal, M, bg, repr(sorted((smc_kw or {}).items())))
    fn = _per_sample_fn(model, sel, algorithm, M, ck)
    keys = jax.random.split(k_in, N)
    opts = dict(compiler_options or {}) or None
    t0 = time.perf_counter()
    ck2 = (ck, jax.tree_util.tree_structure((keys, outer.traces, args)),
           tuple((x.shape, x.dtype) for x in jax.tree_util.tree_leaves((keys, outer.traces, args))),
           repr(opts))  # fmt: skip
    if ck2 not in _FN_CACHE:
        _FN_CACHE[ck2] = fn.lower(keys, outer.traces, args).compile(opts)
    compiled = _FN_CACHE[ck2]
    t1 = time.perf_counter()
    lower, upper = jax.block_until_ready(compiled(keys, outer.traces, args))
    t2 = time.perf_counter()
    c = outer.log_p_background
    lower = np.asarray(lower, np.float64) - c[:, None]
    upper = np.asarray(upper, np.float64) - c
    names = tuple(sel.prefixes) if hasattr(sel, "prefixes") else (repr(sel),)
    return EntropyBounds.from_samples(
        lower,
        upper,
        K=K,
        N=N,
        M=M,
        method=method,
        runtime_s=t2 - t1,
        compile_s=t1 - t0,
        targets=names,
    )


def _terms_bounds(key, model, args, specs, shared, N, outer, background, kw):
    """EntropyBounds for each (sign, name, addresses) spec; empty addresses give exactly 0."""
    k_out, *ks = jax.random.split(key, len(specs) + 1)
    if shared and outer is None:
        outer = outer_samples(k_out, model, tuple(args), N, background)
    out = []
    for k, (sign, name, addrs) in zip(ks, specs):
        if isinstance(addrs, int | float):
            out.append((sign, name, float(addrs)))
            continue
        if not addrs:
            out.append((sign, name, 0.0))
            continue
        eb = entropy_bounds(
            k, model, args, addrs, N=N, outer=outer if shared else None,
            background=background, **kw,
        )  # fmt: skip
        out.append((sign, name, eb))
    return out


def conditional_entropy_bounds(
    key, model, args, X, given, *, N=100, shared=True, outer=None, background=None, **kw
) -> InfoBounds:
    """Bounds on H(X | given) = H(X, given) − H(given), nats (E[lower] ≤ H ≤ E[upper])."""
    X, given = tuple(X), tuple(given)
    specs = [(1, "H(X,G)", X + given), (-1, "H(G)", given)]
    terms = _terms_bounds(key, model, args, specs, shared, N, outer, background, kw)
    return combine(terms, shared)


def mutual_information_bounds(
    key,
    model,
    args,
    X,
    Y,
    given=None,
    exact_terms: Mapping[str, float] | None = None,
    *,
    N=100,
    shared=True,
    outer=None,
    background=None,
    **kw: Any,
) -> InfoBounds:
    """Bounds on I(X; Y | given) = H(XZ) + H(YZ) − H(XYZ) − H(Z), nats (Z = ``given``, may be
    empty: then I(X;Y) = H(X) + H(Y) − H(XY)). ``exact_terms`` maps any of the term names
    "H(XZ)", "H(YZ)", "H(XYZ)", "H(Z)" to a known value used in both bounds (e.g. H(ins_sens)
    = log 5). Returns ``mi_lower``/``mi_upper`` as ``lower``/``upper`` of an InfoBounds.
    """
    X, Y, Z = tuple(X), tuple(Y), tuple(given or ())
    exact = dict(exact_terms or {})
    specs = [
        (1, "H(XZ)", X + Z),
        (1, "H(YZ)", Y + Z),
        (-1, "H(XYZ)", X + Y + Z),
        (-1, "H(Z)", Z),
    ]
    specs = [(s, n, exact.get(n, a)) for s, n, a in specs]
    terms = _terms_bounds(key, model, args, specs, shared, N, outer, background, kw)
    return combine(terms, shared)
