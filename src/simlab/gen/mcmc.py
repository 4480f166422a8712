"""MCMC kernels on traces. Each takes ``(key, trace, ...)`` and returns ``(trace', accepted)``
(``accepted``: bool scalar) and leaves the trace's posterior p(z | y; args) invariant.

``mh`` (regenerate), ``mh_proposal`` (custom GF proposal + update), ``involutive_mh``
(proposal + involution + log|det J|, Jacobian by ``jax.jacfwd`` or given), ``enumerative_gibbs``
(finite support or a continuous grid with an MH correction) and ``mala``.
All are jit/vmap friendly except ``involutive_mh(check=True)``, which needs concrete values.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from simlab.gen import rng
from simlab.gen.choicemap import ChoiceMap, Selection, addr
from simlab.gen.gfi import Trace

__all__ = ["Grid", "enumerative_gibbs", "involutive_mh", "mala", "mh", "mh_proposal"]


def _accept(key, log_alpha, new: Trace, old: Trace):
    """Accept ``new`` with probability min(1, exp(log_alpha)); NaN counts as reject."""
    u = jax.random.uniform(key, dtype=jnp.result_type(float))
    ok = jnp.log(u) < log_alpha
    ok = jnp.where(jnp.isnan(log_alpha), False, ok)
    tr = jax.tree_util.tree_map(lambda a, b: jnp.where(ok, a, b), new, old)
    return tr, ok


def mh(key, trace: Trace, selection: Selection):
    """Metropolis-Hastings with the internal proposal on ``selection``: log α = regenerate
    weight. Invariant for p(z | y)."""
    k1, k2 = jax.random.split(rng.raw(key))
    new, log_w = trace.gen_fn.regenerate(k1, trace, selection)
    return _accept(k2, log_w, new, trace)


def mh_proposal(key, trace: Trace, proposal, proposal_args=()):
    """MH with a custom proposal GF ``proposal(trace, *proposal_args)`` over model addresses.

    u ∼ q(·; τ); (τ', w, discard) = update(τ, u); log α = w − log q(u; τ) + log q(discard; τ').
    The proposal must visit the same addresses from τ' (static structure)."""
    k1, k2, k3 = jax.random.split(rng.raw(key), 3)
    args = tuple(proposal_args)
    u, log_q_fwd, _ = proposal.propose(k1, (trace, *args))
    new, w, discard = trace.gen_fn.update(k2, trace, u)
    log_q_bwd, _ = proposal.assess(discard, (new, *args))
    return _accept(k3, w - log_q_fwd + log_q_bwd, new, trace)


def _float_leaves(cm: ChoiceMap):
    return [a for a in cm.addresses() if jnp.issubdtype(jnp.result_type(cm[a]), jnp.floating)]


def _flatten(cm: ChoiceMap, addrs):
    if not addrs:
        return jnp.zeros((0,), jnp.result_type(float))
    return jnp.concatenate([jnp.ravel(cm[a]) for a in addrs])


def _unflatten(vec, like: ChoiceMap, addrs) -> ChoiceMap:
    out, i = dict(like.items()), 0
    for a in addrs:
        v = like[a]
        n = int(np.prod(jnp.shape(v), dtype=np.int64))
        out[a] = vec[i : i + n].reshape(jnp.shape(v)).astype(jnp.result_type(v))
        i += n
    return ChoiceMap._trusted(out)


