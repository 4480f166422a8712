"""Likelihoods against independent NumPy/SciPy implementations, and their maxima at the truth."""

import functools
import math

import jax.numpy as jnp
import numpy as np
import pytest
from scipy.spatial import cKDTree

from simlab.scenes import likelihood as L
from simlab.scenes import objects, render
from simlab.scenes.camera import YCBV, look_at, scale_down, unproject_depth
from simlab.scenes.geometry import axis_angle_to_quat, quat_to_matrix

CAM = scale_down(YCBV, 4)
T_WC = look_at([0.05, -0.6, 0.45], [0.0, 0.0, 0.08])
WS = L.Workspace(lo=(-0.2, -0.2, 0.012), hi=(0.2, 0.2, 0.3))


def _xyz(obj, T_wo, s=2):
    pts, valid = render.pack_points([obj.surface_points])
    z = render.scene_zbuffer(
        CAM,
        pts,
        valid,
        jnp.asarray(T_wo[None], jnp.float32),
        jnp.asarray(np.linalg.inv(T_WC), jnp.float32),
        (WS.lo, WS.hi),
        s,
    )
    return np.asarray(unproject_depth(CAM, render.to_depth(z)))


FULL = scale_down(YCBV, 2)  # the "full" resolution of the test images (320×240, for speed)


@functools.cache
def _truth_obs(name):
    obj = objects.load_object(name)
    T = np.eye(4)
    T[2, 3] = obj.half_extents[2]
    tris = obj.mesh.transformed(np.linalg.inv(T_WC) @ T).triangles
    depth, _ = render.raster_depth(FULL, jnp.asarray(tris, jnp.float32), 64)
    obs = L.make_observation(
        None, T_WC, WS, depth_full=np.asarray(depth), cam_full=FULL, cam_low=CAM
    )
    return T, obs


def _world_cells(xyz):
    p = xyz.reshape(-1, 3)
    p = p[p[:, 2] > 0].astype(np.float64) @ T_WC[:3, :3].T + T_WC[:3, 3]
    p = p[np.all((p > WS.lo) & (p < WS.hi), axis=1)]
    cells = np.unique(np.floor((p - np.array(WS.lo)) / WS.res).astype(np.int64), axis=0)
    return (cells + 0.5) * WS.res


def _exact_reference(obs_xyz, ren_xyz, r, p_out):
    Y, X = _world_cells(obs_xyz), _world_cells(ren_xyz)
    n, m = len(Y), len(X)
    if m == 0:
        return -np.inf
    c = np.array([len(ix) for ix in cKDTree(X).query_ball_point(Y, r * (1 + 1e-6))])
    per = np.log(p_out / WS.volume + (1 - p_out) * c / (m * 4 / 3 * math.pi * r**3))
    p_m = min(1 - 1e-6, 3 / m)
    return np.log(p_m) + n * np.log1p(-p_m) + per.sum()


def _windowed_reference(obs_xyz, ren_xyz, sigma, p_out, f):
    """Per observed pixel, a loop over the window offsets with explicit bounds checks."""
    H, W = obs_xyz.shape[:2]
    v, u = np.nonzero(obs_xyz[..., 2] > 0)
    y = obs_xyz[v, u].astype(np.float64)
    best = np.full(len(v), -np.inf)
    const = -3 * np.log(sigma) - 1.5 * np.log(2 * np.pi)
    for dv in range(-f, f + 1):
        for du in range(-f, f + 1):
            vv, uu = v + dv, u + du
            ok = (vv >= 0) & (vv < H) & (uu >= 0) & (uu < W)
            x = np.zeros_like(y)
            x[ok] = ren_xyz[vv[ok], uu[ok]]
            ok &= x[:, 2] > 0
            lg = -0.5 * np.sum((y - x) ** 2, 1) / sigma**2 + const
            best = np.where(ok, np.maximum(best, lg), best)
    ell = best - np.log(H * W)
    return np.sum(np.logaddexp(np.log1p(-p_out) + ell, np.log(p_out) - np.log(WS.volume)))


