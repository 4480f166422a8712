"""G3 (IS on the conjugate Gaussian) and G7 (Marginal + ImportanceK bounds)."""

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats as st

from simlab.gen import ChoiceMap, ImportanceK, Marginal, importance, importance_resampling, select
from simlab.gen.distributions import normal

from .fast import jit0
from .models import LOG_P_X, gauss3, gauss_proposal
from .stats import assert_mean_close, mean_se

OBS = ChoiceMap({"x": 1.3})


def test_closed_form_constant():
    np.testing.assert_allclose(LOG_P_X, -1.7000, atol=1e-4)


def _runs(proposal, R=400, K=20, seed=0):
    f = jit0(jax.vmap(lambda k: importance(k, gauss3, (), OBS, K, proposal).log_z_hat))
    return np.asarray(f(jax.random.split(jax.random.key(seed), R)))


def test_g3_importance_prior_and_custom_proposal():
    for proposal in [None, gauss_proposal]:
        log_z = _runs(proposal)
        # E[exp(log_z_hat)] = p(x): the mean of Ẑ over runs is within 3 SE of exp(−1.7000)
        assert_mean_close(np.exp(log_z), np.exp(LOG_P_X), what=f"proposal={proposal}")
        # and log_z_hat is biased low in expectation (Jensen)
        assert log_z.mean() <= LOG_P_X + 3 * mean_se(log_z)[1]


def test_g3_custom_proposal_has_lower_variance_and_resampling():
    assert np.var(_runs(gauss_proposal)) < np.var(_runs(None))
    run = jit0(lambda k: importance_resampling(k, gauss3, (), OBS, 50, gauss_proposal))
    res = run(jax.random.key(1))
    assert res.trace.choices["x"] == 1.3 and np.isfinite(res.log_z_hat)


def test_g7_marginal_importance_bounds():
    m = Marginal(gauss3, select("x"), ImportanceK(None, 50))
    keys = jax.random.split(jax.random.key(7), 2000)
    lower = np.asarray(jit0(jax.vmap(lambda k: m.estimate_logpdf(k, 1.3)))(keys))
    # each estimate is a mean of p(x | z) ≤ N(0; 0, 0.5)
    assert lower.max() <= float(normal.logpdf(0.0, 0.0, 0.5)) + 1e-12
    assert_mean_close(np.exp(lower), np.exp(LOG_P_X), what="exp(estimate_logpdf)")

    def upper_and_lower(k):
        k1, k2 = jax.random.split(k)
        v, log_w = m.random_weighted(k1)
        x = v["x"]
        exact = normal.logpdf(x, 0.0, 1.5)
        return log_w - exact, m.estimate_logpdf(k2, x) - exact

    up, lo = jit0(jax.vmap(upper_and_lower))(keys)
    mu, se = mean_se(up)
    assert mu >= -3 * se, (mu, se)  # upper bound in expectation
    ml, sl = mean_se(lo)
    assert ml <= 3 * sl, (ml, sl)  # lower bound in expectation
    assert mu > ml  # and the bounds are on the right sides of each other
    assert np.all(np.isfinite(up)) and jnp.all(jnp.isfinite(lo))


def test_particle_key_and_vmap_paths_agree():
    """The batched path (ParticleKeys, inside ``importance``) and plain ``vmap`` over split keys
    give identical log-weights for identical choices and the same distribution of samples."""
    from simlab.gen import Target, vmap_particles

    K = 4000
    target = Target(gauss3, (), OBS)

    def both(key):
        ps = importance(key, gauss3, (), OBS, K, gauss_proposal)
        log_p = jax.vmap(lambda tr: gauss3.assess(tr.choices, ())[0])(ps.traces)
        log_q = jax.vmap(
            lambda tr: gauss_proposal.assess(target.latents(tr.choices), (target,))[0]
        )(ps.traces)
        prior = importance(key, gauss3, (), OBS, K).traces.choices["mu"]
        plain = vmap_particles(lambda k: gauss3.generate(k, OBS, ())[0].choices["mu"], K)(key)
        return ps.log_weights, log_p - log_q, prior, plain

    log_w, rescored, prior, plain = jit0(both)(jax.random.key(3))
    np.testing.assert_allclose(np.asarray(log_w), np.asarray(rescored), rtol=1e-10)
    # internal proposal: μ from its prior N(0, 1) on both paths
    assert st.ks_2samp(np.asarray(prior), np.asarray(plain)).pvalue > 1e-3
    assert st.kstest(np.asarray(prior), "norm").pvalue > 1e-3
