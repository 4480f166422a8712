"""Stochastic probabilities (GenSP / RAVI): objects with estimated densities.

An SP over values v has

* ``random_weighted(key, *args) -> (v, log_w)``: v ∼ p and E[exp(−log_w) | v] = 1/p(v)
  (the *reciprocal* of exp(log_w) is an unbiased estimate of 1/p(v));
* ``estimate_logpdf(key, v, *args) -> log_w``: E[exp(log_w)] = p(v) (unbiased density).

Every generative function is an exact SP over its ChoiceMap (log_w = score) and every
distribution over its value. Algorithms (:class:`ImportanceK`, ``SMCAlgorithm``) are SPs over
the latents z of a :class:`Target` passed as the call argument. Pairing rule: values an inner
SP *produced* take their weight from its ``random_weighted``; values it was *given* take it from
its ``estimate_logpdf`` - so estimators nest to any depth.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlab.gen import logmath, rng
from simlab.gen.choicemap import ChoiceMap, Selection, select
from simlab.gen.gfi import GenerativeFunction

__all__ = [
    "SIR",
    "ChoiceMapDistribution",
    "ImportanceK",
    "Marginal",
    "SPDistribution",
    "Target",
    "estimate_logpdf",
    "random_weighted",
]


class SPDistribution:
    """Base class of SP objects (see module docstring for the two guarantees)."""

    name = "sp"

    def random_weighted(self, key, *args):
        """``(v, log_w)`` with v ∼ p and E[exp(−log_w) | v] = 1/p(v)."""
        raise NotImplementedError

    def estimate_logpdf(self, key, v, *args):
        """``log_w`` with E[exp(log_w)] = p(v)."""
        raise NotImplementedError


def random_weighted(sp, key, *args):
    """``sp.random_weighted`` for an SP, or the exact (propose) pair for a GF / distribution.

    Returns ``(v, log_w)``: a ChoiceMap for @gen functions, the value for distributions."""
    if isinstance(sp, GenerativeFunction):
        k = key if sp.accepts_particle_keys else rng.raw(key)
        choices, log_p, retval = sp.propose(k, args)
        return (retval if _is_dist(sp) else choices), log_p
    return sp.random_weighted(key, *args)


def estimate_logpdf(sp, key, v, *args):
    """``sp.estimate_logpdf``, or the exact log-density (assess) for a GF / distribution."""
    if isinstance(sp, GenerativeFunction):
        if _is_dist(sp):
            return jnp.sum(sp.logpdf(v, *args))
        return sp.assess(v, args)[0]
    return sp.estimate_logpdf(key, v, *args)


def _is_dist(gf) -> bool:
    from simlab.gen.distributions import Distribution

    return isinstance(gf, Distribution)


class ChoiceMapDistribution(SPDistribution):
    """The exact SP over the full ChoiceMap of ``gen_fn``: log_w = score (zero variance)."""

    def __init__(self, gen_fn: GenerativeFunction):
        self.gen_fn = gen_fn
        self.name = f"ChoiceMapDistribution({gen_fn.name})"

    def random_weighted(self, key, *args):
        """``(choices, score)``: τ ∼ p(·; args), log_w = log p(τ; args) exactly."""
        k = key if self.gen_fn.accepts_particle_keys else rng.raw(key)
        choices, log_p, _ = self.gen_fn.propose(k, args)
        return choices, log_p

    def estimate_logpdf(self, key, v, *args):
        """log p(v; args) exactly (``assess``)."""
        return self.gen_fn.assess(v, args)[0]


@jax.tree_util.register_pytree_node_class
class Target:
    """The unnormalised density γ(z) = p(z ∪ y; x) over the unconstrained choices z.

    ``gen_fn`` (static), ``args`` (tuple, x), ``constraints`` (ChoiceMap, y). Z = p(y; x).
    A pytree, so it can be an argument of jitted functions and of proposals.
    """

    def __init__(self, gen_fn: GenerativeFunction, args, constraints: ChoiceMap):
        self.gen_fn = gen_fn
        self.args = tuple(args)
        self.constraints = constraints

    def tree_flatten(self):
        return (self.args, self.constraints), self.gen_fn

    @classmethod
    def tree_unflatten(cls, gen_fn, children):
        return cls(gen_fn, *children)

    def log_density(self, z: ChoiceMap):
        """log γ(z) = log p(z ∪ y; x) (scalar; via ``assess``, so z must be complete)."""
        return self.gen_fn.assess(z | self.constraints, self.args)[0]

    def generate(self, key, z: ChoiceMap | None = None):
        """``(trace, log_w)`` of ``gen_fn.generate`` with constraints z ∪ y."""
        c = self.constraints if z is None else z | self.constraints
        k = key if self.gen_fn.accepts_particle_keys else rng.raw(key)
        return self.gen_fn.generate(k, c, self.args)

    def latents(self, choices: ChoiceMap) -> ChoiceMap:
        """The unconstrained part z of a full choice map."""
        return choices.filter(~self.observed())

    def observed(self) -> Selection:
        """The selection of the constrained addresses y."""
        return select(*self.constraints.addresses())

    def log_q_int(self, z: ChoiceMap):
        """(log γ(z), log q_int(z)): q_int is the internal proposal of ``generate`` given y;
        log q_int(z) = log γ(z) − Σ_{a ∈ y} log p(y_a | parents) (via ``project``)."""
        r = self.gen_fn.edit(
            None, self.args, old=z | self.constraints, measure=self.observed(), strict_old=True
        )
        return r.score, r.score - r.measured


class ImportanceK(SPDistribution):
    """K-particle importance sampling as an SP over z for a Target given at call time.

    ``ImportanceK(proposal=None, K)``: ``proposal=None`` uses the internal proposal
    (``generate``); otherwise a GF or SP over z called with args ``(target,)``.
    Particle k has weight w_k = log γ(z_k) − log q̂_k.
    """

    def __init__(self, proposal=None, K: int = 1):
        if isinstance(proposal, int) and K == 1:  # ImportanceK(50) reads naturally
            proposal, K = None, proposal
        self.proposal = proposal
        self.K = int(K)
        self.name = f"{type(self).__name__}(K={self.K})"

    def _particles(self, key, target: Target, n: int):
        """n particles: (z stacked (n, ...), log γ(z) (n,), weights w (n,))."""
        keys, axes = rng.particle_keys(key, n)

        def one(k):
            if self.proposal is None:
                trace, w = target.generate(k)
                return target.latents(trace.choices), trace.score, w
            z, log_q = random_weighted(self.proposal, k, target)
            log_g = target.log_density(z)
            return z, log_g, log_g - log_q

        return jax.vmap(one, in_axes=(axes,))(keys)

    def _weight_given(self, key, z, target: Target):
        """(log γ(z), w) for a given z: q̂ from the proposal's estimate_logpdf."""
        if self.proposal is None:
            log_g, log_q = target.log_q_int(z)
        else:
            log_g = target.log_density(z)
            log_q = estimate_logpdf(self.proposal, key, z, target)
        return log_g, log_g - log_q

    def random_weighted(self, key, target: Target):
        """``(z, log_w)``: z ∼ SIR over K particles; log_w = log γ(z) − logmeanexp(w).

        Guarantee: E[exp(−log_w) | z] = 1/q_SIR(z) (reciprocal unbiased), hence with the
        exact posterior's normaliser, E[log_w] bounds as in the spec (§5)."""
        k1, k2 = jax.random.split(rng.raw(key))
        z, log_g, w = self._particles(k1, target, self.K)
        j = jax.random.categorical(k2, w)
        zj = jax.tree_util.tree_map(lambda a: a[j], z)
        return zj, log_g[j] - logmath.logmeanexp(w)

    def estimate_logpdf(self, key, z, target: Target):
        """log γ(z) − logmeanexp(w_1..w_{K−1}, w(z)) with K−1 fresh particles.

        Guarantee: E[exp(·)] = q_SIR(z) (unbiased density of the SIR output)."""
        k1, k2 = jax.random.split(rng.raw(key))
        log_g, w_star = self._weight_given(k2, z, target)
        if self.K == 1:
            return log_g - w_star
        _, _, w = self._particles(k1, target, self.K - 1)
        return log_g - logmath.logmeanexp(jnp.concatenate([w, w_star[None]]))

    def log_z_hat(self, key, target: Target):
        """log_z_hat = logmeanexp(w) over K particles. E[exp(log_z_hat)] = Z, so
        E[log_z_hat] ≤ log Z."""
        _, _, w = self._particles(key, target, self.K)
        return logmath.logmeanexp(w)


