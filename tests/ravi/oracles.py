"""Brute-force oracles shared by the RAVI tests (pure Python, independent of the library)."""

import math
from functools import cache

import numpy as np


def exact_amc_log_q(family, n, alpha=1.0, temperature=1.0):
    """{canonical partition (tuple of labels): log q(z)} for the AMC proposal, by summing over
    every merge history with a dynamic programme over partitions (frozensets of frozensets)."""
    x = np.asarray(family.data, dtype=float)

    def log_m(c):
        return float(family.log_m(_stats(family, c)))

    def delta(a, b):
        prior = math.lgamma(len(a) + len(b)) - math.lgamma(len(a)) - math.lgamma(len(b))
        return prior - math.log(alpha) + log_m(a | b) - log_m(a) - log_m(b)

    @cache
    def options(state):
        cl = sorted(state, key=min)
        pairs = [(a, b) for i, a in enumerate(cl) for b in cl[i + 1 :]]
        scores = [temperature * delta(a, b) for a, b in pairs]
        lse = _lse([*scores, 0.0])
        return pairs, [s - lse for s in scores], -lse

    del x
    start = frozenset(frozenset([i]) for i in range(n))
    reach = {start: 0.0}
    out = {}
    for k in range(n, 0, -1):
        layer = [s for s in reach if len(s) == k]
        for state in layer:
            if k == 1:
                out[_labels(state, n)] = reach[state]
                continue
            pairs, logp, stop = options(state)
            out[_labels(state, n)] = reach[state] + stop
            for (a, b), lp in zip(pairs, logp):
                nxt = (state - {a, b}) | {a | b}
                reach[nxt] = np.logaddexp(reach.get(nxt, -np.inf), reach[state] + lp)
    return out


def _stats(family, c):
    idx = sorted(c)
    s = family.point_stats(idx[0])
    for i in idx[1:]:
        s = family.merge(s, family.point_stats(i))
    return s


def _labels(state, n):
    z = [0] * n
    for k, c in enumerate(sorted(state, key=min)):
        for i in c:
            z[i] = k
    return tuple(z)


def _lse(v):
    m = max(v)
    return m + math.log(sum(math.exp(x - m) for x in v))


def mean_exp_with_se(log_values, log_scale=0.0):
    """Mean and standard error of exp(v − log_scale) (a plain Monte-Carlo mean)."""
    w = np.exp(np.asarray(log_values) - log_scale)
    return w.mean(), w.std(ddof=1) / np.sqrt(len(w))
