"""Collapsed cluster families for the DPMM: sufficient statistics and marginal likelihoods.

A family describes one cluster by a statistics vector of length ``d`` whose entry 0 is the
cluster size n (n = 0 is the empty cluster, whose marginal likelihood is 1). All methods are
vectorised over any leading axes ``[...]`` and use float64 NumPy:

* ``point_stats(i)``: statistics of the singleton {point i}, [..., d] for an index array i;
* ``merge(a, b)``: statistics of A ∪ B, [..., d];
* ``remove(a, p)``: statistics of A minus the point with statistics p (p must be in A);
* ``log_m(s)``: log marginal likelihood log m(c) of the cluster's data, [...] (nats).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

__all__ = ["NormalGamma", "StringClusters"]


@dataclass(frozen=True)
class NormalGamma:
    """Gaussian clusters with a conjugate Normal–Gamma prior on (μ, τ) (τ = precision).

    τ ∼ Gamma(shape α0, rate β0), μ | τ ∼ N(μ0, 1/(κ0 τ)), x | μ, τ ∼ N(μ, 1/τ).
    Statistics: (n, mean, SSE) with SSE = Σ (x − mean)²; ``data``: [n_points] float64.
    Defaults are the RAVI paper's (μ0, κ0, α0, β0) = (0, 1/100, 1/2, 1/2).
    """

    data: np.ndarray
    mu0: float = 0.0
    kappa0: float = 0.01
    alpha0: float = 0.5
    beta0: float = 0.5

    d = 3

    def point_stats(self, i) -> np.ndarray:
        x = np.asarray(self.data, dtype=np.float64)[np.asarray(i)]
        return np.stack([np.ones_like(x), x, np.zeros_like(x)], axis=-1)

    def merge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        # Chan et al.'s parallel update of (n, mean, SSE); exact for empty operands too.
        na, ma, sa = a[..., 0], a[..., 1], a[..., 2]
        nb, mb, sb = b[..., 0], b[..., 1], b[..., 2]
        n = na + nb
        safe = np.where(n > 0, n, 1.0)
        delta = mb - ma
        mean = np.where(n > 0, ma + delta * nb / safe, 0.0)
        sse = sa + sb + np.where(n > 0, delta**2 * na * nb / safe, 0.0)
        return np.stack([n, mean, sse], axis=-1)

    def remove(self, a: np.ndarray, p: np.ndarray) -> np.ndarray:
        na, ma, sa = a[..., 0], a[..., 1], a[..., 2]
        x = p[..., 1]
        n = na - 1.0
        safe = np.where(n > 0, n, 1.0)
        mean = np.where(n > 0, (na * ma - x) / safe, 0.0)
        # Welford's downdate: SSE_A = SSE_{A\x} + (x − mean_{A\x})(x − mean_A).
        sse = np.where(n > 0, np.maximum(sa - (x - mean) * (x - ma), 0.0), 0.0)
        return np.stack([n, mean, sse], axis=-1)

    def log_m(self, s: np.ndarray) -> np.ndarray:
        n, mean, sse = s[..., 0], s[..., 1], s[..., 2]
        k0, a0, b0 = self.kappa0, self.alpha0, self.beta0
        kn = k0 + n
        an = a0 + n / 2
        bn = b0 + sse / 2 + k0 * n * (mean - self.mu0) ** 2 / (2 * kn)
        out = (
            gammaln(an)
            - gammaln(a0)
            + a0 * np.log(b0)
            - an * np.log(bn)
            + 0.5 * (np.log(k0) - np.log(kn))
            - n / 2 * np.log(2 * np.pi)
        )
        return np.where(n > 0, out, 0.0)


@dataclass(frozen=True)
class StringClusters:
    """String clusters with a latent canonical string s from a finite candidate set S.

    ``log_prior``: [S] log π(s) (normalised over S, so the empty cluster has log m = 0);
    ``log_lik``: [n_points, S] log ℓ(x_i | s). Statistics: (n, Σ_{x∈c} log ℓ(x | s) for s ∈ S),
    d = 1 + S; log m(c) = logsumexp_s [log π(s) + Σ_{x∈c} log ℓ(x | s)] (exact sum).
    """

    log_prior: np.ndarray
    log_lik: np.ndarray

    @property
    def d(self) -> int:
        return 1 + self.log_prior.shape[0]

    def point_stats(self, i) -> np.ndarray:
        ll = np.asarray(self.log_lik, dtype=np.float64)[np.asarray(i)]
        return np.concatenate([np.ones((*ll.shape[:-1], 1)), ll], axis=-1)

    def merge(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return a + b

    def remove(self, a: np.ndarray, p: np.ndarray) -> np.ndarray:
        out = a - p
        # An emptied cluster is exactly zero (avoid cancellation residue in the sums).
        return np.where(out[..., :1] > 0, out, 0.0)

    def log_m(self, s: np.ndarray) -> np.ndarray:
        out = logsumexp(self.log_prior + s[..., 1:], axis=-1)
        return np.where(s[..., 0] > 0, out, 0.0)
