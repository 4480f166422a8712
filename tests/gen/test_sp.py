"""G6: ImportanceK as an SP, with an exact and with a nested-SIR proposal, against the exact
density of its output computed by enumeration on a 4-state model; ChoiceMapDistribution."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import scipy.stats as st

from simlab.gen import (
    SIR,
    ChoiceMap,
    ChoiceMapDistribution,
    ImportanceK,
    Target,
    bernoulli,
    categorical,
    gen,
)

from .fast import jit0
from .models import gauss3
from .stats import assert_mean_close

PRIOR = np.array([0.1, 0.2, 0.3, 0.4])
LIK = np.array([0.9, 0.5, 0.2, 0.05])
Q0 = np.array([0.4, 0.3, 0.2, 0.1])
GAMMA = PRIOR * LIK  # unnormalised target γ(z) for y = 1


@gen
def toy(t):
    z = t("z", categorical, jnp.asarray(PRIOR))
    t("y", bernoulli, jnp.asarray(LIK)[z])


@gen
def q0(t, target):
    t("z", categorical, jnp.asarray(Q0))


def sir_outcomes(proposal_outcomes, K):
    """Enumerate SIR with K particles from a proposal given as a list of
    (probability, z, weight ratio γ(z)/q̂) outcomes. Returns outcomes of the SIR output as
    (probability, z, γ(z)/q̂) where q̂ = γ(z)/Ẑ is the SIR's own random_weighted density
    estimate, so the ratio is Ẑ, the mean weight."""
    out = []
    for combo in itertools.product(proposal_outcomes, repeat=K):
        p = np.prod([c[0] for c in combo])
        w = np.array([c[2] for c in combo])
        z_hat = w.mean()
        for j, c in enumerate(combo):
            out.append((p * w[j] / w.sum(), c[1], z_hat))
    return out


def density(outcomes):
    q = np.zeros(4)
    for p, z, _ in outcomes:
        q[z] += p
    return q


EXACT_Q = [(Q0[z], z, GAMMA[z] / Q0[z]) for z in range(4)]


def _check(alg, outcomes, seed):
    q_out = density(outcomes)
    target = Target(toy, (), ChoiceMap({"y": 1}))
    R = 4000
    keys = jax.random.split(jax.random.key(seed), R)
    est = jit0(
        jax.vmap(
            lambda k: jnp.stack(
                [alg.estimate_logpdf(k, ChoiceMap({"z": z}), target) for z in range(4)]
            )
        )
    )(keys)
    est = np.asarray(est)
    for z in range(4):  # unbiased density estimate of the algorithm's output
        assert_mean_close(np.exp(est[:, z]), q_out[z], k=3.5, what=f"q_out({z})")
    z, log_w = jit0(jax.vmap(lambda k: alg.random_weighted(k, target)))(keys)
    z = np.asarray(z["z"])
    counts = np.bincount(z, minlength=4)
    assert st.chisquare(counts, R * q_out).pvalue > 1e-3
    recip = np.exp(-np.asarray(log_w))
    for v in range(4):  # E[exp(−log_w) | z] = 1/q_out(z)
        assert_mean_close(recip[z == v], 1 / q_out[v], k=3.5, what=f"1/q_out({v})")


def test_g6_importance_k_exact_proposal():
    _check(ImportanceK(q0, 3), sir_outcomes(EXACT_Q, 3), seed=0)


def test_g6_importance_k_nested_sir_proposal():
    inner = sir_outcomes(EXACT_Q, 2)
    _check(ImportanceK(SIR(q0, 2), 2), sir_outcomes(inner, 2), seed=1)


def test_g6_internal_proposal_is_prior():
    prior_q = [(PRIOR[z], z, GAMMA[z] / PRIOR[z]) for z in range(4)]
    _check(ImportanceK(None, 3), sir_outcomes(prior_q, 3), seed=2)


def test_choicemap_distribution_is_exact():
    cmd = ChoiceMapDistribution(gauss3)
    v, log_w = cmd.random_weighted(jax.random.key(0))
    np.testing.assert_allclose(log_w, gauss3.assess(v, ())[0], rtol=1e-12)
    np.testing.assert_allclose(cmd.estimate_logpdf(jax.random.key(1), v), log_w, rtol=1e-12)
