"""Discrete Bayesian networks as batched array programs, and as a simlab.gen generative function.

:class:`CompiledBN` holds a network's CPTs as padded tables so that every operation is a gather:

* ``log_table[row, s]`` = log p(node = s | parent configuration), one row per (node, parent
  configuration), padded to the largest cardinality with −inf;
* ``cdf_table[row, s]`` = the cumulative probabilities of the same row (exactly 1.0 from the last
  state of non-zero probability on, 2.0 in the padding), for inverse-CDF sampling;
* ``row_offset[i] + Σ_j value(parent_j) · stride_j`` is the row of node i.

Values of a batch of P joint assignments are int32 arrays of shape ``(P, n)``, columns in the
network's node order (:attr:`CompiledBN.names`). The functions here are pure and jit-able:

* :func:`log_factors` — log p(v_i | parents) for every node at once, ``(P, n)``;
* :func:`sample` — ancestral sampling with some nodes fixed (likelihood weighting when the
  fixed set is evidence), one vectorised step per topological level;
* :class:`BayesNet` — the same network as a simlab.gen GF (addresses = node names, values =
  state indices in BIF order), for the generic estimators and for SMC.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from simlab.eevi.bif import BifNetwork
from simlab.gen.choicemap import ChoiceMap, Masked, Selection, none
from simlab.gen.errors import AddressError
from simlab.gen.gfi import EditResult, GenerativeFunction

__all__ = ["BayesNet", "CompiledBN", "compile_bn", "log_factors", "sample"]


@dataclass(frozen=True, eq=False)
class CompiledBN:
    """A network compiled to gather tables (numpy arrays; converted to JAX when used).

    names: node names in topological order (column order of value arrays); ``index[name]``.
    card: (n,) int32. parent_idx: (n, A) int32, padded with ``n`` (a dummy always-0 column).
    parent_stride: (n, A) int32 (0 in padding). row_offset: (n,) int32.
    log_table, cdf_table: (R, C) float64 with R = Σ_i Π card(parents_i), C = max card.
    levels: tuple of int32 arrays; nodes in one level have all parents in earlier levels.
    states[name]: state names. parents[name]: parent names.
    """

    names: tuple[str, ...]
    index: dict
    card: np.ndarray
    parent_idx: np.ndarray
    parent_stride: np.ndarray
    row_offset: np.ndarray
    log_table: np.ndarray
    cdf_table: np.ndarray
    levels: tuple[np.ndarray, ...]
    states: dict
    parents: dict
    source: str = ""

    @property
    def n(self) -> int:
        return len(self.names)

    def idx(self, names) -> np.ndarray:
        """int32 column indices of ``names`` (KeyError-free: unknown names raise DataError)."""
        from simlab.core.errors import DataError

        out = []
        for v in names:
            if v not in self.index:
                raise DataError(f"{self.source or 'network'}: no variable named {v!r}")
            out.append(self.index[v])
        return np.asarray(out, dtype=np.int32)

    def mask(self, names) -> np.ndarray:
        """(n,) bool mask with True at ``names``."""
        m = np.zeros(self.n, dtype=bool)
        m[self.idx(names)] = True
        return m

    def state_index(self, name: str, state: str) -> int:
        from simlab.core.errors import DataError

        if state not in self.states[name]:
            raise DataError(
                f"{self.source or 'network'}: variable {name!r} has no state {state!r} "
                f"(states: {', '.join(self.states[name])})"
            )
        return self.states[name].index(state)

    def levels_of(self, nodes) -> tuple[np.ndarray, ...]:
        """Topological levels of the sub-graph on ``nodes`` (indices), parents outside ignored."""
        nodes = [int(i) for i in nodes]
        inside = set(nodes)
        depth: dict[int, int] = {}
        for i in sorted(nodes):  # column order is topological
            ps = [int(p) for p in self.parent_idx[i] if p < self.n and int(p) in inside]
            depth[i] = 1 + max((depth[p] for p in ps), default=-1)
        n_lev = 1 + max(depth.values(), default=-1)
        return tuple(
            np.asarray([i for i in sorted(nodes) if depth[i] == d], dtype=np.int32)
            for d in range(n_lev)
        )


def compile_bn(net: BifNetwork) -> CompiledBN:
    """Compile a parsed network into gather tables (host-side, float64)."""
    names = net.order
    index = {v: i for i, v in enumerate(names)}
    n = len(names)
    card = np.asarray([net.card(v) for v in names], dtype=np.int32)
    a_max = max(1, max(len(net.parents[v]) for v in names))
    c_max = int(card.max())
    parent_idx = np.full((n, a_max), n, dtype=np.int32)
    parent_stride = np.zeros((n, a_max), dtype=np.int32)
    row_offset = np.zeros(n, dtype=np.int32)
    rows_log, rows_cdf = [], []
    r = 0
    for i, v in enumerate(names):
        pa = net.parents[v]
        pcards = [net.card(p) for p in pa]
        stride = np.cumprod([1, *pcards[::-1]])[:-1][::-1]  # last parent fastest
        parent_idx[i, : len(pa)] = [index[p] for p in pa]
        parent_stride[i, : len(pa)] = stride
        row_offset[i] = r
        probs = net.cpts[v].reshape(-1, card[i])
        r += probs.shape[0]
        logp = np.full((probs.shape[0], c_max), -np.inf)
        with np.errstate(divide="ignore"):
            logp[:, : card[i]] = np.log(probs)
        cdf = np.full((probs.shape[0], c_max), 2.0)
        cum = np.cumsum(probs, axis=1) / probs.sum(axis=1, keepdims=True)
        # Exactly 1.0 from the last state of non-zero probability on, so u ∈ (0, 1] never
        # selects a trailing zero-probability state whatever the rounding of the cumsum.
        last = card[i] - 1 - np.argmax(probs[:, ::-1] > 0, axis=1)
        cum[np.arange(card[i])[None, :] >= last[:, None]] = 1.0
        cdf[:, : card[i]] = cum
        rows_log.append(logp)
        rows_cdf.append(cdf)
    log_table = np.concatenate(rows_log)
    cdf_table = np.concatenate(rows_cdf)
    depth = np.zeros(n, dtype=np.int64)
    for i, v in enumerate(names):
        depth[i] = 1 + max((depth[index[p]] for p in net.parents[v]), default=-1)
    levels = tuple(np.flatnonzero(depth == d).astype(np.int32) for d in range(depth.max() + 1))
    return CompiledBN(
        names=tuple(names),
        index=index,
        card=card,
        parent_idx=parent_idx,
        parent_stride=parent_stride,
        row_offset=row_offset,
        log_table=log_table,
        cdf_table=cdf_table,
        levels=levels,
        states={v: net.states[v] for v in names},
        parents={v: net.parents[v] for v in names},
        source=net.source,
    )


def _rows(bn: CompiledBN, vals, nodes):
    """Row indices into the tables for ``nodes`` (static int array) given vals (P, n) -> (P, m)."""
    padded = jnp.concatenate([vals, jnp.zeros((*vals.shape[:-1], 1), vals.dtype)], axis=-1)
    pa = padded[..., bn.parent_idx[nodes]]  # (P, m, A)
    return bn.row_offset[nodes] + jnp.sum(pa * bn.parent_stride[nodes], axis=-1)


def log_factors(bn: CompiledBN, vals):
    """log p(v_i | parents(v_i)) for every node: vals (..., n) int32 -> (..., n) float.

    Exact log-probabilities (−inf for zero-probability values), in the default float dtype.
    """
    vals = jnp.asarray(vals, jnp.int32)
    table = jnp.asarray(bn.log_table, jnp.result_type(float))
    rows = _rows(bn, vals, np.arange(bn.n))
    return table[rows, vals]


_NARROW = 8  # levels at most this wide are scanned (padded) when they come in long runs
_RUN = 4  # a run of at least this many narrow levels becomes one lax.scan


def _plan(levels) -> list:
    """Split levels into ("unroll", level) items and ("scan", (L, W) padded index array) runs.

    Padding uses index n (a dummy column). Deep, narrow graphs (DIAS: 146 levels) then compile
    to one small loop instead of hundreds of unrolled steps."""
    plan, run = [], []

    def flush():
        if len(run) >= _RUN:
            w = max(len(x) for x in run)
            plan.append(("scan", np.stack([np.pad(x, (0, w - len(x)), constant_values=-1)
                                           for x in run])))  # fmt: skip
        else:
            plan.extend(("unroll", x) for x in run)
        run.clear()

    for lev in levels:
        if len(lev) <= _NARROW:
            run.append(lev)
        else:
            flush()
            plan.append(("unroll", lev))
    flush()
    return plan


def _padded_tables(bn: CompiledBN):
    """Gather tables with one extra dummy node n (card 1, no parents, row 0, value always 0)."""
    n = bn.n
    pidx = np.concatenate([bn.parent_idx, np.full((1, bn.parent_idx.shape[1]), n, np.int32)])
    stride = np.concatenate([bn.parent_stride, np.zeros((1, bn.parent_stride.shape[1]), np.int32)])
    offset = np.concatenate([bn.row_offset, np.zeros(1, np.int32)])
    card = np.concatenate([bn.card, np.ones(1, np.int32)])
    return pidx, stride, offset, card


def sample(bn: CompiledBN, key, fixed_mask, fixed_vals, nodes=None, vals=None):
    """Ancestral sampling with fixed nodes: returns vals (P, n) int32.

    fixed_mask: (n,) bool (may be traced): True where the value is taken from ``fixed_vals``.
    fixed_vals: (P, n) int (entries where the mask is false are ignored).
    nodes: static index array of the nodes to visit (default: all); other columns of ``vals``
    (default: ``fixed_vals``) are kept and must already hold every parent of a visited node.
    Free nodes are drawn from their conditional prior by inverse CDF, u ∈ (0, 1]; the nodes of
    one topological level are drawn together with one gather.
    """
    n = bn.n
    fixed_vals = jnp.asarray(fixed_vals, jnp.int32)
    vals = fixed_vals if vals is None else jnp.asarray(vals, jnp.int32)
    p = vals.shape[0]
    levels = bn.levels if nodes is None else bn.levels_of(nodes)
    cdf = jnp.asarray(bn.cdf_table, jnp.result_type(float))
    pidx, stride, offset, card = _padded_tables(bn)
    zero_col = jnp.zeros((p, 1), jnp.int32)
    work = jnp.concatenate([vals, zero_col], axis=1)  # (P, n+1), column n = dummy
    fvals = jnp.concatenate([fixed_vals, zero_col], axis=1)
    fmask = jnp.concatenate([jnp.asarray(fixed_mask, bool), jnp.ones(1, bool)])
    # one draw of uniforms for every node (a single RNG call keeps the compiled program small)
    u_all = 1.0 - jax.random.uniform(key, (p, n + 1), cdf.dtype)  # (0, 1]

    def step(work, lev, pidx_l, stride_l, offset_l, card_l):
        rows = offset_l + jnp.sum(work[:, pidx_l] * stride_l, axis=-1)  # (P, m)
        drawn = jnp.sum(cdf[rows] < u_all[:, lev][..., None], axis=-1).astype(jnp.int32)
        drawn = jnp.minimum(drawn, card_l - 1)
        new = jnp.where(fmask[lev], fvals[:, lev], drawn)
        return work.at[:, lev].set(new)

    for kind, item in _plan(levels):
        if kind == "unroll":
            work = step(work, item, pidx[item], stride[item], offset[item], card[item])
        else:
            idx = np.where(item < 0, n, item).astype(np.int32)  # (L, W)
            xs = (idx, pidx[idx], stride[idx], offset[idx], card[idx])
            work, _ = jax.lax.scan(lambda w, x: (step(w, *x), None), work, xs)
    return work[:, :n]


class BayesNet(GenerativeFunction):
    """A compiled network as a simlab.gen generative function with no arguments.

    Addresses are node names; values are int32 state indices (BIF declaration order). ``edit``
    runs :func:`sample` on a batch of one, so vmapping the GFI gives batched gathers. The score
    is log p(all nodes); ``generate`` weights are Σ over constrained nodes of log p(v | parents)
    (likelihood weighting, valid for constraints anywhere in the graph).
    """

    def __init__(self, bn: CompiledBN, name: str = "bayes_net"):
        self.bn = bn
        self.name = name

    def edit(
        self,
        key,
        args: tuple = (),
        *,
        old: ChoiceMap | None = None,
        constraints: ChoiceMap = ChoiceMap.empty(),
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old: bool = False,
    ) -> EditResult:
        bn = self.bn
        if args:
            raise TypeError(f"{self.name}: a BayesNet takes no arguments, got {len(args)}")
        old = ChoiceMap.empty() if old is None else old
        for cm in (constraints, old):
            for a in cm.addresses():
                if len(a) != 1 or a[0] not in bn.index:
                    raise AddressError("not a node of this network", a, self.name)
        given = np.zeros(bn.n, dtype=bool)  # value known (constraint or kept old value)
        dyn = [jnp.zeros((), bool)] * bn.n  # Masked constraints: known only where mask
        fixed = [jnp.zeros((), jnp.int32)] * bn.n
        discard = {}
        for i, v in enumerate(bn.names):
            a = (v,)
            if a in constraints:
                c = constraints[a]
                if isinstance(c, Masked):
                    dyn[i] = jnp.asarray(c.mask, bool)
                    fixed[i] = jnp.asarray(c.value, jnp.int32)
                    if a in old:
                        raise AddressError("Masked constraint on an old choice", a, self.name)
                    continue
                given[i] = True
                fixed[i] = jnp.asarray(c, jnp.int32)
                if a in old:
                    discard[a] = old[a]
            elif a in old and not resample.contains(a):
                given[i] = True
                fixed[i] = jnp.asarray(old[a], jnp.int32)
            elif strict_old:
                raise AddressError("missing choice", a, self.name)
        fixed = jnp.stack(fixed)
        known = jnp.asarray(given) | jnp.stack(dyn)
        vals = fixed[None] if given.all() else sample(bn, key, known, fixed[None])
        f = log_factors(bn, vals)[0]
        measured_mask = np.asarray([measure.contains((v,)) for v in bn.names])
        score = jnp.sum(f)
        weight = jnp.sum(jnp.where(known, f, 0.0))
        measured = jnp.sum(jnp.where(jnp.asarray(measured_mask), f, 0.0))
        choices = ChoiceMap._trusted({(v,): vals[0, i] for i, v in enumerate(bn.names)})
        return EditResult(choices, None, score, weight, measured, ChoiceMap(discard))
