"""Importance sampling and sampling-importance-resampling with custom proposals."""

from __future__ import annotations

from typing import Any

import jax

from simlab.gen import logmath, rng
from simlab.gen.choicemap import ChoiceMap
from simlab.gen.gfi import GenerativeFunction, Trace
from simlab.gen.pytree import pytree_dataclass
from simlab.gen.sp import Target, random_weighted

__all__ = ["ParticleSet", "Resampled", "importance", "importance_resampling"]


@pytree_dataclass
class ParticleSet:
    """K weighted particles: ``traces`` (batched Trace, leading axis K), ``log_weights`` (K,),
    ``log_z_hat`` (scalar, E[exp] = Z so E[log_z_hat] ≤ log Z), ``n_neg_inf`` (int: how many
    weights are −inf; if all are, log_z_hat = −inf, a valid but useless estimate)."""

    traces: Trace
    log_weights: Any
    log_z_hat: Any
    n_neg_inf: Any


@pytree_dataclass
class Resampled:
    """One trace drawn ∝ weights, and the set's ``log_z_hat`` (E[exp] = Z)."""

    trace: Trace
    log_z_hat: Any


def importance(
    key,
    gf: GenerativeFunction,
    args: tuple,
    constraints: ChoiceMap,
    K: int,
    proposal=None,
    proposal_args: tuple | None = None,
) -> ParticleSet:
    """Importance sampling of p(z | y) for y = ``constraints`` with K particles.

    ``proposal=None``: q_int (``generate``), weight = Σ log p(y | parents). Otherwise
    ``proposal`` is a GF or SP over the latent ChoiceMap z called with ``proposal_args``
    (default ``(Target(gf, args, constraints),)``); weight = log p(z ∪ y) − log q̂(z), with
    log q̂ from ``random_weighted`` (exact for a GF; an SP gives the RAVI recursion).
    Particles are vmapped with shared-base ParticleKeys (one batched RNG draw per address).
    Guarantee: E[exp(log_z_hat)] = p(y; args).
    """
    target = Target(gf, args, constraints)
    pargs = (target,) if proposal_args is None else tuple(proposal_args)
    keys, axes = rng.particle_keys(key, K)

    def one(k):
        if proposal is None:
            return target.generate(k)
        z, log_q = random_weighted(proposal, k, *pargs)
        trace, log_p = _assess_trace(target, z)
        return trace, log_p - log_q

    traces, log_w = jax.vmap(one, in_axes=(axes,))(keys)
    return ParticleSet(traces, log_w, logmath.logmeanexp(log_w), (log_w == -jax.numpy.inf).sum())


def _assess_trace(target: Target, z: ChoiceMap):
    """The complete trace for choices z ∪ y and its log p (no randomness)."""
    r = target.gen_fn.edit(None, target.args, old=z | target.constraints, strict_old=True)
    target.gen_fn._check_visited(z, r.choices, "importance (proposal choices)")
    return Trace(target.gen_fn, target.args, r.choices, r.retval, r.score), r.score


def importance_resampling(key, gf, args, constraints, K, proposal=None, proposal_args=None):
    """SIR: one trace ∝ importance weights from :func:`importance`, plus ``log_z_hat``
    (E[exp] = p(y)). Returns :class:`Resampled`."""
    k1, k2 = jax.random.split(rng.raw(key))
    ps = importance(k1, gf, args, constraints, K, proposal, proposal_args)
    j = jax.random.categorical(k2, ps.log_weights)
    trace = jax.tree_util.tree_map(lambda a: a[j], ps.traces)
    return Resampled(trace, ps.log_z_hat)
