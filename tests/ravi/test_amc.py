"""R3 and R6: AMC and locally-optimal SMC against exact enumeration on tiny data."""

import numpy as np
import pytest
from scipy.special import logsumexp

from simlab.ravi.amc import AMC
from simlab.ravi.clusters import NormalGamma
from simlab.ravi.dpmm import exact_log_marginal, log_joint
from simlab.ravi.smc import lo_smc

from .oracles import exact_amc_log_q, mean_exp_with_se

# Six scaled galaxy velocities: two clear groups and a straggler, so q spreads over partitions.
X = np.array([9.172, 9.483, 19.33, 20.166, 21.137, 23.206])
FAM = NormalGamma(X)
N = len(X)
LOG_Z = exact_log_marginal(FAM, N)


def _canon(z):
    first = {}
    return tuple(first.setdefault(int(c), len(first)) for c in z)


def test_exact_q_is_a_distribution_and_matches_replayed_histories():
    log_q = exact_amc_log_q(FAM, N)
    assert logsumexp(list(log_q.values())) == pytest.approx(0.0, abs=1e-10)
    amc = AMC(FAM, N)
    rng = np.random.default_rng(0)
    for _ in range(5):
        d = amc.sample_joint(rng)
        assert amc.log_q_joint(d.z, d.history) == pytest.approx(d.log_q_joint, abs=1e-10)
        assert d.log_q_joint <= log_q[_canon(d.z)] + 1e-12


@pytest.mark.parametrize("K", [1, 4])
def test_meta_smc_density_estimate_is_unbiased(K):
    log_q = exact_amc_log_q(FAM, N)
    z = np.array([0, 0, 1, 1, 1, 1])
    amc = AMC(FAM, N, K=K)
    rng = np.random.default_rng(K)
    est = [amc.estimate_logpdf(rng, z) for _ in range(800)]
    mean, se = mean_exp_with_se(est, log_q[_canon(z)])
    assert abs(mean - 1) < 3 * se + 1e-3


@pytest.mark.parametrize("K", [1, 4])
def test_csmc_reciprocal_estimate_and_amc_marginal_likelihood(K):
    log_q = exact_amc_log_q(FAM, N)
    amc = AMC(FAM, N, K=K)
    rng = np.random.default_rng(10 + K)
    ratio, log_zhat = [], []
    for _ in range(600):
        z, log_q_hat = amc.random_weighted(rng)
        ratio.append(log_q[_canon(z)] - log_q_hat)  # E[q(z)/q̂(z)] = 1
        log_zhat.append(log_joint(FAM, z) - log_q_hat)
    mean, se = mean_exp_with_se(ratio)
    assert abs(mean - 1) < 3 * se + 1e-3
    mean, se = mean_exp_with_se(log_zhat, LOG_Z)  # E[Ẑ] = p(data)
    assert abs(mean - 1) < 3 * se + 1e-3
    # stochastic lower bound: E[log Ẑ] ≤ log p(data)
    lz = np.array(log_zhat)
    assert lz.mean() <= LOG_Z + 3 * lz.std() / np.sqrt(len(lz))


@pytest.mark.parametrize("gibbs_every", [0, 3])
def test_lo_smc_is_unbiased(gibbs_every):
    rng = np.random.default_rng(gibbs_every)
    est = [lo_smc(rng, FAM, N, N=3, gibbs_every=gibbs_every).log_z_hat for _ in range(500)]
    mean, se = mean_exp_with_se(est, LOG_Z)
    assert abs(mean - 1) < 3 * se + 1e-3
    assert np.mean(est) <= LOG_Z + 3 * np.std(est) / np.sqrt(len(est))