def _shifted(T, dx=0.0, dy=0.0, rot=0.0):
    T2 = T.copy()
    T2[0, 3] += dx
    T2[1, 3] += dy
    if rot:
        R = np.asarray(quat_to_matrix(axis_angle_to_quat(jnp.array([0.0, 0.0, 1.0]), rot)))
        T2[:3, :3] = R @ T2[:3, :3]
    return T2


def test_ball_offsets_counts():
    assert [len(L.ball_offsets(k * 0.005, 0.005)) for k in (1, math.sqrt(2), math.sqrt(3), 2)] == [
        7,
        19,
        27,
        33,
    ]


@pytest.mark.parametrize("radius", [0.005, 0.01])
def test_exact_grid_likelihood_equals_ckdtree(radius):
    obj = objects.load_object("MustardBottle")
    T, obs = _truth_obs("MustardBottle")
    obs = L.make_observation(np.asarray(obs.xyz), T_WC, WS, radius)
    for dx, rot in [(0.0, 0.0), (0.012, 0.3), (-0.03, 0.5)]:
        ren = _xyz(obj, _shifted(T, dx=dx, rot=rot))
        got = float(L.exact_loglik(obs, WS, jnp.asarray(ren), 0.01))
        ref = _exact_reference(np.asarray(obs.xyz), ren, radius, 0.01)
        assert got == pytest.approx(ref, rel=2e-5, abs=1e-2)
    # nothing rendered → −∞
    assert float(L.exact_loglik(obs, WS, jnp.zeros_like(jnp.asarray(ren)), 0.01)) == -np.inf


def test_windowed_likelihood_equals_bruteforce():
    obj = objects.load_object("TomatoSoupCan")
    T, obs = _truth_obs("TomatoSoupCan")
    ren = _xyz(obj, _shifted(T, dx=0.006, rot=0.2))
    for f in (1, 2):
        got = float(L.windowed_loglik(obs, WS, jnp.asarray(ren), 0.005, 0.01, f))
        ref = _windowed_reference(np.asarray(obs.xyz), ren, 0.005, 0.01, f)
        assert got == pytest.approx(ref, rel=1e-5)
        full = np.asarray(L.window_sqdist(obs, jnp.asarray(ren), f))
        np.testing.assert_array_equal(
            np.asarray(L.window_min_sqdist(obs, jnp.asarray(ren), f)), full.min(-1)
        )
    lse = float(L.windowed_loglik(obs, WS, jnp.asarray(ren), 0.005, 0.01, 2, "logsumexp"))
    assert lse >= float(L.windowed_loglik(obs, WS, jnp.asarray(ren), 0.005, 0.01, 2))


def test_both_likelihoods_peak_at_the_true_pose():
    obj = objects.load_object("CrackerBox")
    T, obs = _truth_obs("CrackerBox")
    offsets = [dict(dx=d) for d in (-0.01, -0.004, 0.004, 0.01)]
    offsets += [dict(dy=d) for d in (-0.01, 0.004)] + [dict(rot=a) for a in (-0.15, 0.08)]
    truth_ex = float(L.exact_loglik(obs, WS, jnp.asarray(_xyz(obj, T)), 0.01))
    truth_win = float(L.windowed_loglik(obs, WS, jnp.asarray(_xyz(obj, T)), 0.005, 0.01))
    for off in offsets:
        ren = jnp.asarray(_xyz(obj, _shifted(T, **off)))
        assert float(L.exact_loglik(obs, WS, ren, 0.01)) < truth_ex, off
        assert float(L.windowed_loglik(obs, WS, ren, 0.005, 0.01)) < truth_win, off


def test_workspace_around_snaps_to_lattice():
    ws = L.workspace_around(np.array([[0.01, 0.02, 0.05], [0.1, -0.05, 0.2]]), 0.03)
    lo = np.array(ws.lo) - np.array(L.Workspace().lo)
    np.testing.assert_allclose(np.round(lo / 0.005), lo / 0.005, atol=1e-6)
    assert ws.lo[2] >= 0.012 and ws.volume < L.Workspace().volume
