"""Exact inference on discrete networks (host-side NumPy, float64): the oracles for EEVI.

* :func:`log_marginal` — log p(evidence) by tensor contraction: every CPT sliced at the evidence,
  then one ``opt_einsum`` contraction on a greedy path. Fast on HEPAR II and truncated DIAS.
* :func:`marginal_table` — the exact joint p(vars | evidence) as an array (a contraction that
  keeps ``vars`` open).
* :func:`entropy` — exact H(vars) in nats from such a table (small ``vars`` only), and
  :func:`joint_entropy_enum` by brute-force enumeration of every joint state (tiny networks).

These are exact up to float64 rounding; they are the reference values the tests and the
reports compare the stochastic bounds with.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np
import opt_einsum

from simlab.eevi.bif import BifNetwork

__all__ = [
    "conditional_entropy",
    "entropy",
    "joint_entropy_enum",
    "log_joint",
    "log_marginal",
    "marginal_table",
]


def _ancestral(net: BifNetwork, names) -> list[str]:
    """``names`` and all their ancestors, in declaration order. Other nodes are barren (no
    observed or kept descendant), so summing them out contributes exactly 1: dropping them is
    exact and keeps contractions small (DIAS truncated at the last queried hour)."""
    keep, stack = set(), list(names)
    while stack:
        v = stack.pop()
        if v not in keep:
            keep.add(v)
            stack.extend(net.parents[v])
    return [v for v in net.variables if v in keep]


def _factors(net: BifNetwork, evidence: Mapping[str, int], keep=()):
    """(operands, index lists) of the CPTs of the ancestral set of keep ∪ evidence, sliced at
    the evidence (values = state indices)."""
    sym = {v: i for i, v in enumerate(net.variables)}
    ops, subs = [], []
    for v in _ancestral(net, [*keep, *evidence]):
        scope = [*net.parents[v], v]
        t = net.cpts[v]
        idx = tuple(evidence[u] if u in evidence else slice(None) for u in scope)
        ops.append(t[idx])
        subs.append([sym[u] for u in scope if u not in evidence])
    return ops, subs, sym


def marginal_table(
    net: BifNetwork,
    keep: Sequence[str],
    evidence: Mapping[str, int] | None = None,
    order: str | Sequence[str] = "greedy",
) -> np.ndarray:
    """p(keep, evidence) as an array of shape (card(k) for k in keep), float64 (unnormalised
    by p(evidence): its sum is p(evidence)). ``keep`` must not overlap ``evidence``.

    order: "greedy" (opt_einsum's greedy path over all factors at once; good for HEPAR II) or
    "min_size" (variable elimination, each step eliminating the variable whose new factor is
    smallest; keeps the frontier small on long unrolled chains such as DIAS, where the greedy
    pairwise path blows up), or an explicit elimination order (variable names; e.g. DIAS by
    hour).
    """
    evidence = dict(evidence or {})
    if set(keep) & set(evidence):
        raise ValueError("keep and evidence overlap")
    ops, subs, sym = _factors(net, evidence, keep)
    if order != "greedy":
        elim = None if order == "min_size" else [sym[v] for v in order]
        return _eliminate(ops, subs, [sym[k] for k in keep], net, elim)
    args = []
    for o, s in zip(ops, subs):
        args += [o, s]
    out = [sym[k] for k in keep]
    return opt_einsum.contract(*args, out, optimize="greedy")


def _eliminate(ops, subs, out, net: BifNetwork, elim=None):
    """Sum-product variable elimination of the factors (ops, subs) in the order ``elim``
    (default: min-size, each step the variable whose new factor is smallest); returns the
    table over ``out`` (in that axis order)."""
    card = {i: net.card(v) for i, v in enumerate(net.variables)}
    factors = list(zip(ops, (list(x) for x in subs)))
    keep = set(out)
    present = {i for _, s in factors for i in s}
    todo = present - keep
    queue = None if elim is None else [v for v in elim if v in todo]
    while todo:

        def size(v, factors=factors):
            scope = {i for _, s in factors if v in s for i in s} - {v}
            return float(np.prod([card[i] for i in scope])) if scope else 1.0

        v = min(todo, key=size) if queue is None else queue.pop(0)
        todo.discard(v)
        touch = [f for f in factors if v in f[1]]
        factors = [f for f in factors if v not in f[1]]
        idx = sorted({i for _, s in touch for i in s} - {v})
        args = []
        for o, s in touch:
            args += [o, s]
        factors.append((opt_einsum.contract(*args, idx), idx))
    args = []
    for o, s in factors:
        args += [o, s]
    return opt_einsum.contract(*args, list(out))


def log_marginal(net: BifNetwork, evidence: Mapping[str, int]) -> float:
    """log p(evidence) in nats (−inf if it has probability 0)."""
    with np.errstate(divide="ignore"):
        return float(np.log(marginal_table(net, (), evidence)))


def log_joint(net: BifNetwork, values: Mapping[str, int]) -> float:
    """log p(values) for a complete assignment (every variable)."""
    total = 0.0
    with np.errstate(divide="ignore"):
        for v in net.variables:
            idx = tuple(values[u] for u in (*net.parents[v], v))
            total += float(np.log(net.cpts[v][idx]))
    return total


def _entropy_of(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def entropy(net: BifNetwork, vars: Sequence[str], evidence: Mapping[str, int] | None = None):
    """Exact H(vars | evidence = e) in nats (the table over ``vars`` must fit in memory)."""
    t = marginal_table(net, tuple(vars), evidence)
    return _entropy_of(t / t.sum())


def conditional_entropy(net: BifNetwork, x: Sequence[str], given: Sequence[str]) -> float:
    """Exact H(x | given) = H(x, given) − H(given) in nats, by contraction."""
    return entropy(net, (*x, *given)) - (entropy(net, tuple(given)) if given else 0.0)


def joint_entropy_enum(net: BifNetwork, vars: Sequence[str]) -> float:
    """H(vars) in nats by enumerating every joint state of the whole network (tiny nets only):
    an oracle independent of the contraction code."""
    names = net.variables
    cards = [net.card(v) for v in names]
    if np.prod(cards, dtype=np.float64) > 2e6:
        raise ValueError("network too large to enumerate")
    pos = {v: i for i, v in enumerate(names)}
    probs: dict[tuple, float] = {}
    for state in itertools.product(*(range(c) for c in cards)):
        lp = 1.0
        for v in names:
            lp *= net.cpts[v][tuple(state[pos[u]] for u in (*net.parents[v], v))]
        key = tuple(state[pos[v]] for v in vars)
        probs[key] = probs.get(key, 0.0) + lp
    return _entropy_of(np.asarray(list(probs.values())))


def batched_joint(
    net: BifNetwork, keep: Sequence[str], observed: Sequence[str], values: np.ndarray
) -> np.ndarray:
    """p(keep, observed = values[b]) for a batch of B evidence assignments, one contraction.

    Each observed variable gets a one-hot factor (B, card) sharing a batch index b, so the
    contraction path is found once for the whole batch. values: (B, len(observed)) state
    indices. Returns (B, card(k) for k in keep), float64; its sum over ``keep`` is p(o_b).
    """
    values = np.asarray(values)
    sym = {v: i for i, v in enumerate(net.variables)}
    b = len(sym)
    args: list = []
    for v in net.variables:
        args += [net.cpts[v], [sym[u] for u in (*net.parents[v], v)]]
    for j, v in enumerate(observed):
        onehot = np.zeros((len(values), net.card(v)))
        onehot[np.arange(len(values)), values[:, j]] = 1.0
        args += [onehot, [b, sym[v]]]
    return opt_einsum.contract(*args, [b, *(sym[k] for k in keep)], optimize="greedy")