def _apply_involution(involution, choices: ChoiceMap, aux: ChoiceMap, args):
    """(changes, aux', log|det J|) with the Jacobian over continuous coordinates.

    Inputs: the model's continuous values at the addresses the involution writes, and aux's
    continuous values; outputs: the written values and aux'. Other model choices are read but
    held fixed (they add a block-triangular part with unit determinant)."""
    out = involution(choices, aux, args)
    if len(out) == 3:
        return out
    changes, aux_new = out
    m_addrs = _float_leaves(changes)
    a_in, a_out = _float_leaves(aux), _float_leaves(aux_new)
    x0 = jnp.concatenate([_flatten(choices, m_addrs), _flatten(aux, a_in)])
    n_m = x0.shape[0] - _flatten(aux, a_in).shape[0]

    def f(x):
        c = _unflatten(x[:n_m], choices, m_addrs)
        a = _unflatten(x[n_m:], aux, a_in)
        ch, ax = involution(c, a, args)[:2]
        return jnp.concatenate([_flatten(ch, m_addrs), _flatten(ax, a_out)])

    y_dim = x0.shape[0] if x0.shape[0] == 0 else f(x0).shape[0]
    if y_dim != x0.shape[0]:
        raise ValueError(
            f"involution maps {x0.shape[0]} continuous coordinates to {y_dim}; "
            "dimensions must match (pad with auxiliary choices)"
        )
    if x0.shape[0] == 0:
        return changes, aux_new, jnp.zeros((), jnp.result_type(float))
    _, logdet = jnp.linalg.slogdet(jax.jacfwd(f)(x0))
    return changes, aux_new, logdet


def involutive_mh(key, trace: Trace, proposal, proposal_args, involution, check: bool = False):
    """Involutive MH (Gen's trace transforms; Cusumano-Towner et al. 2020).

    u ∼ q(·; τ, *proposal_args) (a GF over auxiliary addresses). ``involution(choices, u,
    trace.args) -> (changes, u')`` or ``(changes, u', log_abs_det)``: ``changes`` is a ChoiceMap
    of the model addresses it rewrites (a fixed set), ``u'`` the new auxiliary choices; the map
    (τ, u) -> (τ', u') must be an involution. log α = log p(τ') − log p(τ) + log q(u'; τ') −
    log q(u; τ) + log|det ∂f/∂(τ_c, u_c)|, the Jacobian over continuous coordinates by
    ``jax.jacfwd`` unless the involution returns it (needed on manifolds: rotations, unit
    vectors). Discrete coordinates must map bijectively. ``check=True`` (concrete values only)
    applies f twice and asserts it returns (τ, u) and that the log-Jacobians sum to 0.
    """
    args = tuple(proposal_args)

    def step(key, trace):
        k1, k2, k3 = jax.random.split(rng.raw(key), 3)
        u, log_q_fwd, _ = proposal.propose(k1, (trace, *args))
        changes, u_new, logdet = _apply_involution(involution, trace.choices, u, trace.args)
        new, w, _ = trace.gen_fn.update(k2, trace, changes)
        log_q_bwd, _ = proposal.assess(u_new, (new, *args))
        out = _accept(k3, w + log_q_bwd - log_q_fwd + logdet, new, trace)
        if not check:
            return out, None
        back = _apply_involution(involution, new.choices, u_new, new.args)
        return out, (u, changes, logdet, back)

    if not check:
        return step(key, trace)[0]
    leaves = jax.tree_util.tree_leaves((key, trace))
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        raise ValueError(
            "involutive_mh(check=True) needs concrete inputs: call it outside jit/vmap"
        )
    out, (u, changes, logdet, back) = jax.jit(step)(key, trace)
    _check_involution(trace, u, changes, logdet, *back)
    return out


def _check_involution(trace, u, changes, logdet, back, u_back, logdet_back):
    problems = []
    for a in changes.addresses():
        if not np.allclose(np.asarray(back[a]), np.asarray(trace.choices[a]), atol=1e-8):
            problems.append(f"model address {a!r}: {trace.choices[a]} -> {back[a]}")
    if set(u_back.addresses()) != set(u.addresses()):
        problems.append(f"auxiliary addresses {list(u.addresses())} -> {list(u_back.addresses())}")
    else:
        for a in u.addresses():
            if not np.allclose(np.asarray(u_back[a]), np.asarray(u[a]), atol=1e-8):
                problems.append(f"auxiliary address {a!r}: {u[a]} -> {u_back[a]}")
    if not np.isclose(float(logdet) + float(logdet_back), 0.0, atol=1e-8):
        problems.append(f"log|det J| forward {float(logdet)} + reverse {float(logdet_back)} != 0")
    if problems:
        raise ValueError(
            f"involutive_mh(check=True) on {trace.gen_fn.name!r}: f is not an involution: "
            + "; ".join(problems)
        )


