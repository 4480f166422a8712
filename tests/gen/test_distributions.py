"""Distributions: log-densities against scipy.stats and sampling against their CDFs/pmfs."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats as st

from simlab.gen import (
    bernoulli,
    beta,
    categorical,
    categorical_logits,
    delta,
    dirichlet,
    gamma,
    labeled_categorical,
    mixture,
    mv_normal,
    mv_normal_chol,
    neg_binomial,
    normal,
    poisson,
    uniform,
    uniform_discrete,
    uniform_rotation,
    vmf,
)

from .fast import jit0

N = 4000
COV = np.array([[2.0, 0.6], [0.6, 1.0]])
MIX = mixture([normal, normal])
MIX_ARGS = (np.log(np.array([0.3, 0.7])), (-1.0, 0.5), (2.0, 1.0))
MU3 = np.array([0.0, 0.6, 0.8])

CONT = {  # name: (dist, params, scipy frozen distribution)
    "normal": (normal, (0.5, 2.0), st.norm(0.5, 2.0)),
    "uniform": (uniform, (-1.0, 3.0), st.uniform(-1.0, 4.0)),
    "gamma": (gamma, (2.5, 1.5), st.gamma(2.5, scale=1 / 1.5)),
    "beta": (beta, (2.0, 5.0), st.beta(2.0, 5.0)),
}
DISC = {
    "categorical": (categorical, (np.array([0.2, 0.5, 0.3]),), np.array([0.2, 0.5, 0.3])),
    "categorical_logits": (
        categorical_logits,
        (np.log(np.array([0.6, 0.1, 0.3])) + 3.0,),
        np.array([0.6, 0.1, 0.3]),
    ),
    "bernoulli": (bernoulli, (0.3,), np.array([0.7, 0.3])),
    "uniform_discrete": (uniform_discrete, (2, 5), np.r_[0, 0, 0.25, 0.25, 0.25, 0.25]),
    "poisson": (poisson, (3.0,), st.poisson(3.0).pmf(np.arange(30))),
    "neg_binomial": (neg_binomial, (3.0, 0.4), st.nbinom(3.0, 0.4).pmf(np.arange(60))),
}


def _draws():
    """N draws of each distribution: batched parameters where the sampler broadcasts (one
    call, no vmap: cheaper to compile), vmap over keys for the rest."""
    key = jax.random.key(0)
    keys = jax.random.split(key, N)

    def batched(d, params):
        return d.sample(
            key, *(jnp.broadcast_to(jnp.asarray(p), (N, *jnp.shape(p))) for p in params)
        )

    def vmapped(d, params):
        return jax.vmap(lambda k: d.sample(k, *params))(keys)

    out = {n: batched(d, p) for n, (d, p, _) in {**CONT, **DISC}.items()}
    out["mv_normal"] = mv_normal.sample(
        key, jnp.broadcast_to(jnp.array([1.0, -1.0]), (N, 2)), jnp.asarray(COV)
    )
    out["mixture"] = vmapped(MIX, MIX_ARGS)
    out["vmf"] = vmapped(vmf, (jnp.asarray(MU3), 4.0))
    out["rotation"] = vmapped(uniform_rotation, ())
    out["dirichlet"] = batched(dirichlet, (np.array([2.0, 3.0, 4.0]),))
    return out


X2 = np.array([0.3, -0.4])
P3 = np.array([0.2, 0.3, 0.5])


def _logpdfs():
    """Every log-density the test compares, computed in one compiled program."""
    out = {}
    for name, (d, params, ref) in CONT.items():
        out[name] = d.logpdf(jnp.asarray(ref.ppf(np.array([0.01, 0.3, 0.5, 0.9]))), *params)
    for name, (d, params, pmf) in DISC.items():
        out[name] = d.logpdf(jnp.arange(min(len(pmf), 8)), *params)
    chol = jnp.linalg.cholesky(jnp.asarray(COV))
    out["mv_normal"] = mv_normal.logpdf(jnp.asarray(X2), jnp.array([1.0, -1.0]), jnp.asarray(COV))
    out["mv_normal_chol"] = mv_normal_chol.logpdf(jnp.asarray(X2), jnp.zeros(2), chol)
    out["dirichlet"] = dirichlet.logpdf(jnp.asarray(P3), jnp.array([2.0, 3.0, 4.0]))
    out["mixture"] = MIX.logpdf(0.4, *MIX_ARGS)
    out["labeled"] = labeled_categorical.logpdf(20, jnp.array([10, 20, 30]), jnp.asarray(P3))
    out["zero_prob"] = jnp.stack(
        [
            uniform.logpdf(5.0, 0.0, 1.0),
            categorical.logpdf(3, jnp.asarray(P3)),
            categorical.logpdf(-1, jnp.asarray(P3)),
            gamma.logpdf(-1.0, 2.0, 1.0),
            poisson.logpdf(1.5, 2.0),
            delta.logpdf(1.1, 1.0),
        ]
    )
    out["delta_at"] = delta.logpdf(1.0, 1.0)
    return out


def test_logpdfs_match_scipy():
    lp = jit0(_logpdfs)()
    for name, (_, _, ref) in CONT.items():
        xs = ref.ppf(np.array([0.01, 0.3, 0.5, 0.9]))
        np.testing.assert_allclose(lp[name], ref.logpdf(xs), rtol=1e-10, err_msg=name)
    for name, (_, _, pmf) in DISC.items():
        k = np.arange(min(len(pmf), 8))
        got = np.exp(np.asarray(lp[name]))
        np.testing.assert_allclose(got, pmf[k], rtol=1e-10, atol=1e-300, err_msg=name)
    mvn = st.multivariate_normal([1.0, -1.0], COV).logpdf(X2)
    np.testing.assert_allclose(lp["mv_normal"], mvn, rtol=1e-10)
    mvn0 = st.multivariate_normal([0.0, 0.0], COV).logpdf(X2)
    np.testing.assert_allclose(lp["mv_normal_chol"], mvn0, rtol=1e-10)
    want = st.dirichlet([2.0, 3.0, 4.0]).logpdf(P3)
    np.testing.assert_allclose(lp["dirichlet"], want, rtol=1e-10)
    want = np.logaddexp(
        np.log(0.3) + st.norm.logpdf(0.4, -1, 0.5), np.log(0.7) + st.norm.logpdf(0.4, 2, 1)
    )
    np.testing.assert_allclose(lp["mixture"], want, rtol=1e-10)
    np.testing.assert_allclose(lp["labeled"], np.log(0.3), rtol=1e-12)
    # zero-probability values are −inf, never clipped
    assert np.all(np.asarray(lp["zero_prob"]) == -np.inf)
    assert lp["delta_at"] == 0.0


def test_vmf_normalised_and_rotation_haar():
    # ∫ p dA = 1 over S²: Monte Carlo with uniform points (area 4π)
    pts = jax.random.normal(jax.random.key(1), (200_000, 3))
    pts = pts / jnp.linalg.norm(pts, axis=1, keepdims=True)
    dens = jnp.exp(jit0(jax.vmap(lambda x: vmf.logpdf(x, jnp.asarray(MU3), 4.0)))(pts))
    np.testing.assert_allclose(4 * np.pi * float(dens.mean()), 1.0, rtol=0.02)
    np.testing.assert_allclose(uniform_rotation.logpdf(jnp.eye(3)), -np.log(8 * np.pi**2))


def test_sampling_matches_distributions():
    d = jit0(_draws)()
    for name, (_, _, ref) in CONT.items():
        assert st.kstest(np.asarray(d[name]), ref.cdf).pvalue > 1e-3, name
    for name, (_, _, pmf) in DISC.items():
        counts = np.bincount(np.asarray(d[name]), minlength=len(pmf))[: len(pmf)]
        keep = pmf * N > 5  # pool the sparse tail for χ²
        obs, exp = counts[keep], N * pmf[keep]
        if 1 - pmf[keep].sum() > 1e-9:
            obs, exp = np.r_[obs, N - obs.sum()], np.r_[exp, N * (1 - pmf[keep].sum())]
        assert st.chisquare(obs, exp).pvalue > 1e-3, name
    mv = np.asarray(d["mv_normal"])
    np.testing.assert_allclose(mv.mean(0), [1.0, -1.0], atol=4 * np.sqrt(2.0 / N))
    np.testing.assert_allclose(np.cov(mv.T), COV, atol=0.15)
    cdf = lambda x: 0.3 * st.norm.cdf(x, -1, 0.5) + 0.7 * st.norm.cdf(x, 2, 1)  # noqa: E731
    assert st.kstest(np.asarray(d["mixture"]), cdf).pvalue > 1e-3
    # vMF on S²: unit norm; E[μ·x] = coth κ − 1/κ; w = μ·x has density ∝ e^{κw} on [−1, 1]
    v = np.asarray(d["vmf"])
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-9)
    w = v @ MU3
    kappa = 4.0
    w_cdf = lambda t: (np.exp(kappa * t) - np.exp(-kappa)) / (np.exp(kappa) - np.exp(-kappa))  # noqa: E731
    assert st.kstest(w, w_cdf).pvalue > 1e-3
    # uniform rotations: orthonormal, det 1, E[R] = 0, and tr R has the Haar law of 1 + 2 cos θ
    r = np.asarray(d["rotation"])
    np.testing.assert_allclose(
        np.einsum("nij,nkj->nik", r, r), np.broadcast_to(np.eye(3), r.shape), atol=1e-9
    )
    np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-9)
    assert np.all(np.abs(r.mean(0)) < 4 / np.sqrt(3 * N))
    theta = np.arccos(np.clip((np.trace(r, axis1=1, axis2=2) - 1) / 2, -1, 1))
    theta_cdf = lambda t: (t - np.sin(t)) / np.pi  # noqa: E731  Haar angle density (1 − cos θ)/π
    assert st.kstest(theta, theta_cdf).pvalue > 1e-3
    dr = np.asarray(d["dirichlet"])
    np.testing.assert_allclose(dr.sum(1), 1.0, atol=1e-9)
    assert st.kstest(dr[:, 0], st.beta(2.0, 7.0).cdf).pvalue > 1e-3


def test_reparam_flags_and_gradients():
    assert normal.reparam and gamma.reparam and not categorical.reparam and not vmf.reparam
    # d/dμ of a reparameterised normal draw is 1
    g = jax.grad(lambda m: normal.sample(jax.random.key(0), m, 2.0))(0.3)
    np.testing.assert_allclose(g, 1.0)
