"""Baselines for the DPMM marginal likelihood: locally-optimal sequential SMC and collapsed Gibbs.

Particles/chains are batched: the state is cluster statistics ``stats`` [N, S, d] over S slots
(empty slots have n = 0), their log marginal likelihoods ``logm`` [N, S] and labels ``z`` [N, n]
(slot per point, −1 if not yet assigned). The exact conditional of one point given the others
is computed for all particles at once (one NumPy expression over [N, S]); the loop is over
points only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

from simlab.ravi.amc import numpy_rng

__all__ = ["GibbsResult", "SMCResult", "gibbs", "lo_smc"]


@dataclass(frozen=True)
class SMCResult:
    """``log_z_hat``: log Ẑ with E[Ẑ] = p(data) (so E[log_z_hat] ≤ log p(data));
    ``z``: [N, n] final slot labels; ``n_clusters``: [N]."""

    log_z_hat: float
    z: np.ndarray
    n_clusters: np.ndarray


@dataclass(frozen=True)
class GibbsResult:
    """``log_joint``: [n_sweeps + 1, N] log p(z, data) after each sweep (index 0: the start);
    every entry is a deterministic lower bound on log p(data) (one term of the sum);
    ``z``: [N, n] final labels; ``n_clusters``: [n_sweeps + 1, N]."""

    log_joint: np.ndarray
    z: np.ndarray
    n_clusters: np.ndarray


class _Batch:
    def __init__(self, family, n: int, N: int, alpha: float):
        self.family, self.alpha = family, alpha
        self.stats = np.zeros((N, n, family.d))
        self.logm = np.zeros((N, n))
        self.z = np.full((N, n), -1)
        self.rows = np.arange(N)

    def conditional(self, i: int, n_slots: int):
        """Log-scores [N, n_slots] for placing point i (unnormalised by α + #assigned)."""
        p = self.family.point_stats(i)
        st = self.stats[:, :n_slots]
        cnt = st[..., 0]
        merged = self.family.merge(st, p)
        lm = self.family.log_m(merged)
        gain = np.log(np.maximum(cnt, 1)) + lm - self.logm[:, :n_slots]
        scores = np.where(cnt > 0, gain, -np.inf)
        new = np.argmax(cnt == 0, axis=1)  # first empty slot
        scores[self.rows, new] = np.log(self.alpha) + float(self.family.log_m(p))
        return scores, merged, lm

    def place(self, i: int, c: np.ndarray, merged: np.ndarray, lm: np.ndarray) -> None:
        self.stats[self.rows, c] = merged[self.rows, c]
        self.logm[self.rows, c] = lm[self.rows, c]
        self.z[:, i] = c

    def remove(self, i: int) -> None:
        c = self.z[:, i]
        p = self.family.point_stats(i)
        s = self.family.remove(self.stats[self.rows, c], p)
        self.stats[self.rows, c] = s
        self.logm[self.rows, c] = self.family.log_m(s)
        self.z[:, i] = -1

    def n_slots(self) -> int:
        used = np.flatnonzero((self.stats[..., 0] > 0).any(axis=0))
        return min(self.stats.shape[1], (used[-1] + 2) if len(used) else 1)

    def take(self, anc: np.ndarray) -> None:
        self.stats, self.logm, self.z = self.stats[anc], self.logm[anc], self.z[anc]

    def log_joint(self) -> np.ndarray:
        """[N] log p(z, data) of complete assignments."""
        cnt = self.stats[..., 0]
        n = self.z.shape[1]
        k = (cnt > 0).sum(axis=1)
        crp = (
            k * np.log(self.alpha)
            + np.where(cnt > 0, gammaln(np.maximum(cnt, 1)), 0.0).sum(axis=1)
            - np.log(self.alpha + np.arange(n)).sum()
        )
        return crp + self.logm.sum(axis=1)

    def sweep(self, rng: np.random.Generator, points) -> None:
        """One collapsed-Gibbs sweep over ``points``: remove each, resample exactly."""
        for i in points:
            self.remove(i)
            scores, merged, lm = self.conditional(i, self.n_slots())
            self.place(i, _sample_rows(rng, scores), merged, lm)


def _sample_rows(rng, logits):
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    c = np.cumsum(p, axis=1)
    u = rng.random(len(c)) * c[:, -1]
    return np.minimum((c <= u[:, None]).sum(axis=1), logits.shape[1] - 1)


def lo_smc(
    key, family, n: int, N: int = 100, alpha: float = 1.0, gibbs_every: int = 0
) -> SMCResult:
    """Locally-optimal SMC over points 0..n−1 in data order, N particles.

    Point i is placed by its exact conditional given the earlier points; the weight increment is
    log Σ (options) − log(α + i); multinomial resampling after every point. ``gibbs_every`` > 0:
    a collapsed-Gibbs sweep over the points so far after every ``gibbs_every`` points
    (a rejuvenation kernel invariant for the current target, so E[Ẑ] = p(data) still holds).
    """
    rng = numpy_rng(key)
    b = _Batch(family, n, N, alpha)
    log_z = 0.0
    for i in range(n):
        scores, merged, lm = b.conditional(i, b.n_slots())
        incr = logsumexp(scores, axis=1) - np.log(alpha + i)
        b.place(i, _sample_rows(rng, scores), merged, lm)
        log_z += float(logsumexp(incr) - np.log(N))
        if i < n - 1:
            b.take(rng.choice(N, size=N, p=np.exp(incr - logsumexp(incr))))
            if gibbs_every and (i + 1) % gibbs_every == 0:
                b.sweep(rng, range(i + 1))
    return SMCResult(log_z, b.z, (b.stats[..., 0] > 0).sum(axis=1))


def gibbs(
    key, family, n: int, n_sweeps: int, N: int = 1, alpha: float = 1.0, init: str = "singletons"
) -> GibbsResult:
    """Collapsed Gibbs for the DPMM partition, N independent chains.

    init: "singletons" (every point alone) or "one" (one cluster). Returns the log joint after
    each sweep; the best value found is a (deterministic, not unbiased) lower bound on
    log p(data).
    """
    if init not in ("singletons", "one"):
        raise ValueError(f"gibbs init must be 'singletons' or 'one', got {init!r}")
    rng = numpy_rng(key)
    b = _Batch(family, n, N, alpha)
    for i in range(n):
        c = np.full(N, i if init == "singletons" else 0)
        merged = family.merge(b.stats, family.point_stats(i))
        b.place(i, c, merged, family.log_m(merged))
    lj, kc = [b.log_joint()], [(b.stats[..., 0] > 0).sum(axis=1)]
    for _ in range(n_sweeps):
        b.sweep(rng, range(n))
        lj.append(b.log_joint())
        kc.append((b.stats[..., 0] > 0).sum(axis=1))
    return GibbsResult(np.array(lj), b.z.copy(), np.array(kc))
