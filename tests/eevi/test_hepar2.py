"""HEPAR II ranking: bounds on I(disease; test | O) bracket the exact CMI (computed here by
contraction) and order tests as the exact values do wherever the intervals separate."""

import importlib.util

import jax
import pytest

from simlab.eevi.bif import example_path, load_bif
from simlab.eevi.bn import compile_bn
from simlab.eevi.hepar2 import OBSERVED, TESTS, exact_cmi, rank_tests

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pgmpy") is None, reason="HEPAR II ships with pgmpy"
)

O0 = {"xla_backend_optimization_level": 0}  # tests compile once, run once


def test_roles_match_the_spec():
    assert len(TESTS) == 36 and len(OBSERVED) == 16
    assert "jaundice" in TESTS and "jaundice" in OBSERVED
    net = load_bif(example_path("hepar2"))
    assert set(TESTS) | set(OBSERVED[:6]) == set(net.leaves)


def test_ranking_brackets_exact_cmi_and_agrees_where_separated():
    net = load_bif(example_path("hepar2"))
    bn = compile_bn(net)
    tests = ("ama", "ESR", "fatigue", "jaundice")
    scores, info = rank_tests(
        bn, jax.random.key(0), "PBC", N=1000, K=16, tests=tests, compiler_options=O0
    )
    truth = exact_cmi(net, "PBC", tests=tests)
    assert info["n_neg_inf"] == 0
    for s in scores:
        c = s.cmi
        assert c.lower - 3 * c.se_lower <= truth[s.test] <= c.upper + 3 * c.se_upper, s.test
        assert c.lower <= c.upper
    j = next(s for s in scores if s.test == "jaundice")
    assert j.also_observed and abs(j.cmi.mid) < 3 * j.cmi.se_upper + 0.01
    separated = 0
    for a in scores:
        for b in scores:
            if a.cmi.lower - 2 * a.cmi.se_lower > b.cmi.upper + 2 * b.cmi.se_upper:
                separated += 1
                assert truth[a.test] > truth[b.test], (a.test, b.test)
    assert separated >= 1  # the check above is not vacuous
    assert scores[0].test == max(truth, key=truth.get)  # ama: ahead of the rest by > 4 SE
