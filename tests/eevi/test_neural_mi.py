"""MI baselines (InfoNCE, NWJ, MINE/DV): the batch bounds at the optimal critic against the
Gaussian closed form, and a trained InfoNCE critic on the d = 4 MVN check."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.eevi.mvn import gaussian_mi, wishart_cov
from simlab.eevi.neural_mi import batch_bounds, estimate_mi, gaussian_sampler, train_critic


def test_batch_bounds_at_the_optimal_critic():
    """With F_ij = log p(x_i, y_j) / p(x_i)p(y_j) + 1 the NWJ value is unbiased for I; InfoNCE
    (shift-invariant) is ≤ I and ≤ log B; DV is close to I (its log term is biased)."""
    rho = 0.8
    mi = -0.5 * math.log(1 - rho**2)
    B, n_batches = 64, 400
    v = jax.random.normal(jax.random.key(0), (n_batches, B, 2))
    x = v[..., 0]
    y = rho * x + math.sqrt(1 - rho**2) * v[..., 1]

    def log_ratio(xi, yj):  # log N(y; ρx, 1−ρ²) − log N(y; 0, 1)
        s2 = 1 - rho**2
        return -0.5 * (yj - rho * xi) ** 2 / s2 - 0.5 * math.log(s2) + 0.5 * yj**2

    F = jax.vmap(lambda a, b: log_ratio(a[:, None], b[None, :]))(x, y) + 1.0
    vals = {k: np.asarray(u) for k, u in jax.jit(jax.vmap(batch_bounds))(F).items()}
    se = {k: u.std(ddof=1) / np.sqrt(n_batches) for k, u in vals.items()}
    assert vals["nwj"].mean() == pytest.approx(mi, abs=4 * se["nwj"])
    assert vals["infonce"].mean() <= mi + 3 * se["infonce"]
    assert vals["infonce"].max() <= math.log(B) + 1e-9
    assert vals["infonce"].mean() > mi - 0.1  # B = 64 ≫ e^I: nearly tight
    assert vals["mine"].mean() == pytest.approx(mi, abs=4 * se["mine"] + 0.02)


def test_trained_infonce_on_mvn_d4():
    cov = wishart_cov(4, seed=4)
    mi = gaussian_mi(cov, [0, 1], [2, 3])
    sample = gaussian_sampler(cov, 2)
    critic, vals = train_critic(jax.random.key(0), sample, 2, 2, "infonce", steps=300, batch=64,
                                lr=3e-3, width=32)  # fmt: skip
    assert vals.shape == (300,) and np.isfinite(np.asarray(vals)).all()
    est = estimate_mi(jax.random.key(1), critic, sample, batch=64, n_batches=40)
    m, se = est["infonce"]
    assert m <= mi + 3 * se and m <= est["log_batch"]
    assert m > mi - 0.3  # it learned most of the dependence (I ≈ 1.8 nats here)
    assert jnp.mean(vals[:20]) < m - 0.5  # and it did learn