class SIR(ImportanceK):
    """``SIR(proposal, K)``: ImportanceK used as a proposal (EEVI's SIRGF)."""


class Marginal(SPDistribution):
    """The SP over v = τ[S] of ``gen_fn``, marginalising z = τ[¬S] with ``algorithm``.

    ``Marginal(gen_fn, selection, algorithm=None)``; SP args are the GF args. ``v`` may be a
    ChoiceMap or, when ``selection`` is a single address, the bare value at it.
    With ``ImportanceK``: ``estimate_logpdf`` is the K-particle IS estimate (a stochastic
    lower bound on log p(v) in expectation) and ``random_weighted`` is IS with the exact
    posterior particle among the K (an upper bound in expectation).
    """

    def __init__(self, gen_fn: GenerativeFunction, selection: Selection, algorithm=None):
        self.gen_fn = gen_fn
        self.selection = selection
        self.algorithm = algorithm
        self.name = f"Marginal({gen_fn.name})"

    def _as_cm(self, v) -> ChoiceMap:
        if isinstance(v, ChoiceMap):
            return v
        prefixes = getattr(self.selection, "prefixes", ())
        if len(prefixes) != 1:
            raise TypeError("give v as a ChoiceMap unless the selection is one address")
        return ChoiceMap({prefixes[0]: v})

    def random_weighted(self, key, *args):
        """``(v, log_w)``: τ ∼ p(·; args), v = τ[S]; E[exp(−log_w) | v] = 1/p(v)."""
        k1, k2 = jax.random.split(rng.raw(key))
        trace = self.gen_fn.simulate(k1, args)
        v = trace.choices.filter(self.selection)
        if self.algorithm is None:
            return v, self.gen_fn.project(trace, self.selection)
        z = trace.choices.filter(~self.selection)
        target = Target(self.gen_fn, args, v)
        return v, trace.score - self.algorithm.estimate_logpdf(k2, z, target)

    def estimate_logpdf(self, key, v, *args):
        """log_w with E[exp(log_w)] = p(v; args)."""
        v = self._as_cm(v)
        if self.algorithm is None:
            k = key if self.gen_fn.accepts_particle_keys else rng.raw(key)
            return self.gen_fn.generate(k, v, args)[1]
        target = Target(self.gen_fn, args, v)
        z, log_q = self.algorithm.random_weighted(key, target)
        return target.log_density(z) - log_q
