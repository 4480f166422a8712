"""R5: Damerau–Levenshtein, negative binomial, bigram orientation; the hospital family."""

import itertools
import math
from collections import deque

import numpy as np
import pytest
from scipy import stats

from simlab.ravi.strings import (
    ALPHABET,
    bigram_log_prior,
    damerau_levenshtein,
    neg_binomial_logpmf,
    typo_log_lik,
)

from .test_data import DATA


def _bfs_distance(a: str, b: str, alphabet: str) -> int:
    """Shortest edit path (insert, delete, substitute, swap adjacent) by breadth-first search."""
    limit = max(len(a), len(b)) + 1
    seen, todo = {a: 0}, deque([a])
    while todo:
        s = todo.popleft()
        if s == b:
            return seen[s]
        nxt = set()
        for i in range(len(s) + 1):
            for c in alphabet:
                nxt.add(s[:i] + c + s[i:])
        for i in range(len(s)):
            nxt.add(s[:i] + s[i + 1 :])
            for c in alphabet:
                nxt.add(s[:i] + c + s[i + 1 :])
            if i + 1 < len(s):
                nxt.add(s[:i] + s[i + 1] + s[i] + s[i + 2 :])
        for t in nxt:
            if t not in seen and len(t) <= limit:
                seen[t] = seen[s] + 1
                todo.append(t)
    raise AssertionError("unreachable")


def test_damerau_levenshtein_matches_breadth_first_search():
    words = ["".join(w) for n in range(4) for w in itertools.product("abc", repeat=n)]
    rng = np.random.default_rng(0)
    for a in rng.choice(words, 25, replace=False):
        bs = [*rng.choice(words, 12, replace=False), "ca", "abc", "bca"]
        got = damerau_levenshtein(str(a), [str(b) for b in bs])
        want = [_bfs_distance(str(a), str(b), "abc") for b in bs]
        assert got.tolist() == want, a
    # unrestricted (not optimal-string-alignment): "ca" -> "abc" is 2, not 3
    assert damerau_levenshtein("ca", ["abc"])[0] == 2
    assert damerau_levenshtein("called", ["caxxed", "callde", ""]).tolist() == [2, 1, 6]


def test_negative_binomial_matches_scipy():
    k = np.arange(0, 40)
    for r, p in [(1, 0.9), (10, 0.9), (37, 0.3)]:
        assert neg_binomial_logpmf(k, r, p) == pytest.approx(stats.nbinom.logpmf(k, r, p))
    # typo likelihood: d = 0 is the NegBin mass at 0 (p^r)
    assert typo_log_lik(0, 50) == pytest.approx(10 * math.log(0.9))


def test_bigram_prior_reads_columns_as_previous_symbol():
    rng = np.random.default_rng(1)
    first = rng.dirichlet(np.ones(28))
    trans = rng.dirichlet(np.ones(28), size=28).T  # column-stochastic: trans[next, prev]
    s = "ab" * 20
    a, b = ALPHABET.index("a"), ALPHABET.index("b")
    want = -math.log(161) + math.log(first[a])
    want += 20 * math.log(trans[b, a]) + 19 * math.log(trans[a, b])
    assert bigram_log_prior(s, first, trans) == pytest.approx(want)
    # an unknown symbol scores −log 28 and resets the context to "first"
    s2 = "ab" * 20 + "(" + "a" * 5
    want2 = want - math.log(28) + math.log(first[a]) + 4 * math.log(trans[a, a])
    assert bigram_log_prior(s2, first, trans) == pytest.approx(want2)
    assert bigram_log_prior("abc", first, trans) == -math.inf  # length outside 40..200


@pytest.mark.skipif(not DATA.exists(), reason="hospital data not available")
def test_hospital_family():
    from simlab.ravi.strings import hospital_family

    fam, truth, info = hospital_family(DATA, rows=80)  # all 1000 rows: 64 + 1 candidates
    S = len(set(info["dirty"])) + 1
    assert fam.log_lik.shape == (80, S) and len(info["candidates"]) == S
    assert set(info["candidates"][-1]) == {"*"}
    assert np.logaddexp.reduce(fam.log_prior) == pytest.approx(0.0, abs=1e-9)
    assert len(np.unique(truth)) == len(set(info["clean"]))
    # a row's own dirty string is its most likely candidate (d = 0)
    own = [info["candidates"].index(x) for x in info["dirty"][:50]]
    assert np.all(np.argmax(fam.log_lik[:50], axis=1) == own)
