"""Agglomerative Monte Carlo (AMC): merge-order proposals for DPMM partitions, cSMC meta-inference.

**Proposal q(z, h).** Start from n singletons. At each step choose among every unordered pair
{A, B} of current clusters with log-score T·Δ(A, B) (Δ = change of log p(z, data) when merging,
:func:`simlab.ravi.dpmm.merge_delta`) and *stop* with log-score 0, ∝ exp(score); stop for sure
when one cluster remains. The history h (merge order) is the auxiliary variable: q(z, h) is a
product of step probabilities, q(z) = Σ_h q(z, h) is intractable.

**Meta-inference** over h given z: SMC whose proposal is the same merge distribution restricted
to pairs inside one final cluster (no stop), n − |z| steps, then a final step with the forward
log-probability of stopping at z. Each step's incremental weight is log q_step − log h_step =
logsumexp(restricted scores) − logsumexp(all scores ∪ stop), which does not depend on the
choice. So the product of weights along a history is q(z, h)/h(h; z) and

* ``estimate_logpdf(key, z)``: plain SMC; E[exp(log q̂)] = q(z) (density-unbiased);
* ``random_weighted(key)``: (z, h*) ∼ q, then conditional SMC that retains h* in the last slot;
  E[exp(−log q̂) | z] = 1/q(z) (reciprocal-unbiased);
* ``log_z_hat(key)`` = log p(z, data) − log q̂(z) for (z, q̂) from ``random_weighted``:
  E[exp(log_z_hat)] = p(data), so E[log_z_hat] ≤ log p(data) (a stochastic lower bound).

This is importance sampling with an intractable proposal, made valid by RAVI's pairing rule.
Everything here is NumPy (the data-dependent merge structure), batched over the K meta-particles:
each particle keeps its cluster statistics [n, d], log m per slot and a symmetric pair-Δ cache
[n, n] (−inf for inactive slots), of which a merge recomputes one row and column.
Keys: a ``jax.random`` key (converted with ``simlab.gen.rng.to_numpy``) or a NumPy Generator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import logsumexp

from simlab.ravi.dpmm import log_joint, merge_delta

__all__ = ["AMC", "AMCSample", "numpy_rng"]


def numpy_rng(key) -> np.random.Generator:
    """A NumPy Generator from a jax key (deterministic) or a Generator (returned as is)."""
    if isinstance(key, np.random.Generator):
        return key
    if isinstance(key, int | np.integer):
        return np.random.default_rng(int(key))
    from simlab.gen.rng import to_numpy

    return to_numpy(key)


@dataclass(frozen=True)
class AMCSample:
    """One forward AMC draw: labels z [n] (slot ids), merge history [(i, j), ...] (j merged into
    i), and log q(z, h) (nats)."""

    z: np.ndarray
    history: tuple[tuple[int, int], ...]
    log_q_joint: float


class _State:
    """K agglomeration states. Slot = a cluster; the n slots start as singletons {point i}.

    Arrays are over S ≤ n *positions*: ``ids`` [K, S] holds each position's original slot id
    (increasing along S). When merges leave at most 3/4 of the positions active, the arrays are
    compacted to the active ones, so the per-step cost falls with the cluster count (every
    particle has the same number of active clusters, since each step merges one pair).
    ``delta[k, a, b]`` = T·Δ for active positions a < b and −inf elsewhere, so the flattened
    array is directly the pairs' log-scores. ``labels``: optional [n] final cluster of each
    original slot (meta-inference), giving ``same`` [K, S·S], the pairs inside one cluster.
    """

    def __init__(self, family, n: int, K: int, alpha: float, temperature: float, labels=None):
        self.family, self.alpha, self.T = family, alpha, temperature
        s = family.point_stats(np.arange(n))  # [n, d]
        self.stats = np.broadcast_to(s, (K, *s.shape)).copy()
        self.active = np.ones((K, n), dtype=bool)
        self.ids = np.broadcast_to(np.arange(n), (K, n)).copy()
        d = np.full((n, n), -np.inf)
        upper = np.arange(n)[:, None] < np.arange(n)[None, :]
        for lo in range(0, n, 256):  # row chunks keep memory at 256·n·d
            rows = temperature * merge_delta(family, s[lo : lo + 256, None], s[None], alpha)
            d[lo : lo + 256] = np.where(upper[lo : lo + 256], rows, -np.inf)
        self.delta = np.broadcast_to(d, (K, n, n)).copy()
        self.n_active = n
        self.labels = labels
        self._same()

    def _same(self) -> None:
        if self.labels is not None:
            lab = self.labels[self.ids]
            self.same = (lab[:, :, None] == lab[:, None, :]).reshape(len(lab), -1)

    @property
    def size(self) -> int:
        return self.ids.shape[1]

    def pair_scores(self) -> np.ndarray:
        """Log-scores T·Δ of active unordered pairs, [K, S·S] (−inf elsewhere)."""
        return self.delta.reshape(len(self.delta), -1)

    def position(self, k: int, slot: int) -> int:
        """The position of original slot ``slot`` in particle k."""
        return int(np.searchsorted(self.ids[k], slot))

    def merge(self, i: np.ndarray, j: np.ndarray) -> None:
        """Merge position j into position i (i < j), one pair per particle: i, j [K] ints."""
        k = np.arange(len(i))
        self.stats[k, i] = self.family.merge(self.stats[k, i], self.stats[k, j])
        self.active[k, j] = False
        self.n_active -= 1
        row = merge_delta(self.family, self.stats[k, i][:, None], self.stats, self.alpha)
        row = np.where(self.active, self.T * row, -np.inf)
        idx = np.arange(row.shape[1])
        self.delta[k, i, :] = np.where(idx > i[:, None], row, -np.inf)  # pairs (i, m), m > i
        self.delta[k, :, i] = np.where(idx < i[:, None], row, -np.inf)  # pairs (m, i), m < i
        self.delta[k, j, :] = -np.inf
        self.delta[k, :, j] = -np.inf
        if self.n_active <= 0.75 * self.size and self.size > 4:
            self._compact()

    def _compact(self) -> None:
        # active positions of each particle, in increasing order (keeps ids sorted)
        pos = np.sort(np.argsort(~self.active, axis=1, kind="stable")[:, : self.n_active], axis=1)
        k = np.arange(len(pos))[:, None]
        self.ids = self.ids[k, pos]
        self.stats = self.stats[k, pos]
        self.delta = self.delta[k[:, :, None], pos[:, :, None], pos[:, None, :]]
        self.active = np.ones(pos.shape, dtype=bool)
        self._same()

    def take(self, ancestors: np.ndarray) -> None:
        for name in ("stats", "active", "delta", "ids", "same"):
            if hasattr(self, name):
                setattr(self, name, getattr(self, name)[ancestors].copy())


def _sample_rows(rng: np.random.Generator, logits: np.ndarray) -> np.ndarray:
    """One index per row ∝ exp(logits) by inverse CDF: logits [K, m] -> [K] ints."""
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    c = np.cumsum(p, axis=1)
    u = rng.random(len(c)) * c[:, -1]
    return np.minimum((c <= u[:, None]).sum(axis=1), logits.shape[1] - 1)


def _canonical(z: np.ndarray) -> np.ndarray:
    """Relabel z [n] as restricted-growth labels (first occurrence order)."""
    _, first, inv = np.unique(z, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[inv]


@dataclass(frozen=True)
class AMC:
    """The AMC proposal for a DPMM over ``n`` points of a cluster ``family``, as an SP.

    K: meta-particles; ess_threshold: resample when ESS < ess_threshold·K (fraction);
    temperature: T in the merge log-scores T·Δ; alpha: CRP concentration.
    """

    family: object
    n: int
    alpha: float = 1.0
    K: int = 10
    ess_threshold: float = 0.25
    temperature: float = 1.0

    def sample_joint(self, key) -> AMCSample:
        """(z, h) ∼ q: run the agglomeration until stop."""
        rng = numpy_rng(key)
        st = _State(self.family, self.n, 1, self.alpha, self.temperature)
        owner = np.arange(self.n)
        history, log_q = [], 0.0
        while st.n_active > 1:
            scores = np.append(st.pair_scores()[0], 0.0)  # last entry: stop
            lse = logsumexp(scores)
            c = int(_sample_rows(rng, scores[None])[0])
            log_q += scores[c] - lse
            if c == len(scores) - 1:
                break
            a, b = divmod(c, st.size)
            i, j = int(st.ids[0, a]), int(st.ids[0, b])
            st.merge(np.array([a]), np.array([b]))
            owner[owner == j] = i
            history.append((i, j))
        return AMCSample(_canonical(owner), tuple(history), float(log_q))

    def log_q_joint(self, z: np.ndarray, history) -> float:
        """log q(z, h) of a given history (replayed), nats."""
        st = _State(self.family, self.n, 1, self.alpha, self.temperature)
        log_q = 0.0
        for i, j in history:
            scores = np.append(st.pair_scores()[0], 0.0)
            a, b = st.position(0, i), st.position(0, j)
            log_q += scores[a * st.size + b] - logsumexp(scores)
            st.merge(np.array([a]), np.array([b]))
        if st.n_active > 1:
            log_q -= logsumexp(np.append(st.pair_scores()[0], 0.0))
        return float(log_q)

    def meta_smc(self, key, z: np.ndarray, retained=None) -> float:
        """Meta-inference over merge orders given z [n]; returns log q̂(z) (nats).

        ``retained=None``: SMC, E[q̂] = q(z). ``retained`` = a history of z drawn from q(h | z)
        (the forward draw): conditional SMC keeping it in the last slot, E[1/q̂ | z] = 1/q(z).
        """
        rng = numpy_rng(key)
        z = np.asarray(z)
        n, K = self.n, self.K
        # h allows only merges of pairs inside one final cluster of z
        st = _State(self.family, n, K, self.alpha, self.temperature, labels=z)
        n_steps = n - len(np.unique(z))
        if retained is not None and len(retained) != n_steps:
            raise ValueError(f"retained history has {len(retained)} merges, z needs {n_steps}")
        log_w = np.zeros(K)
        log_z = 0.0
        for s in range(n_steps):
            if s > 0 and K > 1 and _ess(log_w) < self.ess_threshold * K:
                log_z += _logmeanexp(log_w)
                anc = rng.choice(K, size=K, p=np.exp(log_w - logsumexp(log_w)))
                if retained is not None:
                    anc[-1] = K - 1  # the retained slot keeps its own ancestor
                st.take(anc)
                log_w = np.zeros(K)
            full = st.pair_scores()
            restricted = np.where(st.same, full, -np.inf)
            lse_all = np.logaddexp(_lse(full), 0.0)
            log_w += _lse(restricted) - lse_all
            c = _sample_rows(rng, restricted)
            if retained is not None:
                i, j = retained[s]
                c[-1] = st.position(K - 1, i) * st.size + st.position(K - 1, j)
            st.merge(c // st.size, c % st.size)
        if n_steps < n - 1:  # the forward proposal chose "stop" at z
            log_w += -np.logaddexp(_lse(st.pair_scores()), 0.0)
        return float(log_z + _logmeanexp(log_w))

    def random_weighted(self, key) -> tuple[np.ndarray, float]:
        """(z, log q̂) with z ∼ q and E[exp(−log q̂) | z] = 1/q(z)."""
        rng = numpy_rng(key)
        draw = self.sample_joint(rng)
        return draw.z, self.meta_smc(rng, draw.z, retained=draw.history)

    def estimate_logpdf(self, key, z: np.ndarray) -> float:
        """log q̂(z) with E[exp(log q̂)] = q(z)."""
        return self.meta_smc(key, z)

    def log_z_hat(self, key) -> tuple[float, np.ndarray]:
        """(log Ẑ, z): one-particle IS, log Ẑ = log p(z, data) − log q̂(z); E[Ẑ] = p(data)."""
        z, log_q_hat = self.random_weighted(key)
        return log_joint(self.family, z, self.alpha) - log_q_hat, z


def _lse(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """logsumexp along ``axis`` (−inf if all entries are −inf); cheaper than scipy's."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.log(np.sum(np.exp(x - m), axis=axis)) + np.squeeze(m, axis)


def _ess(log_w: np.ndarray) -> float:
    return float(np.exp(2 * logsumexp(log_w) - logsumexp(2 * log_w)))


def _logmeanexp(x: np.ndarray) -> float:
    return float(logsumexp(x) - np.log(len(x)))
