"""The Dirichlet-process mixture model with collapsed clusters: CRP prior, log joint, oracle.

A partition of n items is a label array z [n] of ints (cluster ids, any values). The prior is
the Chinese restaurant process with concentration α:

    log p(z) = k log α + Σ_c log Γ(n_c) − Σ_{i=0}^{n−1} log(α + i)

and log p(z, data) = log p(z) + Σ_c log m(c) for a cluster family (``simlab.ravi.clusters``).
:func:`exact_log_marginal` sums p(z, data) over all Bell(n) partitions: the oracle for every
marginal-likelihood estimator on tiny data (n ≤ 9).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from scipy.special import gammaln, logsumexp

__all__ = [
    "cluster_stats",
    "crp_log_prior",
    "exact_log_marginal",
    "log_joint",
    "merge_delta",
    "set_partitions",
]


def set_partitions(n: int) -> Iterator[np.ndarray]:
    """All partitions of range(n) as restricted-growth label arrays [n] (Bell(n) of them)."""
    z = [0] * n

    def rec(i: int, k: int) -> Iterator[np.ndarray]:
        if i == n:
            yield np.array(z)
            return
        for c in range(k + 1):
            z[i] = c
            yield from rec(i + 1, max(k, c + 1))

    if n == 0:
        yield np.zeros(0, dtype=int)
        return
    yield from rec(0, 0)


def crp_log_prior(z: np.ndarray, alpha: float = 1.0) -> float:
    """log CRP(z; α) for labels z [n] (nats)."""
    _, sizes = np.unique(z, return_counts=True)
    n = len(z)
    return float(
        len(sizes) * np.log(alpha) + gammaln(sizes).sum() - np.log(alpha + np.arange(n)).sum()
    )


def cluster_stats(family, z: np.ndarray) -> np.ndarray:
    """Statistics [k, d] of the clusters of z (in order of np.unique labels)."""
    out = []
    for c in np.unique(z):
        idx = np.flatnonzero(z == c)
        s = family.point_stats(idx[0])
        for i in idx[1:]:
            s = family.merge(s, family.point_stats(i))
        out.append(s)
    return np.stack(out)


def log_joint(family, z: np.ndarray, alpha: float = 1.0) -> float:
    """log p(z, data) = log CRP(z) + Σ_c log m(c) (nats)."""
    return crp_log_prior(z, alpha) + float(family.log_m(cluster_stats(family, z)).sum())


def merge_delta(family, a: np.ndarray, b: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Δ(A, B) = log p(z with A ∪ B) − log p(z) for cluster statistics a, b [..., d]."""
    na, nb = a[..., 0], b[..., 0]
    prior = gammaln(na + nb) - gammaln(na) - gammaln(nb) - np.log(alpha)
    lik = family.log_m(family.merge(a, b)) - family.log_m(a) - family.log_m(b)
    return prior + lik


def exact_log_marginal(family, n: int, alpha: float = 1.0) -> float:
    """log p(data) = logsumexp over all partitions of the first n points of log p(z, data).

    Cost Bell(n) log-joints: fine for n ≤ 9 (21,147 partitions).
    """
    if n > 10:
        raise ValueError(f"exact enumeration over Bell({n}) partitions is too large (n ≤ 10)")
    return float(logsumexp([log_joint(family, z, alpha) for z in set_partitions(n)]))
