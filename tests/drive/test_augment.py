"""Affine augmentation (spec §2.4): connectivity kept, lengths/headings/widths as A says."""

import numpy as np
import pytest

from simlab.core.errors import ConfigError
from simlab.drive.augment import (
    AugmentConfig,
    affine_matrix,
    augment_graphs,
    sample_affines,
    transform_graph,
)
from simlab.drive.mapdata import build_map
from simlab.drive.procgen import grid_town, roundabout

A = affine_matrix(1.2, 0.1, reflect=True)
B = np.array([5.0, -3.0])


@pytest.fixture(scope="module")
def graphs():
    g = grid_town(0)
    return g, transform_graph(g, A, B)


def _straight(lane):
    d = np.diff(np.asarray(lane.pts)[:, :2], axis=0)
    t = d / np.linalg.norm(d, axis=1, keepdims=True)
    return np.allclose(t, t[0], atol=1e-9)


def test_matrix_composition():
    np.testing.assert_allclose(affine_matrix(2.0, 0.5, False), [[2.0, 1.0], [0.0, 2.0]])
    np.testing.assert_allclose(affine_matrix(2.0, 0.5, True), [[2.0, -1.0], [0.0, -2.0]])
    assert np.linalg.det(affine_matrix(1.1, 0.15, True)) < 0


def test_connectivity_and_signals_preserved(graphs):
    g, h = graphs
    assert len(h.lanes) == len(g.lanes)
    for a, b in zip(g.lanes, h.lanes):
        assert a.succ == b.succ and a.signal == b.signal
        assert (a.connector, a.spawnable, a.speed) == (b.connector, b.spawnable, b.speed)
        # reflection exchanges the lane-change neighbours
        assert (b.left, b.right) == (a.right, a.left)
    assert h.n_groups == g.n_groups and len(h.junctions) == len(g.junctions)
    # lanes that joined end-to-start still join: gaps grow at most by the operator norm
    norm = np.linalg.norm(A, 2)
    for i, (a, b) in enumerate(zip(g.lanes, h.lanes)):
        for j in a.succ:
            gap0 = np.linalg.norm(a.pts[-1, :2] - g.lanes[j].pts[0, :2])
            gap1 = np.linalg.norm(b.pts[-1, :2] - h.lanes[j].pts[0, :2])
            assert gap1 <= norm * gap0 + 1e-9, (i, j)
    # and the route matrices agree on which lanes reach which
    m0, m1 = build_map(g), build_map(h)
    reach0 = m0.route < 1e5
    np.testing.assert_array_equal(reach0, m1.route < 1e5)
    assert reach0.mean() > 0.5


def test_points_map_as_the_matrix_says(graphs):
    g, h = graphs
    for a, b in zip(g.lanes, h.lanes):
        np.testing.assert_allclose(b.pts[:, :2], a.pts[:, :2] @ A.T + B, atol=1e-9)
        np.testing.assert_array_equal(b.pts[:, 2], a.pts[:, 2])


def test_built_lengths_headings_widths(graphs):
    g, h = graphs
    m = build_map(h)
    det = abs(np.linalg.det(A))
    # lane length = sum over segments of |A d| (resampling cuts curve corners by < 3 cm)
    want = [np.linalg.norm(np.diff(ln.pts[:, :2], axis=0) @ A.T, axis=1).sum() for ln in g.lanes]
    np.testing.assert_allclose(m.lane_len, want, atol=0.03)
    straight = [i for i, ln in enumerate(g.lanes) if _straight(ln)]
    assert len(straight) > 20
    for i in straight:
        t = np.diff(g.lanes[i].pts[:2, :2], axis=0)[0]
        t /= np.linalg.norm(t)
        at = A @ t
        q = np.flatnonzero(m.q_lane == i)
        d = m.q_p1[q, :2] - m.q_p0[q, :2]
        heading = np.arctan2(d[:, 1], d[:, 0])
        err = np.angle(np.exp(1j * (heading - np.arctan2(at[1], at[0]))))
        assert np.abs(err).max() < 1e-4
        assert m.lane_width[i] == pytest.approx(g.lanes[i].width * det / np.linalg.norm(at))
        np.testing.assert_allclose(m.q_curv[q], 0.0, atol=1e-4)


