"""Renderers against an independent NumPy Möller–Trumbore ray caster (tests/scenes/raycast.py)
and analytic depth of a plane."""

import jax.numpy as jnp
import numpy as np

from simlab.scenes import objects, render
from simlab.scenes.camera import YCBV, look_at, scale_down
from simlab.scenes.geometry import pose_from_tq

from .raycast import raycast_depth

CAM = scale_down(YCBV, 4)


def _pose(t, q):
    return np.asarray(pose_from_tq(jnp.asarray(t, jnp.float32), jnp.asarray(q, jnp.float32)), float)


def _check_raster_against_raycast(mesh, T_co, cam=CAM, n=150):
    tris = mesh.transformed(T_co).triangles
    depth, _ = render.raster_depth(
        cam, jnp.asarray(tris, jnp.float32), render.raster_window(cam, tris)
    )
    depth = np.asarray(depth)
    rng = np.random.default_rng(0)
    vv, uu = np.nonzero(depth > 0)
    # sample inside the silhouette and in a band around it
    sel = rng.choice(len(vv), n)
    us = np.concatenate([uu[sel], np.clip(uu[sel] + rng.integers(-6, 7, n), 0, cam.width - 1)])
    vs = np.concatenate([vv[sel], np.clip(vv[sel] + rng.integers(-6, 7, n), 0, cam.height - 1)])
    ref = raycast_depth(tris, cam.fx, cam.fy, cam.cx, cam.cy, us.astype(float), vs.astype(float))
    got = depth[vs, us]
    both = (ref > 0) & (got > 0)
    # coverage agrees except for pixel centres within float error of an edge
    assert np.mean((ref > 0) != (got > 0)) < 0.01
    assert np.abs(got[both] - ref[both]).max() < 1e-4
    return depth


def test_raster_matches_raycast_procedural():
    box = objects.subdivide(objects.box_mesh((0.07, 0.16, 0.21)), 0.03)
    _check_raster_against_raycast(box, _pose([0.03, -0.02, 0.7], [0.9, 0.3, -0.2, 0.1]))


def test_raster_and_splat_match_raycast_on_ycb(ycb_root):
    o = objects.load_object("MustardBottle", ycb_root)
    T_co = _pose([0.01, 0.02, 0.75], [0.8, -0.4, 0.3, 0.2])
    depth = _check_raster_against_raycast(o.mesh, T_co)
    pts, valid = render.pack_points([o.surface_points])
    splat = np.asarray(render.splat_depth(CAM, pts, valid, jnp.asarray(T_co[None], jnp.float32)))
    both = (splat > 0) & (depth > 0)
    assert np.mean(depth[depth > 0] > 0) == 1
    assert np.mean(splat[depth > 0] == 0) < 0.02  # s = 2 footprints leave almost no holes
    assert np.median(np.abs(splat[both] - depth[both])) < 0.004


def test_splat_depth_of_a_fronto_parallel_face():
    o = objects.load_object("CrackerBox")  # procedural: x 7.16, y 16.4, z 21.37 cm
    # face +z towards the camera: rotate π about x so object +z points along −z_camera
    T_co = _pose([0.0, 0.0, 0.8], [0.0, 1.0, 0.0, 0.0])
    pts, valid = render.pack_points([o.surface_points])
    d = np.asarray(render.splat_depth(CAM, pts, valid, jnp.asarray(T_co[None], jnp.float32)))
    face_z = 0.8 - o.half_extents[2]
    hx, hy = o.half_extents[:2]
    u0, u1 = CAM.fx * (-hx + 0.01) / face_z + CAM.cx, CAM.fx * (hx - 0.01) / face_z + CAM.cx
    v0, v1 = CAM.fy * (-hy + 0.01) / face_z + CAM.cy, CAM.fy * (hy - 0.01) / face_z + CAM.cy
    inner = d[int(np.ceil(v0)) : int(v1), int(np.ceil(u0)) : int(u1)]
    assert inner.size > 50 and np.all(inner > 0)
    on_face = np.abs(inner - face_z) < 1e-3  # splat points are cell means on the face
    # a 5 mm cell spans ~1.9 px here, so a 2×2 footprint leaves only rare see-through holes
    assert on_face.mean() > 0.97, on_face.mean()
    # nothing rendered well outside the box's projection
    assert d[:, : int(u0) - 4].max() == 0 and d[:, int(u1) + 5 :].max() == 0


def test_occlusion_and_ids():
    a = objects.load_object("CrackerBox")
    b = objects.load_object("TomatoSoupCan")
    pts, valid = render.pack_points([a.surface_points, b.surface_points])
    T_wc = look_at([0, -0.8, 0.3], [0, 0, 0.1])
    T_cw = np.linalg.inv(T_wc)
    far = _pose([0, 0, 0.11], [1, 0, 0, 0])
    near = _pose([0, -0.2, 0.05], [1, 0, 0, 0])  # the can stands in front of the box
    T_co = jnp.asarray(np.stack([T_cw @ far, T_cw @ near]), jnp.float32)
    depth, ids = render.splat_depth_ids(CAM, pts, valid, T_co)
    depth, ids = np.asarray(depth), np.asarray(ids)
    # the box alone: same shapes (one compile), the can moved behind the camera
    away = T_co.at[1, 2, 3].set(-1.0)
    alone = np.asarray(render.splat_depth_ids(CAM, pts, valid, away)[0])
    occluded = (ids == 1) & (alone > 0)
    assert occluded.sum() > 50
    assert np.all(depth[occluded] < alone[occluded])  # the nearer surface wins
    assert np.all((ids >= 0) == (depth > 0))
    only_box = (alone > 0) & (ids == 0)
    np.testing.assert_array_equal(depth[only_box], alone[only_box])
    # scene z-buffer with a world crop removes points below the table top
    z = render.scene_zbuffer(
        CAM,
        pts,
        valid,
        jnp.asarray(np.stack([far, near]), jnp.float32),
        jnp.asarray(T_cw, jnp.float32),
        ((-1.0, -1.0, 0.05), (1.0, 1.0, 1.0)),
    )
    np.testing.assert_array_less(0, np.asarray(render.to_depth(z)).sum())
