"""Partner selection: the top_k path picks exactly the n nearest present agents within the
radius (a NumPy brute-force oracle) and agrees with the rings when every candidate fits."""

import jax
import numpy as np
import pytest

from simlab.drive.config import EnvConfig
from simlab.drive.partners import select_partners


def _oracle(x, y, present, n, radius):
    """Sets of the n nearest present others within radius (ties: lower index), per agent."""
    w, a = x.shape
    out = []
    for wi in range(w):
        for i in range(a):
            d2 = (x[wi] - x[wi, i]) ** 2 + (y[wi] - y[wi, i]) ** 2
            ok = present[wi] & (np.arange(a) != i) & (d2 <= radius**2)
            cand = [j for j in np.lexsort((np.arange(a), d2)) if ok[j]]
            out.append(set(cand[:n]))
    return out


def _sets(idx):
    idx = np.asarray(idx).reshape(-1, idx.shape[-1])
    return [set(r[r >= 0].tolist()) for r in idx]


def test_top_k_picks_exactly_the_nearest():
    rng = np.random.default_rng(3)
    w, a, n, radius = 3, 100, 20, 120.0
    # a dense cluster (more than n within the radius) and a sparse spread (fewer than n)
    x = np.concatenate([rng.uniform(0, 60, (w, a // 2)), rng.uniform(0, 900, (w, a - a // 2))], 1)
    y = np.concatenate([rng.uniform(0, 60, (w, a // 2)), rng.uniform(0, 900, (w, a - a // 2))], 1)
    x, y = x.astype(np.float32), y.astype(np.float32)
    present = rng.uniform(size=(w, a)) < 0.8
    got = jax.jit(lambda *v: select_partners(*v, n, radius, "top_k"))(x, y, present)
    want = _oracle(x, y, present, n, radius)
    assert _sets(got) == want
    sizes = {len(s) for s in want}
    assert min(sizes) < n and max(sizes) == n  # both regimes occur


def test_rings_and_top_k_agree_when_every_candidate_fits():
    # with at most n candidates within the radius both methods take them all
    rng = np.random.default_rng(4)
    w, a, n = 2, 40, 20
    x = rng.uniform(0, 2000, (w, a)).astype(np.float32)
    y = rng.uniform(0, 2000, (w, a)).astype(np.float32)
    present = np.ones((w, a), bool)
    rings = jax.jit(lambda *v: select_partners(*v, n, 150.0, "rings"))(x, y, present)
    top = jax.jit(lambda *v: select_partners(*v, n, 150.0, "top_k"))(x, y, present)
    assert _sets(rings) == _sets(top) == _oracle(x, y, present, n, 150.0)


def test_bad_method_is_named():
    with pytest.raises(ValueError, match="nearest"):
        select_partners(np.zeros((1, 30)), np.zeros((1, 30)), np.ones((1, 30), bool), 4,
                        method="nearest")  # fmt: skip
    with pytest.raises(ValueError, match="partner_select"):
        EnvConfig(partner_select="nearest")
