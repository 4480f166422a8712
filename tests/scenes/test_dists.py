import math

import jax
import jax.numpy as jnp
import numpy as np
from scipy import integrate, stats

from simlab.scenes import dists, geometry


def _w_cdf(kappa):
    # marginal of w = q_0 under vMF on S^3: density ∝ exp(κw) (1 − w²)^{1/2} on [−1, 1]
    grid = np.linspace(-1, 1, 20001)
    dens = np.exp(kappa * (grid - 1)) * np.sqrt(1 - grid**2)
    cdf = integrate.cumulative_trapezoid(dens, grid, initial=0)
    cdf /= cdf[-1]
    return lambda x: np.interp(x, grid, cdf)


def test_vmf_s3_marginal_matches_density():
    for kappa in (3.0, 100.0):
        q = np.asarray(dists.vmf_s3_sample(jax.random.key(0), kappa, (3000,)))
        np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, atol=1e-5)
        p = stats.kstest(q[:, 0], _w_cdf(kappa)).pvalue
        assert p > 1e-3, (kappa, p)
        # the vector part is isotropic
        assert np.abs(q[:, 1:].mean(0)).max() < 0.05


def test_vmf_rotation_density_normalised_on_hemisphere():
    # E_uniform[p(R) / p_uniform(R)] = 1 when p is a density w.r.t. the hemisphere measure
    q = dists.uniform_rotation_sample(jax.random.key(1), (200000,))
    ratio = jax.jit(lambda q, k: jnp.exp(dists.vmf_rotation_logpdf(q, k) + dists.LOG_PI2).mean())
    for kappa in (0.0, 2.0, 8.0):
        assert abs(float(ratio(q, kappa)) - 1.0) < 0.03, kappa


def test_per_axis_spread():
    # spread ≈ 2/√κ rad per axis for large κ
    q = dists.vmf_rotation_sample(jax.random.key(2), 1000.0, (3000,))
    axis_angle = 2 * np.asarray(q)[:, 1:] * np.sign(np.asarray(q)[:, :1])
    assert abs(axis_angle.std(0).mean() - 2 / math.sqrt(1000)) < 0.005


@jax.jit
def _pose_densities(key):
    t, q = jnp.array([0.1, 0.2, 0.3]), geometry.uniform_quat(key)
    t2, q2 = dists.gaussian_vmf_pose_sample(jax.random.fold_in(key, 1), t, q, 0.01, 50.0)
    fwd = dists.gaussian_vmf_pose_logpdf(t2, q2, t, q, 0.01, 50.0)
    bwd = dists.gaussian_vmf_pose_logpdf(t, q, t2, q2, 0.01, 50.0)
    neg = dists.gaussian_vmf_pose_logpdf(t2, -q2, t, q, 0.01, 50.0)
    return fwd, bwd, neg


def test_gaussian_vmf_pose_symmetric():
    fwd, bwd, neg = _pose_densities(jax.random.key(3))
    assert abs(float(fwd - bwd)) < 1e-3
    assert abs(float(fwd - neg)) < 1e-3  # invariant to the sign of the quaternion


def test_vmf_direction_normalised():
    d = np.random.default_rng(0).normal(size=(200000, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    mu = jnp.array([0.0, 0.0, -1.0])
    dens = jnp.exp(dists.vmf_direction_logpdf(jnp.asarray(d), mu, 5.0))
    assert abs(float(dens.mean()) * 4 * math.pi - 1) < 0.03
