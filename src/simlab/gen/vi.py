"""Variational objectives with reparameterised (or score-function) gradients.

Convention: the guide q_φ(z; y) is a GF called as ``guide(t, params, obs)`` where ``params`` is
any pytree (e.g. an equinox module) and ``obs`` the ChoiceMap of observations y; it samples the
model's latent addresses. Objectives are maximised; ``neg_elbo`` is the cost to minimise with
optax. Gradients flow through samples of ``reparam`` distributions; a guide with any
non-reparameterisable choice needs ``estimator="reinforce"`` (score function on those choices,
with ``stop_gradient`` and an optional baseline), otherwise these functions raise ValueError.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlab.gen import logmath, rng
from simlab.gen.choicemap import ChoiceMap, Selection, select
from simlab.gen.dsl import record_nonreparam
from simlab.gen.gfi import GenerativeFunction

__all__ = ["elbo", "iwelbo", "neg_elbo", "sleep_objective"]

_sg = jax.lax.stop_gradient


def _nonreparam(guide: GenerativeFunction, params, obs) -> tuple:
    """Addresses of the guide's non-reparameterisable choices (found by an abstract run)."""
    with record_nonreparam() as found:
        jax.eval_shape(lambda p, o: guide.propose(jax.random.key(0), (p, o))[1], params, obs)
    return tuple(found)


def _log_weights(key, model, guide, params, constraints, args, K, estimator, baseline):
    """(log w_k (K,), surrogate log q of non-reparam choices (K,) or None)."""
    nonrep = _nonreparam(guide, params, constraints)
    if nonrep and estimator != "reinforce":
        raise ValueError(
            f"guide {guide.name!r} has non-reparameterisable choices at {list(nonrep)}; "
            "pass estimator='reinforce'"
        )
    if estimator not in ("reparam", "reinforce"):
        raise ValueError(f"estimator must be 'reparam' or 'reinforce', got {estimator!r}")
    sel = select(*nonrep) if nonrep else None
    keys, axes = rng.particle_keys(key, K)

    def one(k):
        trace = guide.simulate(k, (params, constraints))
        z = trace.choices
        log_p, _ = model.assess(z | constraints, args)
        log_w = log_p - trace.score
        lq_nr = guide.project(trace, sel) if sel is not None else jnp.zeros(())
        return log_w, lq_nr

    log_w, lq_nr = jax.vmap(one, in_axes=(axes,))(keys)
    return log_w, (lq_nr if nonrep else None)


def _surrogate(value, f, lq_nr, baseline):
    """Value ``value`` with gradient ∇value + (f − b)·∇ log q_nr (score-function term)."""
    if lq_nr is None:
        return value
    b = 0.0 if baseline is None else baseline
    return value + jnp.sum(_sg(f - b) * (lq_nr - _sg(lq_nr)))


def elbo(
    key,
    model: GenerativeFunction,
    guide: GenerativeFunction,
    params,
    constraints: ChoiceMap,
    args: tuple = (),
    K: int = 1,
    estimator: str = "reparam",
    baseline=None,
):
    """ELBO estimate mean_k [log p(z_k ∪ y; args) − log q_φ(z_k; y)], z_k ∼ q_φ (scalar).

    Guarantee: E[elbo] ≤ log p(y; args); its ``jax.grad`` w.r.t. ``params`` is an unbiased
    gradient of E[elbo] (reparameterised; score function on non-reparam choices when
    ``estimator="reinforce"``, each sample's own weight minus ``baseline``)."""
    log_w, lq_nr = _log_weights(
        key, model, guide, params, constraints, args, K, estimator, baseline
    )
    value = jnp.mean(log_w)
    if lq_nr is None:
        return value
    b = 0.0 if baseline is None else baseline
    return value + jnp.mean(_sg(log_w - b) * (lq_nr - _sg(lq_nr)))


def neg_elbo(
    key, model, guide, params, constraints, args=(), K=1, estimator="reparam", baseline=None
):
    """−elbo: the cost to minimise (same arguments and gradients, negated)."""
    return -elbo(key, model, guide, params, constraints, args, K, estimator, baseline)


def iwelbo(
    key,
    model: GenerativeFunction,
    guide: GenerativeFunction,
    params,
    constraints: ChoiceMap,
    args: tuple = (),
    K: int = 10,
    estimator: str = "reparam",
    baseline=None,
):
    """Importance-weighted ELBO estimate logmeanexp_k(log p(z_k ∪ y) − log q_φ(z_k; y)).

    Guarantee: E[iwelbo_K] ≤ log p(y), non-decreasing in K, equal to the ELBO at K = 1.
    ``estimator="reinforce"``: score-function term (iwelbo − baseline)·∇Σ_k log q_nr(z_k)."""
    log_w, lq_nr = _log_weights(
        key, model, guide, params, constraints, args, K, estimator, baseline
    )
    value = logmath.logmeanexp(log_w)
    return _surrogate(value, value, lq_nr, baseline)


def sleep_objective(
    key,
    model: GenerativeFunction,
    guide: GenerativeFunction,
    params,
    observed: Selection,
    args: tuple = (),
    K: int = 1,
):
    """Wake-sleep "sleep" objective mean_k log q_φ(z_k; y_k) with (z_k, y_k) ∼ p(·; args).

    ``observed`` selects y among the model's addresses; z is the rest. Maximising it fits q to
    the model's posterior in inclusive KL (amortised over y). Gradients need no
    reparameterisation (samples come from p, which does not depend on φ)."""
    keys = jax.random.split(rng.raw(key), K)

    def one(k):
        trace = model.simulate(k, args)
        y = _sg(trace.choices.filter(observed))
        z = _sg(trace.choices.filter(~observed))
        return guide.assess(z, (params, y))[0]

    return jnp.mean(jax.vmap(one)(keys))