def test_widths_hand_computed():
    # A = s [[1, h], [0, 1]]: along x the strip keeps height s·w; along y it is s·w/√(1+h²)
    s, sh = 1.2, 0.1
    g = grid_town(3, nx=2, ny=2)
    h = transform_graph(g, affine_matrix(s, sh))
    seen = [0, 0]
    for a, b in zip(g.lanes, h.lanes):
        if not _straight(a):
            continue
        t = np.diff(a.pts[:2, :2], axis=0)[0]
        if abs(t[1]) < 1e-9:
            assert b.width == pytest.approx(s * a.width)
            seen[0] += 1
        elif abs(t[0]) < 1e-9:
            assert b.width == pytest.approx(s * a.width / np.sqrt(1 + sh**2))
            seen[1] += 1
    assert min(seen) >= 4


def test_reflection_gives_consistent_left_hand_traffic():
    def right_neighbour_side(g):
        sides = []
        for ln in g.lanes:
            if ln.right < 0 or not _straight(ln):
                continue
            p, t = ln.pts[0, :2], ln.pts[-1, :2] - ln.pts[0, :2]
            q = g.lanes[ln.right].pts[0, :2]
            sides.append(np.sign(t[0] * (q - p)[1] - t[1] * (q - p)[0]))
        return np.array(sides)

    def opposite_side(g):
        # where is the opposing traffic? the lane of a road with the most negative dot
        sides = []
        lanes = [ln for ln in g.lanes if _straight(ln) and not ln.connector]
        mids = np.array([ln.pts[:, :2].mean(0) for ln in lanes])
        dirs = np.array([ln.pts[-1, :2] - ln.pts[0, :2] for ln in lanes])
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        for i in range(len(lanes)):
            dist = np.linalg.norm(mids - mids[i], axis=1)
            opp = (dirs @ dirs[i] < -0.99) & (dist < 12)
            for j in np.flatnonzero(opp):
                d = mids[j] - mids[i]
                sides.append(np.sign(dirs[i, 0] * d[1] - dirs[i, 1] * d[0]))
        return np.array(sides)

    g = grid_town(1)
    assert max(ln.right for ln in g.lanes) >= 0
    h = transform_graph(g, affine_matrix(1.0, 0.0, reflect=True))
    # the right neighbour is geometrically on the right in both
    assert np.all(right_neighbour_side(g) < 0) and np.all(right_neighbour_side(h) < 0)
    # oncoming traffic is on the left (right-hand traffic), then on the right (left-hand)
    s0, s1 = opposite_side(g), opposite_side(h)
    assert len(s0) > 10 and np.all(s0 > 0) and np.all(s1 < 0)


def test_sampling_ranges_and_determinism():
    cfg = AugmentConfig()
    mats = sample_affines(7, 400, cfg)
    assert all(np.array_equal(a, b) for a, b in zip(mats, sample_affines(7, 400, cfg)))
    dets = np.array([np.linalg.det(m) for m in mats])
    scale = np.sqrt(np.abs(dets))  # det = ±s²
    assert scale.min() >= 0.8 - 1e-12 and scale.max() <= 1.25 + 1e-12
    shear = np.array([m[0, 1] / m[0, 0] * np.sign(m[1, 1]) for m in mats])
    assert np.abs(shear).max() <= 0.15 + 1e-12
    assert 0.4 < np.mean(dets < 0) < 0.6


def test_augment_graphs_builds_every_variant():
    base = roundabout(2)
    out = augment_graphs([base], seed=1, cfg=AugmentConfig(n_variants=3))
    assert [g.name for g in out] == ["roundabout2"] + [f"roundabout2~aug{k}" for k in range(3)]
    for g in out:
        m = build_map(g)
        assert len(m.spawn_quads) > 0 and len(m.s_a) == len(build_map(base).s_a)


def test_bad_matrix_and_config():
    with pytest.raises(ConfigError, match="invertible"):
        transform_graph(roundabout(0), np.zeros((2, 2)))
    with pytest.raises(ConfigError, match="scale"):
        AugmentConfig(scale=(0.0, 1.0))
    with pytest.raises(ConfigError, match="p_reflect"):
        AugmentConfig(p_reflect=1.5)
