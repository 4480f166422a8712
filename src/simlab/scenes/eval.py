"""Pose-error metrics: ADD, ADD-S, the YCB-Video AUC up to 10 cm, and % under thresholds.

Poses are 4×4 matrices (object → world); model points (M, 3) are in the object frame [m].
NumPy/SciPy, float64 (metrics are computed once per object, not in hot loops).
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

__all__ = ["add", "add_s", "auc", "fraction_below"]


def _apply(T, x):
    T = np.asarray(T, np.float64)
    return np.asarray(x, np.float64) @ T[:3, :3].T + T[:3, 3]


def add(T_true, T_est, points) -> float:
    """ADD [m]: mean over model points x of ‖(R x + t) − (R̂ x + t̂)‖."""
    return float(np.linalg.norm(_apply(T_true, points) - _apply(T_est, points), axis=1).mean())


def add_s(T_true, T_est, points) -> float:
    """ADD-S [m]: mean over x₁ of min over x₂ of ‖(R x₁ + t) − (R̂ x₂ + t̂)‖ (symmetric objects)."""
    a = _apply(T_true, points)
    b = _apply(T_est, points)
    d, _ = cKDTree(b).query(a, k=1)
    return float(d.mean())


def auc(errors, max_threshold: float = 0.1) -> float:
    """Area under the accuracy–threshold curve up to ``max_threshold`` [m], as a fraction.

    The YCB-Video toolbox's VOCap: errors above the threshold count as failures, accuracy at
    the k-th smallest error is k/n over all n instances, the precision envelope is made
    monotone, and the area is normalised by the threshold. [0.05] → 1.0, [0.2] → 0,
    [0, 0.2] → 0.5, [0.02, 0.04, 0.06, 0.08] → 0.7.
    """
    e = np.sort(np.asarray(errors, np.float64).reshape(-1))
    n = len(e)
    if n == 0:
        raise ValueError("auc of an empty error list")
    e = np.where(e > max_threshold, np.inf, e)
    acc = np.arange(1, n + 1) / n
    finite = np.isfinite(e)
    if not finite.any():
        return 0.0
    mrec = np.concatenate([[0.0], e[finite], [max_threshold]])
    mpre = np.concatenate([[0.0], acc[finite], [acc[finite][-1]]])
    for i in range(1, len(mpre)):  # running max, as the toolbox does
        mpre[i] = max(mpre[i], mpre[i - 1])
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mpre[idx]) / max_threshold)


def fraction_below(errors, threshold: float) -> float:
    """Fraction of errors strictly below ``threshold`` [m] (e.g. 0.01, 0.02)."""
    e = np.asarray(errors, np.float64).reshape(-1)
    return float(np.mean(e < threshold)) if len(e) else float("nan")
