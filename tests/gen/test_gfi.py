"""G1, G2, G10: GFI identities, update/regenerate weights, error messages."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.gen import (
    AddressError,
    ChoiceMap,
    Map,
    NonFiniteWeightError,
    ShapeError,
    all_,
    gen,
    none,
    normal,
    select,
)
from simlab.gen.distributions import bernoulli

from .fast import jit0
from .models import gauss3, mixed3


def test_g1_simulate_assess_generate_project():
    for seed in range(5):
        key = jax.random.key(seed)
        tr = gauss3.simulate(key, ())
        log_p, ret = gauss3.assess(tr.choices, ())
        np.testing.assert_allclose(log_p, tr.score, rtol=1e-12)
        assert ret == tr.retval
        _, log_w = gauss3.generate(jax.random.key(99), tr.choices, ())
        np.testing.assert_allclose(log_w, tr.score, rtol=1e-12)
        for sel in [select("x"), select("mu", "x"), select("z"), all_(), none()]:
            # the same key re-draws the same free choices (keys are per address), so
            # generate produces this very trace and its weight must equal project
            tr2, w = gauss3.generate(key, tr.choices.filter(sel), ())
            np.testing.assert_allclose(tr2.score, tr.score, rtol=1e-12)
            np.testing.assert_allclose(gauss3.project(tr, sel), w, rtol=1e-12, atol=1e-12)


def test_g1_hand_computed_score():
    cm = ChoiceMap({"mu": 0.3, "z": -0.2, "x": 1.3})
    want = (
        normal.logpdf(0.3, 0.0, 1.0) + normal.logpdf(-0.2, 0.3, 1.0) + normal.logpdf(1.3, -0.2, 0.5)
    )
    np.testing.assert_allclose(gauss3.assess(cm, ())[0], want, rtol=1e-12)
    # generate weight = likelihood of the constrained leaf only (likelihood weighting)
    tr, w = gauss3.generate(jax.random.key(1), ChoiceMap({"x": 1.3}), ())
    np.testing.assert_allclose(w, normal.logpdf(1.3, tr["z"], 0.5), rtol=1e-12)


def _brute_logp(cm, p):
    b, m, y = cm["b"], cm["m"], cm["y"]
    return bernoulli.logpdf(b, p) + normal.logpdf(m, 2.0 * b - 1.0, 1.0) + normal.logpdf(y, m, 0.7)


def test_g2_update_weight_matches_brute_force():
    tr = mixed3.simulate(jax.random.key(3), (0.3,))
    for cons, args in [
        (ChoiceMap({"m": 0.25}), (0.3,)),
        (ChoiceMap({"b": 1 - tr["b"]}), (0.6,)),
        (ChoiceMap({"b": 1 - tr["b"], "y": -2.0}), (0.3,)),
    ]:
        new, w, discard = mixed3.update(jax.random.key(4), tr, cons, args)
        want = _brute_logp(new.choices, args[0]) - _brute_logp(tr.choices, 0.3)
        np.testing.assert_allclose(w, want, rtol=1e-10)
        assert set(discard.addresses()) == set(cons.addresses())
        for a in cons.addresses():
            assert discard[a] == tr[a] and new[a] == cons[a]


def test_g2_regenerate_weight_matches_brute_force():
    p = 0.3
    for seed in range(6):
        tr = mixed3.simulate(jax.random.key(seed), (p,))
        for sel in [select("b"), select("m"), select("b", "m")]:
            new, w = mixed3.regenerate(jax.random.key(100 + seed), tr, sel, (p,))

            # log q_int of selected choices = their conditional prior densities
            def q(cm, sel=sel):
                b, m = cm["b"], cm["m"]
                out = 0.0
                if "b" in sel:
                    out += bernoulli.logpdf(b, p)
                if "m" in sel:
                    out += normal.logpdf(m, 2.0 * b - 1.0, 1.0)
                return out

            want = (
                _brute_logp(new.choices, p)
                - _brute_logp(tr.choices, p)
                - q(new.choices)
                + q(tr.choices)
            )
            np.testing.assert_allclose(w, want, rtol=1e-10, atol=1e-12)
            for a in tr.choices.addresses():
                if a not in sel:
                    assert new[a] == tr[a]


def test_gfi_under_jit_and_vmap():
    @jit0
    def run(key):
        keys = jax.random.split(key, 8)
        tr, w = jax.vmap(lambda k: gauss3.generate(k, ChoiceMap({"x": 1.3}), ()))(keys)
        return tr, w, jax.vmap(lambda t: gauss3.project(t, select("x")))(tr)

    tr, w, proj = run(jax.random.key(0))
    assert tr.score.shape == (8,) and tr.choices["z"].shape == (8,)
    np.testing.assert_allclose(w, proj, rtol=1e-12)


def test_g10_missing_address_names_gf_and_address():
    with pytest.raises(AddressError, match=r"\('z',\).*gauss3"):
        gauss3.assess(ChoiceMap({"mu": 0.0, "x": 1.0}), ())


def test_g10_extra_address_names_gf_and_address():
    with pytest.raises(AddressError, match=r"\('zz',\).*gauss3"):
        gauss3.generate(jax.random.key(0), ChoiceMap({"zz": 1.0}), ())
    with pytest.raises(AddressError, match="extra"):
        gauss3.assess(ChoiceMap({"mu": 0.0, "z": 0.0, "x": 1.0, "extra": 2.0}), ())
    # non-strict generate ignores it
    gauss3.generate(jax.random.key(0), ChoiceMap({"zz": 1.0}), (), strict=False)


def test_g10_nested_error_names_path():
    @gen
    def outer(t):
        return t("sub", gauss3)

    with pytest.raises(AddressError, match=r"\('sub', 'z'\).*'outer'.*gauss3"):
        outer.assess(ChoiceMap({("sub", "mu"): 0.0, ("sub", "x"): 1.0}), ())


def test_g10_deterministic_value_constraint_raises():
    @gen
    def det(t):
        a = t("a", normal, 0.0, 1.0)
        return 2 * a  # the return value is not a random choice

    with pytest.raises(AddressError, match="deterministic"):
        det.generate(jax.random.key(0), ChoiceMap({"ret": 1.0}), ())


def test_g10_shape_mismatch_and_non_finite():
    with pytest.raises(ShapeError, match=r"\('x',\).*gauss3"):
        gauss3.generate(jax.random.key(0), ChoiceMap({"x": jnp.ones(3)}), ())

    @gen
    def bad(t):
        return t("s", normal, 0.0, -1.0)  # negative sd: log-density is NaN

    with pytest.raises(NonFiniteWeightError, match=r"\('s',\).*bad"):
        bad.simulate(jax.random.key(0), ())


def test_duplicate_address_raises():
    @gen
    def dup(t):
        t("a", normal, 0.0, 1.0)
        t("a", normal, 0.0, 1.0)

    with pytest.raises(AddressError, match="twice"):
        dup.simulate(jax.random.key(0), ())


def test_map_indexed_constraints_and_zero_probability():
    @gen
    def pt(t, m):
        return t("x", normal, m, 1.0)

    mp = Map(pt)
    m = jnp.arange(4.0)
    _, w = mp.generate(jax.random.key(0), ChoiceMap({(2, "x"): 5.0}), (m,))
    np.testing.assert_allclose(w, normal.logpdf(5.0, 2.0, 1.0), rtol=1e-12)
    tr = mp.simulate(jax.random.key(1), (m,))
    np.testing.assert_allclose(mp.assess(tr.choices, (m,))[0], tr.score, rtol=1e-12)
    # −inf (zero probability) is a valid weight, not an error
    _, w = mixed3.generate(jax.random.key(0), ChoiceMap({"b": 2}), (0.3,))
    assert w == -jnp.inf