@dataclasses.dataclass(frozen=True)
class Grid:
    """A continuous grid for enumerative Gibbs: n equal cells on [low, high] (static floats)."""

    low: float
    high: float
    n: int


def enumerative_gibbs(key, trace: Trace, address, support):
    """Gibbs update of one scalar choice at ``address``.

    ``support`` an array of values (finite support): score every value with ``update``
    (vmapped) and sample exactly ∝ exp(weights) - always accepted. ``support`` a
    :class:`Grid` (continuous): score the cell centres, pick a cell ∝ exp(score), draw
    uniformly inside it, and accept with the MH ratio that uses the current value's cell
    (rejected when the current value is off the grid).
    """
    a = addr(address)
    k1, k2, k3 = jax.random.split(rng.raw(key), 3)
    gf = trace.gen_fn
    if isinstance(support, Grid):
        n = int(support.n)
        h = (support.high - support.low) / n
        centres = support.low + h * (jnp.arange(n) + 0.5)
        w = jax.vmap(lambda v: gf.update(None, trace, ChoiceMap({a: v}))[1])(centres)
        logq = w - jax.scipy.special.logsumexp(w)
        i = jax.random.categorical(k1, logq)
        x_new = support.low + h * (i + jax.random.uniform(k2, dtype=centres.dtype))
        new, w_new, _ = gf.update(None, trace, ChoiceMap({a: x_new}))
        x_old = trace.choices[a]
        j = jnp.floor((x_old - support.low) / h).astype(jnp.int32)
        on_grid = (x_old >= support.low) & (x_old < support.high)
        log_alpha = w_new + logq[jnp.clip(j, 0, n - 1)] - logq[i]
        log_alpha = jnp.where(on_grid, log_alpha, -jnp.inf)
        return _accept(k3, log_alpha, new, trace)
    values = jnp.asarray(support)
    traces, w = jax.vmap(lambda v: gf.update(None, trace, ChoiceMap({a: v}))[:2])(values)
    i = jax.random.categorical(k1, w)
    return jax.tree_util.tree_map(lambda x: x[i], traces), jnp.asarray(True)


def mala(key, trace: Trace, selection: Selection, step: float):
    """Metropolis-adjusted Langevin on the continuous choices in ``selection``.

    Proposal x' ∼ N(x + ε∇ log p(τ), 2ε) (ε = ``step``), with the MH correction using the
    reverse proposal density. Gradients of ``assess`` by ``jax.grad``."""
    k1, k2 = jax.random.split(rng.raw(key))
    gf, choices = trace.gen_fn, trace.choices
    addrs = [a for a in _float_leaves(choices) if selection.contains(a)]
    x = _flatten(choices, addrs)

    def logp(v):
        return gf.assess(_unflatten(v, choices, addrs), trace.args)[0]

    lp_x, g_x = jax.value_and_grad(logp)(x)
    mean_fwd = x + step * g_x
    x_new = mean_fwd + jnp.sqrt(2 * step) * jax.random.normal(k1, x.shape, x.dtype)
    lp_new, g_new = jax.value_and_grad(logp)(x_new)
    mean_bwd = x_new + step * g_new

    def log_q(to, mean):
        return -jnp.sum((to - mean) ** 2) / (4 * step)

    log_alpha = lp_new - lp_x + log_q(x, mean_bwd) - log_q(x_new, mean_fwd)
    new_choices = _unflatten(x_new, choices, addrs)
    new = Trace(gf, trace.args, new_choices, gf.assess(new_choices, trace.args)[1], lp_new)
    return _accept(k2, log_alpha, new, trace)
