"""Box overlap and swept collisions against a brute-force shapely polygon oracle."""

import jax
import jax.numpy as jnp
import numpy as np

from simlab.drive.geometry import boxes_overlap, swept_collision

shapely = __import__("pytest").importorskip("shapely")


def corners(x, y, psi, l, w):
    """Box corners [..., 4, 2] in float64 NumPy (independent of the simulator's box_corners)."""
    x, y, psi, l, w = np.broadcast_arrays(*(np.asarray(v, np.float64) for v in (x, y, psi, l, w)))
    c, s = np.cos(psi)[..., None], np.sin(psi)[..., None]
    a = np.array([1.0, -1.0, -1.0, 1.0]) * (0.5 * l)[..., None]  # along the heading
    b = np.array([1.0, 1.0, -1.0, -1.0]) * (0.5 * w)[..., None]  # to the left
    return np.stack([x[..., None] + c * a - s * b, y[..., None] + s * a + c * b], -1)


def polys(x, y, psi, l, w):
    """shapely polygons [...] of boxes (vectorised: one C call for the whole array)."""
    return shapely.polygons(corners(x, y, psi, l, w))


def random_boxes(rng, n, spread):
    return (rng.uniform(-spread, spread, n), rng.uniform(-spread, spread, n),
            rng.uniform(-np.pi, np.pi, n), rng.uniform(0.8, 7, n), rng.uniform(0.8, 3, n))  # fmt: skip  # noqa: E501


def test_sat_matches_shapely():
    rng = np.random.default_rng(1)
    n = 1500
    a, b = random_boxes(rng, n, 4.5), random_boxes(rng, n, 4.5)
    got = np.asarray(jax.jit(boxes_overlap)(*[jnp.asarray(v, jnp.float32) for v in (*a, *b)]))
    pa, pb = polys(*a), polys(*b)
    want = shapely.intersects(pa, pb)
    # boxes touching within float tolerance may legitimately differ
    gap, depth = shapely.distance(pa, pb), shapely.area(shapely.intersection(pa, pb))
    clear = (gap > 1e-3) | (depth > 1e-3)
    assert 0.2 < want.mean() < 0.8
    np.testing.assert_array_equal(got[clear], want[clear])


def swept_oracle(i0, i1, si, j0, j1, sj, n=200):
    """Dense time sampling, boxes translating linearly over the step. Returns the largest
    overlap area over time, or minus the smallest gap when they never touch."""
    t = np.linspace(0, 1, n)
    pi = polys(*[i0[k] + t * (i1[k] - i0[k]) for k in range(3)], *si)
    pj = polys(*[j0[k] + t * (j1[k] - j0[k]) for k in range(3)], *sj)
    touch = shapely.intersects(pi, pj)
    return float(np.max(np.where(touch, shapely.area(shapely.intersection(pi, pj)),
                                 -shapely.distance(pi, pj))))  # fmt: skip


def test_swept_matches_dense_oracle_including_fast_crossings():
    rng = np.random.default_rng(2)
    n = 160
    cases = []
    for k in range(n):
        psi_i, psi_j = rng.uniform(-np.pi, np.pi, 2)
        si, sj = (
            (rng.uniform(0.8, 7), rng.uniform(0.8, 3)),
            (rng.uniform(0.8, 7), rng.uniform(0.8, 3)),
        )
        if k % 2 == 0:  # fast crossing: j passes straight through i's path at up to 30 m/s
            i0 = (0.0, 0.0, psi_i)
            vi = rng.uniform(0, 9, 2)
            i1 = (vi[0], vi[1], psi_i)
            mid = (0.5 * vi[0] + rng.normal(0, 1.5), 0.5 * vi[1] + rng.normal(0, 1.5))
            d = rng.uniform(-np.pi, np.pi)
            half = rng.uniform(4, 9)
            j0 = (mid[0] - half * np.cos(d), mid[1] - half * np.sin(d), psi_j)
            j1 = (mid[0] + half * np.cos(d), mid[1] + half * np.sin(d), psi_j)
        else:  # random nearby motion
            i0 = (*rng.uniform(-5, 5, 2), psi_i)
            i1 = (i0[0] + rng.uniform(-6, 6), i0[1] + rng.uniform(-6, 6), psi_i)
            j0 = (*rng.uniform(-5, 5, 2), psi_j)
            j1 = (j0[0] + rng.uniform(-6, 6), j0[1] + rng.uniform(-6, 6), psi_j)
        cases.append((i0, i1, si, j0, j1, sj))
    arr = lambda idx, k: jnp.asarray([c[idx][k] for c in cases], jnp.float32)  # noqa: E731
    got = np.asarray(jax.jit(swept_collision)(
        (arr(0, 0), arr(0, 1), arr(0, 2)), (arr(1, 0), arr(1, 1), arr(1, 2)), (arr(2, 0), arr(2, 1)),  # noqa: E501
        (arr(3, 0), arr(3, 1), arr(3, 2)), (arr(4, 0), arr(4, 1), arr(4, 2)), (arr(5, 0), arr(5, 1)),  # noqa: E501
    ))  # fmt: skip
    measure = np.array([swept_oracle(*c) for c in cases])
    want = measure > 0
    clear = np.abs(measure) > 2e-3  # grazing contacts are ambiguous at float32 / sampling
    end_overlap = np.array([polys(*c[1], *c[2]).intersects(polys(*c[4], *c[5])) for c in cases])
    start_overlap = np.array([polys(*c[0], *c[2]).intersects(polys(*c[3], *c[5])) for c in cases])
    fast = want & ~end_overlap & ~start_overlap  # only a swept test can catch these
    n_fast = int(fast.sum())
    assert n_fast >= 8, n_fast
    keep = clear & ~start_overlap  # simulated boxes never start a step overlapping
    assert keep.sum() > 0.8 * n
    np.testing.assert_array_equal(got[keep], want[keep])
