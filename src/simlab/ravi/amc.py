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
    """K agglomeration states over n slots; slot i starts as the singleton {point i}."""

    def __init__(self, family, n: int, K: int, alpha: float, temperature: float):
        self.family, self.alpha, self.T = family, alpha, temperature
        s = family.point_stats(np.arange(n))  # [n, d]
        self.stats = np.broadcast_to(s, (K, *s.shape)).copy()
        self.active = np.ones((K, n), dtype=bool)
        d = np.empty((n, n))
        for lo in range(0, n, 256):  # row chunks keep memory at 256·n·d
            d[lo : lo + 256] = merge_delta(family, s[lo : lo + 256, None], s[None], alpha)
        np.fill_diagonal(d, -np.inf)
        self.delta = np.broadcast_to(d, (K, n, n)).copy()
        self.n_active = np.full(K, n)
        self.triu = np.triu(np.ones((n, n), dtype=bool), 1)

    def pair_scores(self, mask=None) -> np.ndarray:
        """Log-scores T·Δ of active unordered pairs, [K, n·n] (−inf elsewhere)."""
        ok = self.triu & self.active[:, :, None] & self.active[:, None, :]
        if mask is not None:
            ok = ok & mask
        return np.where(ok, self.T * self.delta, -np.inf).reshape(len(ok), -1)

    def merge(self, i: np.ndarray, j: np.ndarray) -> None:
        """Merge slot j into slot i (i < j), one pair per particle: i, j [K] ints."""
        k = np.arange(len(i))
        self.stats[k, i] = self.family.merge(self.stats[k, i], self.stats[k, j])
        self.active[k, j] = False
        self.n_active -= 1
        row = merge_delta(self.family, self.stats[k, i][:, None], self.stats, self.alpha)
        row = np.where(self.active, row, -np.inf)
        row[k, i] = -np.inf
        self.delta[k, i, :] = row
        self.delta[k, :, i] = row
        self.delta[k, j, :] = -np.inf
        self.delta[k, :, j] = -np.inf

    def take(self, ancestors: np.ndarray) -> None:
        for name in ("stats", "active", "delta", "n_active"):
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
        while st.n_active[0] > 1:
            scores = np.append(st.pair_scores()[0], 0.0)  # last entry: stop
            lse = logsumexp(scores)
            c = int(_sample_rows(rng, scores[None])[0])
            log_q += scores[c] - lse
            if c == len(scores) - 1:
                break
            i, j = divmod(c, self.n)
            st.merge(np.array([i]), np.array([j]))
            owner[owner == j] = i
            history.append((i, j))
        return AMCSample(_canonical(owner), tuple(history), float(log_q))

    def log_q_joint(self, z: np.ndarray, history) -> float:
        """log q(z, h) of a given history (replayed), nats."""
        st = _State(self.family, self.n, 1, self.alpha, self.temperature)
        log_q = 0.0
        for i, j in history:
            scores = np.append(st.pair_scores()[0], 0.0)
            log_q += scores[i * self.n + j] - logsumexp(scores)
            st.merge(np.array([i]), np.array([j]))
        if st.n_active[0] > 1:
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
        same = z[:, None] == z[None, :]
        st = _State(self.family, n, K, self.alpha, self.temperature)
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
            restricted = np.where(same.ravel(), full, -np.inf)
            lse_all = np.logaddexp(logsumexp(full, axis=1), 0.0)
            log_w += logsumexp(restricted, axis=1) - lse_all
            c = _sample_rows(rng, restricted)
            if retained is not None:
                i, j = retained[s]
                c[-1] = i * n + j
            st.merge(c // n, c % n)
        if n_steps < n - 1:  # the forward proposal chose "stop" at z
            log_w += -np.logaddexp(logsumexp(st.pair_scores(), axis=1), 0.0)
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


def _ess(log_w: np.ndarray) -> float:
    return float(np.exp(2 * logsumexp(log_w) - logsumexp(2 * log_w)))


def _logmeanexp(x: np.ndarray) -> float:
    return float(logsumexp(x) - np.log(len(x)))
