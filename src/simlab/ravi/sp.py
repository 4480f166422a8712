"""RAVI's core: proposals with auxiliary variables as stochastic probabilities (gen.md §5).

A :class:`RaviProposal` couples a proposal q(x, u) that is easy to sample and evaluate with a
*meta-inference* algorithm that approximates q(u | x): a :class:`SequentialMeta` (an SMC over
the components of u given x, one component per step, K particles). Its two SP methods are

* ``estimate_logpdf(key, x)``: SMC meta-inference; ``log q̂`` with E[exp(log q̂)] = q(x);
* ``random_weighted(key)``: (x, u*) ∼ q(x, u), then conditional SMC that keeps u* in the last
  particle slot; E[exp(−log q̂) | x] = 1/q(x).

(Meta-inference is SMC for the meta-target γ(u) = q(x, u), whose normaliser is q(x): the SMC
estimate of a normaliser is unbiased, the cSMC one is reciprocal-unbiased.) With K = 1 and no
resampling, log q̂ = log q(x, u) − log r(u; x). By Jensen E[log q̂ | x] ≥ log q(x), so

    ELBO_RAVI = E[log π̃(x) − log q̂(x)] ≤ ELBO(q) ≤ log Z.

:func:`importance` and :func:`elbo` use a RaviProposal inside IS and VI with the pairing rule
(produced values use ``random_weighted``). Instances: MCVI / RAVI-MCVI (``simlab.ravi.mcvi``,
u = the Langevin trajectory, meta = backward SMC with learned reverse kernels), AMC
(``simlab.ravi.amc``, u = the merge order; NumPy because its structure is data-dependent), and
SIR used as a proposal (u = the other particles and the chosen index; ``simlab.gen.SIR``).

Everything here is a pure JAX function of (key, values); RaviProposal methods jit and vmap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp

from simlab.gen import logmath
from simlab.gen.pytree import pytree_dataclass
from simlab.gen.resampling import multinomial
from simlab.gen.sp import SPDistribution

__all__ = ["RaviProposal", "SequentialMeta", "Weighted", "elbo", "importance", "smc_meta"]


@dataclass(frozen=True)
class SequentialMeta:
    """A sequential meta-inference proposal over u = (u_1, …, u_T) given x.

    * ``init(x, *args) -> (carry, log_w0)``: initial state and log-weight (often the log of an
      intermediate target at x; it cancels in the telescoping product);
    * ``propose(key, carry, s, x, *args) -> u_s``: draw component s (s = 0..T−1);
    * ``extend(carry, s, u_s, x, *args) -> (carry', log_incr)``: absorb a given component and
      return its incremental log-weight;
    * ``n_steps(x, *args) -> T`` (int or a traced int32 scalar: loops are ``fori_loop``).

    Contract: along any sequence, log_w0 + Σ_s log_incr = log q(x, u) − log r(u; x), where r is
    the product of ``propose`` densities. Intermediate partial sums define the SMC's
    intermediate targets; any choice is valid, good ones reduce variance.
    """

    init: Callable[..., tuple[Any, Any]]
    propose: Callable[..., Any]
    extend: Callable[..., tuple[Any, Any]]
    n_steps: Callable[..., Any]


def smc_meta(key, meta: SequentialMeta, x, K: int, ess_threshold: float, args=(), retained=None):
    """Run meta-SMC with K particles; return log q̂(x) (nats, scalar).

    ``retained``: None (SMC: E[exp(log q̂)] = q(x)) or u* stacked along a leading step axis of
    length ≥ T, an exact draw from q(u | x) (cSMC: E[exp(−log q̂) | x] = 1/q(x)); it occupies
    slot K−1. Multinomial resampling when ESS < ess_threshold·K (0: never); the retained slot
    keeps its own ancestor and all weights reset to 0 after resampling.
    """
    carry0, log_w0 = meta.init(x, *args)
    carry = jax.tree_util.tree_map(lambda a: jnp.broadcast_to(a, (K, *jnp.shape(a))), carry0)
    log_w = jnp.full((K,), log_w0, dtype=jnp.result_type(float))
    T = meta.n_steps(x, *args)

    def body(s, state):
        key, carry, log_w, log_z = state
        key, k_prop, k_res = jax.random.split(key, 3)
        u = jax.vmap(lambda k, c: meta.propose(k, c, s, x, *args))(
            jax.random.split(k_prop, K), carry
        )
        if retained is not None:
            u_star = jax.tree_util.tree_map(lambda a: a[s], retained)
            u = jax.tree_util.tree_map(lambda a, b: a.at[K - 1].set(b), u, u_star)
        new, incr = jax.vmap(lambda c, us: meta.extend(c, s, us, x, *args))(carry, u)
        carry = jax.tree_util.tree_map(lambda a, b: b.astype(a.dtype), carry, new)
        log_w = log_w + incr.astype(log_w.dtype)
        # Resample between steps (never after the last: the final weights are averaged).
        do = (logmath.ess(log_w) < ess_threshold * K) & (s < T - 1)
        anc = multinomial(k_res, log_w, K)
        if retained is not None:
            anc = anc.at[K - 1].set(K - 1)
        anc = jnp.where(do, anc, jnp.arange(K))
        carry = jax.tree_util.tree_map(lambda a: a[anc], carry)
        log_z = log_z + jnp.where(do, logmath.logmeanexp(log_w), 0.0)
        log_w = jnp.where(do, jnp.zeros_like(log_w), log_w)
        return key, carry, log_w, log_z

    state = (key, carry, log_w, jnp.zeros((), log_w.dtype))
    _, _, log_w, log_z = jax.lax.fori_loop(0, T, body, state)
    return log_z + logmath.logmeanexp(log_w)


class RaviProposal(SPDistribution):
    """A proposal with auxiliary variables plus meta-inference, as an SP over x.

    ``sample_joint(key, *args) -> (x, u, log_q_xu)``: (x, u) ∼ q, u stacked along a leading
    step axis in meta-inference order; ``meta``: SequentialMeta over u given x; ``K``
    meta-particles; ``ess_threshold``: resampling fraction of K (0: never resample).
    """

    def __init__(self, sample_joint, meta: SequentialMeta, K: int = 1, ess_threshold=0.0):
        self.sample_joint = sample_joint
        self.meta = meta
        self.K = int(K)
        self.ess_threshold = ess_threshold
        self.name = f"RaviProposal(K={self.K})"

    def random_weighted(self, key, *args):
        """(x, log q̂): x ∼ q and E[exp(−log q̂) | x] = 1/q(x) (cSMC retaining the true u)."""
        k1, k2 = jax.random.split(key)
        x, u, _ = self.sample_joint(k1, *args)
        return x, smc_meta(k2, self.meta, x, self.K, self.ess_threshold, args, retained=u)

    def estimate_logpdf(self, key, x, *args):
        """log q̂(x) with E[exp(log q̂)] = q(x) (SMC meta-inference)."""
        return smc_meta(key, self.meta, x, self.K, self.ess_threshold, args)


@pytree_dataclass
class Weighted:
    """``x``: [N, ...] proposals; ``log_weights``: [N] log π̃(x) − log q̂(x); ``log_z_hat``:
    logmeanexp of the weights (E[exp] = Z, so E[log_z_hat] ≤ log Z); ``n_neg_inf``: count of
    −inf weights (reported, never dropped)."""

    x: Any
    log_weights: Any
    log_z_hat: Any
    n_neg_inf: Any


def importance(key, log_target: Callable, proposal, N: int, args=()) -> Weighted:
    """IS with an SP proposal: x_i ∼ q with reciprocal-unbiased log q̂_i (``random_weighted``),
    w_i = log π̃(x_i) − log q̂_i. Then E[exp(w_i)] = Z for every i (RAVI's IS rule)."""
    x, log_q = jax.vmap(lambda k: proposal.random_weighted(k, *args))(jax.random.split(key, N))
    log_w = jax.vmap(log_target)(x) - log_q
    return Weighted(x, log_w, logmath.logmeanexp(log_w), jnp.sum(jnp.isneginf(log_w)))


def elbo(key, log_target: Callable, proposal, n: int, args=()):
    """(elbo, log_z_hat) from n independent weights w = log π̃(x) − log q̂(x).

    elbo = mean(w): E[elbo] = ELBO_RAVI ≤ ELBO(q) ≤ log Z. log_z_hat = logmeanexp(w):
    E[exp(log_z_hat)] = Z.
    """
    res = importance(key, log_target, proposal, n, args)
    return jnp.mean(res.log_weights), res.log_z_hat
