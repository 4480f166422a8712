"""k-nearest-neighbour baselines (no bounds; they degrade with dimension): Kozachenko–Leonenko
entropy and the Kraskov–Stögbauer–Grassberger (KSG, algorithm 1) mutual information.

Both use ``scipy.spatial.cKDTree``. Units: nats. Samples are rows, shape (N, d).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma, gammaln

__all__ = ["kl_entropy", "ksg_mi"]


def kl_entropy(x: np.ndarray, k: int = 5) -> float:
    """Kozachenko–Leonenko estimate of the differential entropy H(X) in nats.

    H ≈ ψ(N) − ψ(k) + log V_d + (d/N) Σ_i log ε_i, with ε_i the Euclidean distance from x_i to
    its k-th nearest neighbour and V_d = π^{d/2} / Γ(d/2 + 1) the unit-ball volume.
    """
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n, d = x.shape
    if n <= k:
        raise ValueError(f"kl_entropy needs more than k={k} samples, got {n}")
    dist, _ = cKDTree(x).query(x, k=k + 1)  # the first neighbour is the point itself
    eps = dist[:, -1]
    if np.any(eps <= 0):
        raise ValueError("kl_entropy: duplicate samples (zero neighbour distance)")
    log_vd = 0.5 * d * math.log(math.pi) - gammaln(0.5 * d + 1)
    return float(digamma(n) - digamma(k) + log_vd + d * np.mean(np.log(eps)))


def ksg_mi(x: np.ndarray, y: np.ndarray, k: int = 3) -> float:
    """KSG (algorithm 1) estimate of I(X; Y) in nats, max-norm in the joint space.

    I ≈ ψ(k) + ψ(N) − ⟨ψ(n_x + 1) + ψ(n_y + 1)⟩, where n_x (n_y) counts the other points strictly
    closer than the joint k-th-neighbour distance ε_i in the X (Y) space alone.
    """
    x = np.asarray(x, np.float64).reshape(len(x), -1)
    y = np.asarray(y, np.float64).reshape(len(y), -1)
    n = len(x)
    xy = np.hstack([x, y])
    dist, _ = cKDTree(xy).query(xy, k=k + 1, p=np.inf)
    eps = dist[:, -1]
    # strictly closer: shrink the radius by one ulp; subtract the point itself
    r = np.nextafter(eps, 0)
    nx = cKDTree(x).query_ball_point(x, r, p=np.inf, return_length=True) - 1
    ny = cKDTree(y).query_ball_point(y, r, p=np.inf, return_length=True) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(nx + 1) + digamma(ny + 1)))
