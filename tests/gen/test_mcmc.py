"""G8: MCMC kernels leave small posteriors invariant (chains started at exact posterior draws,
then χ² / KS / binomial tests after several kernel applications); check=True catches a
non-involution."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats as st

from simlab.gen import ChoiceMap, bernoulli, categorical, gen, normal, select
from simlab.gen.mcmc import Grid, enumerative_gibbs, involutive_mh, mala, mh, mh_proposal

from .fast import jit0
from .models import gauss3
from .stats import assert_mean_close

P_A = np.array([0.2, 0.5, 0.3])
P_B = np.array([[0.6, 0.3, 0.1], [0.2, 0.2, 0.6], [0.3, 0.4, 0.3]])
P_Y = np.array([[0.9, 0.4, 0.2], [0.5, 0.1, 0.7], [0.3, 0.8, 0.6]])  # P(y = 1 | a, b)


@gen
def disc(t):
    a = t("a", categorical, jnp.asarray(P_A))
    b = t("b", categorical, jnp.asarray(P_B)[a])
    t("y", bernoulli, jnp.asarray(P_Y)[a, b])


def _disc_posterior():
    post = np.array(
        [P_A[a] * P_B[a, b] * P_Y[a, b] for a, b in itertools.product(range(3), [0, 1, 2])]
    )
    return post / post.sum()


@functools.lru_cache(maxsize=2)
def _disc_start(R, seed=0):
    rng = np.random.default_rng(seed)
    cells = rng.choice(9, size=R, p=_disc_posterior())
    cm = ChoiceMap(
        {"a": jnp.asarray(cells // 3), "b": jnp.asarray(cells % 3), "y": jnp.ones(R, int)}
    )
    return jit0(jax.vmap(lambda c: disc.generate(jax.random.key(0), c, ())[0]))(cm)


@gen
def uniform_a(t, trace):
    t("a", categorical, jnp.ones(3) / 3)


KERNELS = {
    "mh": lambda k, tr: mh(jax.random.fold_in(k, 1), mh(k, tr, select("a"))[0], select("b")),
    "mh_joint": lambda k, tr: mh(k, tr, select("a", "b")),
    "mh_proposal": lambda k, tr: mh_proposal(k, tr, uniform_a),
    "gibbs": lambda k, tr: enumerative_gibbs(
        jax.random.fold_in(k, 1),
        enumerative_gibbs(k, tr, "a", jnp.arange(3))[0],
        "b",
        jnp.arange(3),
    ),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_g8_discrete_posterior_invariant(name):
    R, steps = 3000, 4
    kernel = KERNELS[name]

    @jit0
    def run(key, traces):
        def chain(k, tr):
            return jax.lax.fori_loop(
                0, steps, lambda s, tr: kernel(jax.random.fold_in(k, s), tr)[0], tr
            )

        return jax.vmap(chain)(jax.random.split(key, R), traces)

    out = run(jax.random.key(1), _disc_start(R))
    cells = np.asarray(out.choices["a"] * 3 + out.choices["b"])
    counts = np.bincount(cells, minlength=9)
    p = st.chisquare(counts, R * _disc_posterior()).pvalue
    assert p > 1e-3, (name, counts, p)
    # and the kernel moves: chains are not frozen at their start
    assert (
        np.mean(cells != np.asarray(_disc_start(R).choices["a"] * 3 + _disc_start(R).choices["b"]))
        > 0.1
    )


def _gauss_posterior(R, seed=0):
    """Exact draws of (μ, z) | x = 1.3 in gauss3 (Gaussian conditioning)."""
    cov = np.array([[1.0, 1.0, 1.0], [1.0, 2.0, 2.0], [1.0, 2.0, 2.25]])
    mean = cov[:2, 2] / cov[2, 2] * 1.3
    pcov = cov[:2, :2] - np.outer(cov[:2, 2], cov[2, :2]) / cov[2, 2]
    draws = np.random.default_rng(seed).multivariate_normal(mean, pcov, size=R)
    return draws, mean, pcov


def test_g8_continuous_kernels_invariant():
    R = 2000
    draws, mean, pcov = _gauss_posterior(R)
    cm = ChoiceMap(
        {"mu": jnp.asarray(draws[:, 0]), "z": jnp.asarray(draws[:, 1]), "x": jnp.full(R, 1.3)}
    )
    traces = jit0(jax.vmap(lambda c: gauss3.generate(jax.random.key(0), c, ())[0]))(cm)

    @jit0
    def run(key, traces):
        def step(tr, k):
            ks = jax.random.split(k, 3)
            tr, a1 = mala(ks[0], tr, select("mu", "z"), 0.3)
            tr, a2 = enumerative_gibbs(ks[1], tr, "z", Grid(-6.0, 8.0, 200))
            tr, a3 = mh(ks[2], tr, select("mu"))
            return tr, jnp.stack([a1, a2, a3])

        def chain(k, tr):
            return jax.lax.scan(step, tr, jax.random.split(k, 3))

        return jax.vmap(chain)(jax.random.split(key, R), traces)

    out, acc = run(jax.random.key(2), traces)
    acc = np.asarray(acc).mean((0, 1))
    assert np.all(acc > 0.2), acc
    for i, a in enumerate(["mu", "z"]):
        x = np.asarray(out.choices[a])
        p = st.kstest(x, st.norm(mean[i], np.sqrt(pcov[i, i])).cdf).pvalue
        assert p > 1e-3, (a, p)
    np.testing.assert_allclose(
        np.asarray(out.score), jit0(jax.vmap(lambda c: gauss3.assess(c, ())[0]))(out.choices)
    )


# involutive MH: a split/merge toy -------------------------------------------------------------
@gen
def splitmerge(t):
    k = t("k", bernoulli, 0.4)
    x1 = t("x1", normal, 0.0, 1.0)
    x2 = t("x2", normal, 0.0, 1.0)
    t("y", normal, x1 + k * x2, 0.5)


@gen
def aux_u(t, trace):
    t("u", normal, 0.0, 1.0)


def split_merge(choices, aux, args):
    """k=0 (merged): (m, p, u) -> (m+u, m−u, p); k=1: (a, b, u) -> ((a+b)/2, u, (a−b)/2)."""
    k, x1, x2, u = choices["k"], choices["x1"], choices["x2"], aux["u"]
    split = k == 0
    nx1 = jnp.where(split, x1 + u, (x1 + x2) / 2)
    nx2 = jnp.where(split, x1 - u, u)
    nu = jnp.where(split, x2, (x1 - x2) / 2)
    return ChoiceMap({"k": 1 - k, "x1": nx1, "x2": nx2}), ChoiceMap({"u": nu})


def broken(choices, aux, args):
    """Not an involution: the merge forgets to halve."""
    k, x1, x2, u = choices["k"], choices["x1"], choices["x2"], aux["u"]
    split = k == 0
    nx1 = jnp.where(split, x1 + u, x1 + x2)
    nx2 = jnp.where(split, x1 - u, u)
    nu = jnp.where(split, x2, x1 - x2)
    return ChoiceMap({"k": 1 - k, "x1": nx1, "x2": nx2}), ChoiceMap({"u": nu})


Y = 1.1


def _sm_posterior(R, seed=0):
    """Exact draws: P(k | y) from N(y; 0, 1.25) vs N(y; 0, 2.25); (x1, x2) | k, y Gaussian."""
    rng = np.random.default_rng(seed)
    lk = np.array(
        [
            np.log(0.6) + st.norm.logpdf(Y, 0, np.sqrt(1.25)),
            np.log(0.4) + st.norm.logpdf(Y, 0, np.sqrt(2.25)),
        ]
    )
    pk1 = np.exp(lk[1] - np.logaddexp(*lk))
    k = (rng.random(R) < pk1).astype(int)
    x = np.zeros((R, 2))
    for kk in (0, 1):
        c = np.array([1.0, float(kk)])
        var_y = c @ c + 0.25
        mean = c * Y / var_y
        cov = np.eye(2) - np.outer(c, c) / var_y
        idx = k == kk
        x[idx] = rng.multivariate_normal(mean, cov, size=idx.sum())
    return k, x, pk1


def test_g8_involutive_mh_split_merge_invariant():
    R = 3000
    k, x, pk1 = _sm_posterior(R)
    cm = ChoiceMap(
        {
            "k": jnp.asarray(k),
            "x1": jnp.asarray(x[:, 0]),
            "x2": jnp.asarray(x[:, 1]),
            "y": jnp.full(R, Y),
        }
    )
    traces = jit0(jax.vmap(lambda c: splitmerge.generate(jax.random.key(0), c, ())[0]))(cm)

    @jit0
    def run(key, traces):
        def chain(kk, tr):
            def step(tr, k):
                return involutive_mh(k, tr, aux_u, (), split_merge)

            return jax.lax.scan(step, tr, jax.random.split(kk, 4))

        return jax.vmap(chain)(jax.random.split(key, R), traces)

    out, acc = run(jax.random.key(3), traces)
    assert np.asarray(acc).mean() > 0.1  # the move changes k often
    kk = np.asarray(out.choices["k"])
    assert_mean_close(kk, pk1, what="P(k = 1 | y)")
    # x1's posterior marginal: a two-component Gaussian mixture
    m0, v0 = Y / 1.25, 1 - 1 / 1.25
    m1, v1 = Y / 2.25, 1 - 1 / 2.25

    def cdf(v):
        return (1 - pk1) * st.norm.cdf(v, m0, np.sqrt(v0)) + pk1 * st.norm.cdf(v, m1, np.sqrt(v1))

    assert st.kstest(np.asarray(out.choices["x1"]), cdf).pvalue > 1e-3


def test_g8_involution_check_and_jacobian():
    from simlab.gen.mcmc import _apply_involution

    cm = ChoiceMap({"k": 0, "x1": 0.3, "x2": -0.2, "y": Y})
    tr = jit0(lambda k: splitmerge.generate(k, cm, ())[0])(jax.random.key(0))
    u = ChoiceMap({"u": 0.7})
    split = jit0(lambda c: _apply_involution(split_merge, c, u, ())[2])
    np.testing.assert_allclose(split(tr.choices), np.log(2.0), rtol=1e-12)  # |det| = 2
    np.testing.assert_allclose(split(tr.choices.set("k", 1)), -np.log(2.0), rtol=1e-12)
    involutive_mh(jax.random.key(1), tr, aux_u, (), split_merge, check=True)  # passes
    with pytest.raises(ValueError, match="not an involution"):
        involutive_mh(jax.random.key(1), tr, aux_u, (), broken, check=True)
