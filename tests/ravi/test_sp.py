"""R1: a toy proposal with discrete auxiliary variables and an enumerable marginal."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.ravi.sp import RaviProposal, SequentialMeta, importance

P1 = np.array([0.5, 0.3, 0.2])  # q(u1)
P2 = np.array([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])  # q(u2 | u1)
R1 = np.array([0.2, 0.5, 0.3])  # meta-proposal for u1, restricted to u1 consistent with x
BIAS = np.array([0.0, 1.0, -0.5])  # intermediate target γ1(u1) = q(u1) exp(BIAS[u1])


def _log_r1(x):
    # The reciprocal estimator needs supp r(·; x) ⊆ supp q(· | x): only u1 with 0 ≤ x − u1 ≤ 2.
    u1 = jnp.arange(3)
    logits = jnp.where((x - u1 >= 0) & (x - u1 <= 2), jnp.log(jnp.asarray(R1)), -jnp.inf)
    return logits - jax.scipy.special.logsumexp(logits)


def sample_joint(key):
    p1, p2 = jnp.asarray(P1), jnp.asarray(P2)
    k1, k2 = jax.random.split(key)
    u1 = jax.random.categorical(k1, jnp.log(p1))
    u2 = jax.random.categorical(k2, jnp.log(p2[u1]))
    return u1 + u2, jnp.stack([u1, u2]), jnp.log(p1[u1] * p2[u1, u2])


def _propose(key, carry, s, x):
    u1 = jax.random.categorical(key, _log_r1(x))
    return jnp.where(s == 0, u1, x - carry)  # step 1: u2 = x − u1 (a point mass)


def _extend(carry, s, u, x):
    p1, p2, bias = jnp.asarray(P1), jnp.asarray(P2), jnp.asarray(BIAS)
    first = jnp.log(p1[u]) + bias[u] - _log_r1(x)[u]
    ok = (u >= 0) & (u <= 2) & (x - carry == u)
    second = jnp.where(ok, jnp.log(p2[carry, jnp.clip(u, 0, 2)]) - bias[carry], -jnp.inf)
    return jnp.where(s == 0, u, carry), jnp.where(s == 0, first, second)


META = SequentialMeta(
    init=lambda x: (jnp.int32(0), jnp.zeros(())),
    propose=_propose,
    extend=_extend,
    n_steps=lambda x: 2,
)


def exact_q():
    q = np.zeros(5)
    for a, b in itertools.product(range(3), range(3)):
        q[a + b] += float(P1[a] * P2[a, b])
    return q


@pytest.mark.parametrize("K,tau", [(1, 0.0), (4, 1.0)])
def test_density_and_reciprocal_estimators_are_unbiased(K, tau):
    q = exact_q()
    prop = RaviProposal(sample_joint, META, K=K, ess_threshold=tau)
    n = 20000
    keys = jax.random.split(jax.random.key(K), n)
    density = jax.jit(jax.vmap(prop.estimate_logpdf, in_axes=(0, None)))
    for x in range(5):
        est = np.exp(np.asarray(density(keys, x)))
        se = est.std() / np.sqrt(n)
        assert abs(est.mean() - q[x]) < 3 * se + 1e-12, x
    xs, log_q = jax.jit(jax.vmap(prop.random_weighted))(keys)
    xs, recip = np.asarray(xs), np.exp(-np.asarray(log_q))
    for x in range(5):
        r = recip[xs == x]
        assert abs(r.mean() - 1 / q[x]) < 3 * r.std() / np.sqrt(len(r)) + 1e-9, x
    # the estimates are genuinely random (not the exact q(x)) where x has several histories
    assert np.std(recip[xs == 2]) > 0


def test_importance_and_elbo_with_sp_proposal():
    # target π̃(x) = 3·q(x) on {0..4}: IS weights average to Z = 3; ELBO ≤ log 3
    q = jnp.asarray(exact_q())
    prop = RaviProposal(sample_joint, META, K=2, ess_threshold=0.5)
    run = jax.jit(lambda k: importance(k, lambda x: jnp.log(3 * q[x]), prop, 20000))
    w = np.exp(np.asarray(run(jax.random.key(0)).log_weights))
    assert abs(w.mean() - 3) < 3 * w.std() / np.sqrt(len(w))
    assert np.log(w).mean() <= np.log(3)
