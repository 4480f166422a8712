"""Map, Scan, Switch and SequentialModel: GFI identities against brute-force log-densities."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.gen import (
    AddressError,
    ChoiceMap,
    GenError,
    Map,
    Masked,
    Scan,
    SequentialModel,
    Switch,
    gen,
    normal,
    select,
)

from .fast import jit0


@gen
def walk_step(t, x, i):
    z = t("z", normal, 0.8 * x, 1.0)
    return z, 2.0 * z


@gen
def walk(t, x0):
    last, ys = t("walk", Scan(walk_step, 6), x0, None)
    t("obs", normal, last, 0.5)
    return ys


def _walk_logp(cm, x0):
    z = np.asarray(cm[("walk", "z")])
    prev = np.r_[x0, z[:-1]]
    lp = np.sum(-0.5 * (z - 0.8 * prev) ** 2 - 0.5 * np.log(2 * np.pi))
    return lp + float(normal.logpdf(cm["obs"], z[-1], 0.5))


def test_scan_assess_update_regenerate_against_brute_force():
    def run(key):
        tr = walk.simulate(key, (0.3,))
        new, w, discard = walk.update(key, tr, ChoiceMap({("walk", 3, "z"): 1.7}))
        regen, w_r = walk.regenerate(jax.random.fold_in(key, 1), tr, select(("walk", "z")))
        return tr, new, w, discard, regen, w_r

    tr, new, w, discard, regen, w_r = jit0(run)(jax.random.key(0))
    np.testing.assert_allclose(tr.score, _walk_logp(tr.choices, 0.3), rtol=1e-12)
    np.testing.assert_allclose(tr.retval, 2 * np.asarray(tr.choices[("walk", "z")]))
    z_new = np.asarray(new.choices[("walk", "z")])
    assert z_new[3] == 1.7
    np.testing.assert_allclose(np.delete(z_new, 3), np.delete(tr.choices[("walk", "z")], 3))
    np.testing.assert_allclose(
        w, _walk_logp(new.choices, 0.3) - _walk_logp(tr.choices, 0.3), rtol=1e-10
    )
    assert discard[("walk", "z")].shape == (6,)  # a stacked leaf with the old values
    # regenerating all z: only the observation's log-likelihood ratio remains
    want = float(normal.logpdf(tr["obs"], regen.choices[("walk", "z")][-1], 0.5)) - float(
        normal.logpdf(tr["obs"], tr.choices[("walk", "z")][-1], 0.5)
    )
    assert abs(want) > 1e-6  # the redraw changed the last z
    np.testing.assert_allclose(w_r, want, rtol=1e-10)


@gen
def point(t, m):
    return t("x", normal, m, 1.0)


@gen
def cloud(t, ms):
    return t("pts", Map(point), ms)


def test_map_masked_constraints_weight():
    ms = jnp.arange(5.0)
    vals = jnp.array([0.5, 0.0, 2.5, 0.0, 3.0])
    mask = jnp.array([True, False, True, False, True])
    tr, w = jit0(lambda k: cloud.generate(k, ChoiceMap({("pts", "x"): Masked(vals, mask)}), (ms,)))(
        jax.random.key(1)
    )
    x = np.asarray(tr.choices[("pts", "x")])
    np.testing.assert_allclose(x[np.asarray(mask)], np.asarray(vals)[np.asarray(mask)])
    want = sum(float(normal.logpdf(vals[i], ms[i], 1.0)) for i in (0, 2, 4))
    np.testing.assert_allclose(w, want, rtol=1e-12)
    np.testing.assert_allclose(cloud.assess(tr.choices, (ms,))[0], tr.score, rtol=1e-12)


@gen
def branch_a(t, m):
    return t("x", normal, m, 1.0)


@gen
def branch_b(t, m):
    return t("x", normal, -m, 3.0)


@gen
def branch_c(t, m):
    return t("other", normal, m, 1.0)


def test_switch_concrete_and_traced_index():
    sw = Switch([branch_a, branch_b])
    cm = ChoiceMap({"x": 0.7})
    for i, (mu, sd) in enumerate([(2.0, 1.0), (-2.0, 3.0)]):
        np.testing.assert_allclose(sw.assess(cm, (i, 2.0))[0], normal.logpdf(0.7, mu, sd))
    traced = jit0(lambda i: sw.assess(cm, (i, 2.0))[0])
    np.testing.assert_allclose(traced(jnp.int32(1)), normal.logpdf(0.7, -2.0, 3.0), rtol=1e-12)
    mixed = Switch([branch_a, branch_c])
    assert "other" in mixed.simulate(jax.random.key(0), (1, 0.0)).choices  # concrete: any shape
    with pytest.raises(GenError, match="differ"):
        jax.jit(lambda i: mixed.simulate(jax.random.key(0), (i, 0.0)).score)(jnp.int32(0))


def test_sequential_model_without_init_gf_and_obs_check():
    @gen
    def step(t, x, i):
        x = t("x", normal, x, 1.0)
        t("y", normal, x, 1.0)
        return x

    model = SequentialModel(None, step, 4)
    tr = model.simulate(jax.random.key(0), (0.5,))
    assert set(tr.choices.addresses()) == {("steps", "x"), ("steps", "y")}
    x = np.asarray(tr.choices[("steps", "x")])
    y = np.asarray(tr.choices[("steps", "y")])
    prev = np.r_[0.5, x[:-1]]
    want = np.sum(normal.logpdf(x, prev, 1.0)) + np.sum(normal.logpdf(y, x, 1.0))
    np.testing.assert_allclose(tr.score, want, rtol=1e-12)
    with pytest.raises(AddressError, match="steps"):
        model.assess(ChoiceMap({("steps", "x"): x}), (0.5,))


def test_map_in_axes_shares_arguments():
    @gen
    def pt(t, m, sd):
        return t("x", normal, m, sd)

    mp = Map(pt, in_axes=(0, None))
    ms = jnp.arange(3.0)
    cm = ChoiceMap({"x": jnp.array([0.5, 1.0, -1.0])})
    want = float(jnp.sum(normal.logpdf(cm["x"], ms, 2.0)))
    np.testing.assert_allclose(mp.assess(cm, (ms, 2.0))[0], want, rtol=1e-12)
