"""The vectorised Bayesian network: log-probabilities, sampling, likelihood weighting and the
GF interface, against exact enumeration / contraction on the parsed CPTs (and pgmpy)."""

import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.eevi import exact
from simlab.eevi.bif import example_path, load_bif, load_network
from simlab.eevi.bn import BayesNet, compile_bn, log_factors, sample
from simlab.gen import ChoiceMap, Masked, select

from .oracles import pgmpy_model

HAS_PGMPY = importlib.util.find_spec("pgmpy") is not None


@pytest.fixture(scope="module")
def asia():
    net = load_network("asia")
    return net, compile_bn(net)


@pytest.fixture(scope="module")
def hepar():
    if not HAS_PGMPY:
        pytest.skip("pgmpy not installed")
    net = load_bif(example_path("hepar2"))
    return net, compile_bn(net)


def _draw(bn, key, p, fixed=None):
    mask = np.zeros(bn.n, bool) if fixed is None else bn.mask(fixed)
    vals = np.zeros((p, bn.n), np.int32)
    for v, s in (fixed or {}).items():
        vals[:, bn.index[v]] = s
    return jax.jit(lambda k: sample(bn, k, jnp.asarray(mask), jnp.asarray(vals)))(key)


def test_log_factors_match_cpts_and_samples_are_in_support(hepar):
    net, bn = hepar
    vals = np.asarray(_draw(bn, jax.random.key(0), 300))
    lf = np.asarray(log_factors(bn, vals))
    assert np.all(np.isfinite(lf))  # never a zero-probability state
    for row, f in zip(vals[:20], lf[:20]):
        assign = {v: int(row[i]) for i, v in enumerate(bn.names)}
        assert f.sum() == pytest.approx(exact.log_joint(net, assign), abs=1e-10)
    # one row checked against pgmpy's own CPD lookup
    model = pgmpy_model(example_path("hepar2"))
    row = vals[0]
    for i, v in enumerate(bn.names):
        cpd = model.get_cpds(v)
        kw = {u: bn.states[u][row[bn.index[u]]] for u in cpd.variables}
        assert np.log(cpd.get_value(**kw)) == pytest.approx(lf[0, i], abs=1e-10)


def test_sampling_matches_exact_marginals(asia):
    net, bn = asia
    p = 40_000
    vals = np.asarray(_draw(bn, jax.random.key(1), p))
    for v in net.variables:
        freq = np.bincount(vals[:, bn.index[v]], minlength=net.card(v)) / p
        exact_p = exact.marginal_table(net, (v,))
        se = np.sqrt(exact_p * (1 - exact_p) / p) + 1e-12
        assert np.all(np.abs(freq - exact_p) <= 4.5 * se + 1e-9), v
    # a pair marginal (dependence between lung and xray)
    joint = np.zeros((2, 2))
    np.add.at(joint, (vals[:, bn.index["lung"]], vals[:, bn.index["xray"]]), 1)
    np.testing.assert_allclose(joint / p, exact.marginal_table(net, ("lung", "xray")), atol=6e-3)


def test_likelihood_weighting_is_unbiased_for_p_evidence(asia, hepar):
    for (net, bn), evidence in [
        (asia, {"xray": 0, "dysp": 0}),
        (asia, {"either": 0, "smoke": 1}),  # evidence on an internal node
        (hepar, {"PBC": 0, "ama": 0, "jaundice": 1, "sex": 0}),
    ]:
        p = 20_000
        vals = _draw(bn, jax.random.key(2), p, evidence)
        for v, s in evidence.items():
            assert np.all(np.asarray(vals[:, bn.index[v]]) == s)
        lw = np.asarray(jnp.sum(log_factors(bn, vals) * bn.mask(evidence), axis=1))
        w = np.exp(lw)
        est, se = w.mean(), w.std() / np.sqrt(p)
        truth = np.exp(exact.log_marginal(net, evidence))
        assert abs(est - truth) <= 4 * se, (evidence, est, truth, se)


def test_exact_contraction_agrees_with_enumeration(asia):
    net, _ = asia
    for vars_ in [("lung",), ("xray", "dysp"), ("asia", "either", "bronc")]:
        assert exact.entropy(net, vars_) == pytest.approx(
            exact.joint_entropy_enum(net, vars_), abs=1e-12
        )
    ev = {"xray": 0, "asia": 1}
    brute = np.exp(exact.log_marginal(net, ev))
    assert brute == pytest.approx(exact.marginal_table(net, ("xray", "asia"))[0, 1], rel=1e-12)


def test_gf_interface(asia):
    _, bn = asia
    model = BayesNet(bn, "asia")
    tr = jax.jit(lambda k: model.simulate(k, ()))(jax.random.key(3))
    lp, _ = model.assess(tr.choices, ())
    assert float(lp) == pytest.approx(float(tr.score), abs=1e-12)
    assert float(tr.score) == pytest.approx(float(jnp.sum(log_factors(bn, _vec(bn, tr)))))
    sel = select("xray", "either")
    obs = tr.choices.filter(sel)
    tr2, w = jax.jit(lambda k, o: model.generate(k, o, ()))(jax.random.key(4), obs)
    assert int(tr2["xray"]) == int(tr["xray"])
    f = np.asarray(log_factors(bn, _vec(bn, tr2)))[0]
    assert float(w) == pytest.approx(f[bn.idx(["xray", "either"])].sum(), abs=1e-12)
    assert float(model.project(tr2, sel)) == pytest.approx(float(w), abs=1e-12)
    # a Masked constraint counts only where its mask is true
    masked = ChoiceMap({"xray": Masked(jnp.int32(0), jnp.bool_(False)), "dysp": 1})
    tr3, w3 = model.generate(jax.random.key(5), masked, ())
    f3 = np.asarray(log_factors(bn, _vec(bn, tr3)))[0]
    assert float(w3) == pytest.approx(f3[bn.index["dysp"]], abs=1e-12)


def _vec(bn, tr):
    return jnp.stack([tr[v] for v in bn.names])[None]
