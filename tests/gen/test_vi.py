"""G9: ELBO gradients (finite differences, closed form), IWELBO monotone in K, REINFORCE on a
discrete guide against exact enumeration, and the sleep objective's fixed point."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from simlab.gen import ChoiceMap, categorical_logits, gen, normal, select
from simlab.gen.vi import elbo, iwelbo, neg_elbo, sleep_objective

from .fast import jit0
from .models import LOG_P_X, gauss3
from .stats import assert_mean_close, mean_se
from .test_mcmc import P_A, P_B, P_Y, disc

OBS = ChoiceMap({"x": 1.3})


@gen
def mf_guide(t, params, obs):
    """Mean-field Gaussian guide over (μ, z); params = (m_mu, log_s_mu, m_z, log_s_z)."""
    t("mu", normal, params[0], jnp.exp(params[1]))
    t("z", normal, params[2], jnp.exp(params[3]))


P0 = jnp.array([0.2, -0.5, 0.6, -0.3])


def exact_elbo(p):
    """Closed-form ELBO of mf_guide on gauss3 at x = 1.3."""
    m1, s1, m2, s2 = p[0], jnp.exp(p[1]), p[2], jnp.exp(p[3])
    c = 0.5 * jnp.log(2 * jnp.pi)
    e_mu = -c - 0.5 * (m1**2 + s1**2)
    e_z = -c - 0.5 * ((m2 - m1) ** 2 + s1**2 + s2**2)
    e_x = -c - jnp.log(0.5) - 0.5 * ((1.3 - m2) ** 2 + s2**2) / 0.25
    entropy = 2 * c + 1.0 + jnp.log(s1) + jnp.log(s2)
    return e_mu + e_z + e_x + entropy


def test_g9_elbo_gradient_matches_finite_differences():
    vg = jit0(jax.value_and_grad(lambda p: elbo(jax.random.key(5), gauss3, mf_guide, p, OBS, K=4)))
    g = vg(P0)[1]
    eps = 1e-6
    fd = np.array([(vg(P0 + eps * e)[0] - vg(P0 - eps * e)[0]) / (2 * eps) for e in np.eye(4)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


def test_g9_elbo_unbiased_value_and_gradient():
    run = jit0(
        jax.vmap(lambda k: jax.value_and_grad(lambda p: elbo(k, gauss3, mf_guide, p, OBS))(P0))
    )
    vals, grads = run(jax.random.split(jax.random.key(0), 4000))
    assert_mean_close(vals, float(exact_elbo(P0)), what="ELBO value")
    exact_g = np.asarray(jax.grad(exact_elbo)(P0))
    for i in range(4):
        assert_mean_close(grads[:, i], exact_g[i], what=f"dELBO/dparam{i}")
    assert exact_elbo(P0) < LOG_P_X
    np.testing.assert_allclose(
        neg_elbo(jax.random.key(1), gauss3, mf_guide, P0, OBS),
        -elbo(jax.random.key(1), gauss3, mf_guide, P0, OBS),
    )


def test_g9_iwelbo_monotone_in_k():
    means = []
    for K in (1, 4, 32):
        run = jit0(jax.vmap(lambda k, K=K: iwelbo(k, gauss3, mf_guide, P0, OBS, K=K)))
        v = np.asarray(run(jax.random.split(jax.random.key(K), 1000)))
        means.append(mean_se(v))
    for (m1, s1), (m2, s2) in itertools.pairwise(means):
        assert m2 - m1 > 3 * np.hypot(s1, s2), means
    assert means[-1][0] <= LOG_P_X + 3 * means[-1][1]
    assert_mean_close(
        np.asarray(
            jit0(jax.vmap(lambda k: iwelbo(k, gauss3, mf_guide, P0, OBS, K=1)))(
                jax.random.split(jax.random.key(9), 1000)
            )
        ),
        float(exact_elbo(P0)),
        what="IWELBO at K=1 is the ELBO",
    )


@gen
def disc_guide(t, logits, obs):
    a = t("a", categorical_logits, logits[:3])
    t("b", categorical_logits, logits[3:].reshape(3, 3)[a])


def test_g9_reinforce_on_discrete_guide():
    obs = ChoiceMap({"y": 1})
    logits = jnp.array([0.3, -0.2, 0.1, 0.5, 0.0, -0.4, 0.2, 0.1, -0.3, 0.0, 0.4, -0.1])
    with pytest.raises(ValueError, match="reinforce"):
        elbo(jax.random.key(0), disc, disc_guide, logits, obs)

    def exact(lg):
        qa = jax.nn.log_softmax(lg[:3])
        qb = jax.nn.log_softmax(lg[3:].reshape(3, 3), -1)
        total = 0.0
        for a, b in itertools.product(range(3), range(3)):
            lq = qa[a] + qb[a, b]
            lp = jnp.log(P_A[a] * P_B[a, b] * P_Y[a, b])
            total = total + jnp.exp(lq) * (lp - lq)
        return total

    def one(k):
        return jax.value_and_grad(
            lambda lg: elbo(k, disc, disc_guide, lg, obs, estimator="reinforce", baseline=-1.5)
        )(logits)

    vals, grads = jit0(jax.vmap(one))(jax.random.split(jax.random.key(1), 4000))
    # 13 simultaneous checks: 4 SE each keeps the family-wise false-alarm rate below 0.1 %
    assert_mean_close(vals, float(exact(logits)), k=4.0, what="ELBO value")
    exact_g = np.asarray(jax.grad(exact)(logits))
    for i in range(12):
        assert_mean_close(grads[:, i], exact_g[i], k=4.0, what=f"REINFORCE dparam{i}")


@gen
def amortised(t, params, obs):
    """q(μ | x) = N(a·x, exp(s)) and q(z | μ, x) = N(c·μ + d·x, exp(e))."""
    a, s, c, d, e = params
    x = obs["x"]
    mu = t("mu", normal, a * x, jnp.exp(s))
    t("z", normal, c * mu + d * x, jnp.exp(e))


def test_sleep_objective_recovers_exact_posterior():
    opt = optax.adam(0.05)
    params = jnp.zeros(5)
    state = opt.init(params)

    # a fixed sample of 4096 (z, x) pairs: the objective is a deterministic regression whose
    # optimum is within sampling error (~0.02) of the exact posterior's parameters
    @jit0
    def step(params, state):
        loss, g = jax.value_and_grad(
            lambda p: -sleep_objective(jax.random.key(0), gauss3, amortised, p, select("x"), K=4096)
        )(params)
        upd, state = opt.update(g, state)
        return optax.apply_updates(params, upd), state, loss

    for _ in range(500):
        params, state, _ = step(params, state)
    # exact: μ | x ~ N(x/2.25, 1 − 1/2.25); z | μ, x ~ N((0.25 μ + x)/1.25, 0.25/1.25)
    a, s, c, d, e = np.asarray(params)
    np.testing.assert_allclose([a, c, d], [1 / 2.25, 0.2, 0.8], atol=0.05)
    np.testing.assert_allclose([np.exp(2 * s), np.exp(2 * e)], [1 - 1 / 2.25, 0.2], rtol=0.15)
