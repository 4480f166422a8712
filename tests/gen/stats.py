"""Statistical helpers: mean-within-k-standard-errors checks with fixed seeds."""

import numpy as np


def mean_se(x):
    """(mean, standard error) of a 1-D sample."""
    x = np.asarray(x, dtype=np.float64)
    return x.mean(), x.std(ddof=1) / np.sqrt(x.size)


def assert_mean_close(x, target, k=3.0, what=""):
    """|mean(x) − target| ≤ k standard errors."""
    m, se = mean_se(x)
    assert abs(m - target) <= k * se, f"{what}: mean {m:.6g} vs {target:.6g}, SE {se:.3g}"
