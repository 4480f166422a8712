"""R2: MCVI / RAVI-MCVI on the linear-Gaussian unimodal case, against closed forms; AIS."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.ravi.mcvi import (
    EPS,
    TARGETS,
    Marginals,
    ReverseKernel,
    ais_mala,
    ais_schedule,
    mcvi_weights,
    train_reverse_kernel,
)

# ULA on N(−1, 0.2²) with ε = 0.015: x' = 0.625 x − 0.375 + √0.03 ξ, x_1 ∼ N(0, 9).
A, B, S2 = 1 - EPS / 0.04, -EPS / 0.04, 2 * EPS
M = 3
# A deliberately imperfect linear-Gaussian reverse kernel r_t(x_t | x_{t+1}) = N(C x + D, SR²).
C, D, SR = 0.9, -0.1, 0.35


def _joint():
    """Mean [M+1] and covariance [M+1, M+1] of (x_1..x_{M+1}) under the forward chain."""
    # x = L ξ + m with ξ = (x_1 noise, ξ_1..ξ_M) standard normal
    L = np.zeros((M + 1, M + 1))
    m = np.zeros(M + 1)
    L[0, 0] = 3.0
    for t in range(M):
        L[t + 1] = A * L[t]
        L[t + 1, t + 1] = np.sqrt(S2)
        m[t + 1] = A * m[t] + B
    return m, L @ L.T


def _exact():
    m, S = _joint()
    v = S[M, M]
    # ELBO(q) = −KL(N(m, v) ‖ N(−1, 0.04)), since π is normalised (log Z = 0)
    kl = 0.5 * (np.log(0.04 / v) + (v + (m[M] + 1) ** 2) / 0.04 - 1)
    # K = 1 meta gap: E[log q(x, u)] − E[log q(x)] − E[log r(u | x)]
    e_joint = -0.5 * np.linalg.slogdet(2 * np.pi * np.e * S)[1]
    e_marg = -0.5 * np.log(2 * np.pi * np.e * v)
    e_r = 0.0
    for t in range(M):  # E[log N(x_t; C x_{t+1} + D, SR²)]
        a = np.zeros(M + 1)
        a[t], a[t + 1] = 1.0, -C
        second = a @ S @ a + (a @ m - D) ** 2
        e_r += -0.5 * np.log(2 * np.pi * SR**2) - second / (2 * SR**2)
    return -kl, e_joint - e_marg - e_r, m, S


def _marginals():
    m, S = _joint()
    mean = np.zeros(102)
    sd = np.ones(102)
    mean[1 : M + 2] = m
    sd[1 : M + 2] = np.sqrt(np.diag(S))
    return Marginals(jnp.asarray(mean), jnp.asarray(sd))


def test_ravi_mcvi_bounds_and_meta_gap_on_linear_gaussian():
    elbo_q, gap1, _, _ = _exact()
    assert gap1 > 1.0  # the reverse kernel is poor, so the K = 1 gap is large
    lt = TARGETS["unimodal"]
    marg = _marginals()
    rev = lambda t, x: (C * x + D, SR)  # noqa: E731
    n = 20000
    run = jax.jit(lambda key, K: mcvi_weights(key, lt, rev, marg, M, K, n, 0.25), static_argnums=1)
    means, ses = {}, {}
    for K in (1, 10):
        w = np.asarray(run(jax.random.key(K), K))
        means[K], ses[K] = w.mean(), w.std() / np.sqrt(n)
        assert means[K] <= elbo_q + 3 * ses[K]  # ELBO_RAVI(K) ≤ ELBO(q) ≤ log Z = 0
    # K = 1 is MCVI: its gap to the exact ELBO equals E_x KL(q(u | x) ‖ r(u; x))
    assert elbo_q - means[1] == pytest.approx(gap1, abs=3 * ses[1])
    # the meta-inference gap shrinks with K
    assert means[10] > means[1] + 3 * np.hypot(ses[1], ses[10])


def test_ais_schedule_and_unbiasedness():
    for m in (1, 4, 10, 37):
        b = ais_schedule(m)
        assert len(b) == m and b[-1] == pytest.approx(1.0) and np.all(np.diff(b) > 0)
    assert ais_schedule(10)[1] == pytest.approx(0.005)
    lw = np.asarray(ais_mala(jax.random.key(0), TARGETS["multimodal"], 25, 20000))
    w = np.exp(lw)
    assert abs(w.mean() - 1) < 3 * w.std() / np.sqrt(len(w))  # E[W] = Z = 1
    assert lw.mean() <= 0


def test_reverse_kernel_training_reduces_loss():
    kernel = ReverseKernel(jax.random.key(0))
    mean, sd = kernel(7, jnp.asarray(0.3))
    assert mean.shape == () and sd > 0
    _, losses = train_reverse_kernel(
        jax.random.key(1), TARGETS["unimodal"], epochs=3, chains=30, lr=1e-3, kernel=kernel
    )
    assert losses[-1] < losses[0] - 10
