"""DIAS: the schedule evidence, and (E5) SMC / cSMC bounds on the first hours of DIAS against
exact per-sample log-marginals by variable elimination."""

import importlib.util

import jax
import numpy as np
import pytest

from simlab.eevi import exact
from simlab.eevi.bif import example_path, load_bif
from simlab.eevi.bn import compile_bn
from simlab.eevi.diabetes import (
    INSULIN,
    MEALS,
    pairs,
    schedule,
    smc_bounds_fn,
    truncate,
)
from simlab.eevi.lw import bn_entropy_bounds, bn_outer_samples

O0 = {"xla_backend_optimization_level": 0}  # tests compile once, run once

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pgmpy") is None, reason="DIAS ships with pgmpy"
)


@pytest.fixture(scope="module")
def dias4():
    full = load_bif(example_path("diabetes"))
    net = truncate(full, 4)
    bn = compile_bn(net)
    sched = {v: s for v, s in schedule(compile_bn(full)).items() if v in bn.index}
    return net, bn, sched


def test_schedule_and_pairs(dias4):
    assert len(pairs()) == 300 and pairs()[0] == (1, 2)
    assert len(MEALS[0]) == 25 and all(len(v) == 24 for v in INSULIN.values())
    net, bn, sched = dias4
    assert set(sched) == {f"meal_{h}" for h in range(4)} | {f"ins_abs_{h}" for h in range(4)}
    assert bn.states["meal_1"][sched["meal_1"]] == "30g"
    assert bn.states["ins_abs_2"][sched["ins_abs_2"]] == "3_2mU_kg_h"
    assert len(net.variables) == 2 + 4 * 17


@pytest.mark.slow  # ~15 s alone
def test_e5_smc_csmc_bracket_exact_on_four_hours(dias4):
    net, bn, sched = dias4
    n = 150
    vals, log_c = bn_outer_samples(bn, jax.random.key(0), n, sched)
    f, T = smc_bounds_fn(bn, 16, ("meal", "ins_abs"), O0)
    assert T == 4
    observed = np.array([True, False, True, False])  # bg at hours 1 and 3
    lo, up = f(jax.random.split(jax.random.key(1), n), vals, observed)
    lo, up = np.asarray(lo) - log_c, np.asarray(up) - log_c
    log_p = _exact_log_p(net, bn, sched, vals)
    assert np.all(np.isfinite(up))
    d_up = up - log_p  # E ≥ 0
    assert d_up.mean() >= -3 * d_up.std(ddof=1) / np.sqrt(n)
    fin = np.isfinite(lo)
    assert fin.mean() > 0.8  # all particles can die (zero CPT entries): counted, not dropped
    d_lo = lo[fin] - log_p[fin]  # E ≤ 0
    assert d_lo.mean() <= 3 * d_lo.std(ddof=1) / np.sqrt(fin.sum())


def test_e5_reciprocal_identity_with_zero_weights(dias4):
    """With an exact particle among K, E[p(y) / Ẑ] = P(the K proposal weights are not all
    zero), which is < 1 here (DIAS has zero CPT entries); the upper bound on log p stays valid.
    The lower estimate with K fresh particles is −inf exactly on that event, so the two
    frequencies must agree."""
    net, bn, sched = dias4
    n = 1500
    vals, log_c = bn_outer_samples(bn, jax.random.key(3), n, sched)
    log_p = _exact_log_p(net, bn, sched, vals)
    (eb,) = bn_entropy_bounds(bn, jax.random.key(4), vals, [["bg_0", "bg_2"]], 4, log_c,
                              background=sched, compiler_options=O0)  # fmt: skip
    ratio = np.exp(log_p - eb.log_marginal_upper)
    alive = np.isfinite(eb.log_marginal_lower).astype(float)
    se = np.hypot(ratio.std(ddof=1), alive.std(ddof=1)) / np.sqrt(n)
    assert alive.mean() < 0.97  # the zero-weight event is not negligible at K = 4
    assert abs(ratio.mean() - alive.mean()) <= 3 * se
    assert np.mean(eb.log_marginal_upper - log_p) >= -3 * np.std(
        eb.log_marginal_upper - log_p, ddof=1
    ) / np.sqrt(n)


def _exact_log_p(net, bn, sched, vals):
    """log p(bg_0, bg_2 | schedule) per outer sample (exact; cached per distinct pair)."""
    base = exact.log_marginal(net, sched)
    cache = {}
    out = []
    for r in np.asarray(vals):
        k = (int(r[bn.index["bg_0"]]), int(r[bn.index["bg_2"]]))
        if k not in cache:
            cache[k] = exact.log_marginal(net, {**sched, "bg_0": k[0], "bg_2": k[1]}) - base
        out.append(cache[k])
    return np.array(out)


def test_smoothed_dias_has_no_vacuous_samples_and_brackets_exact(dias4):
    """With ε = 1e-10 smoothing (the authors' rule) no likelihood weight is −inf any more, and
    the bounds still bracket the exact value of the smoothed network."""
    from simlab.eevi.bif import smooth

    net = smooth(dias4[0], 1e-10)
    bn = compile_bn(net)
    sched = dias4[2]
    n = 400
    vals, log_c = bn_outer_samples(bn, jax.random.key(3), n, sched)
    (eb,) = bn_entropy_bounds(bn, jax.random.key(4), vals, [["bg_0", "bg_2"]], 4, log_c,
                              background=sched, compiler_options=O0)  # fmt: skip
    assert eb.n_neg_inf == 0 and np.isfinite(eb.entropy_upper)
    log_p = _exact_log_p(net, bn, sched, vals)
    for d, sign in ((eb.log_marginal_lower - log_p, 1), (eb.log_marginal_upper - log_p, -1)):
        assert sign * d.mean() <= 3 * d.std(ddof=1) / np.sqrt(n)


def test_exact_pair_table_equals_variable_elimination(dias4):
    """The transfer-matrix oracle (all pairs at once) against per-pair variable elimination."""
    from simlab.eevi.diabetes import exact_pair_mi, exact_pair_mi_table

    net, _, sched = dias4
    tab = exact_pair_mi_table(net, sched, hours=4)
    assert np.isnan(tab[2, 1]) and np.isnan(tab[0, 3])
    for p in pairs(4):
        assert tab[p] == pytest.approx(exact_pair_mi(net, sched, p), abs=1e-9)
    assert np.nanmax(tab) > 1e-2  # not trivially zero
