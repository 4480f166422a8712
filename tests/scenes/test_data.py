import numpy as np
import pytest

from simlab.core.errors import DataError
from simlab.scenes import data
from simlab.scenes.camera import YCBV, scale_down
from simlab.scenes.objects import load_object

CAM = scale_down(YCBV, 2)  # 320×240 keeps the tests fast; the benchmark uses 640×480


def _box_corners_world(obj, T):
    h = obj.half_extents
    c = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * h
    return c @ T[:3, :3].T + T[:3, 3]


@pytest.fixture(scope="module")
def standard():
    return data.generate_scene("standard", 5, cam=CAM)


def test_generation_is_deterministic_and_procedural(standard):
    again = data.generate_scene("standard", 5, cam=CAM)
    np.testing.assert_array_equal(standard.depth, again.depth)
    np.testing.assert_array_equal(standard.poses, again.poses)
    np.testing.assert_array_equal(standard.init_poses, again.init_poses)
    assert standard.depth.shape == (240, 320) and standard.depth.dtype == np.float32
    assert 3 <= len(standard.names) <= 5


def test_standard_objects_rest_on_the_table_apart(standard):
    objs = [load_object(n) for n in standard.names]
    for o, T in zip(objs, standard.poses):
        z = _box_corners_world(o, T)[:, 2]
        assert abs(z.min()) < 1e-9  # flush on the table
    fps = [data._footprint(o, T) for o, T in zip(objs, standard.poses)]
    for i in range(len(fps)):
        for j in range(i + 1, len(fps)):
            assert data._poly_distance(fps[i], fps[j]) >= 0.03 - 1e-9
    np.testing.assert_array_equal(standard.edges[:, 0], 0)
    # every object is seen and labelled in the segmentation
    for i in range(len(objs)):
        assert (standard.segmentation == i).sum() > 100


def test_stacks_are_flush_and_supported():
    s = data.generate_scene("stacking", 2, cam=CAM)
    objs = [load_object(n) for n in s.names]
    stacked = [(p, c) for p, c in s.edges if p > 0]
    assert stacked, "a stacking scene has object-on-object edges"
    for p, c in stacked:
        parent, child = objs[p - 1], objs[c - 1]
        top = _box_corners_world(parent, s.poses[p - 1])[:, 2].max()
        assert abs(_box_corners_world(child, s.poses[c - 1])[:, 2].min() - top) < 1e-9
        assert data._inside(s.poses[c - 1][:2, 3], data._footprint(parent, s.poses[p - 1]), 0.0)


def test_kinect_noise_statistics():
    rng = np.random.default_rng(0)
    flat = np.full((200, 300), 1.0, np.float32)
    noisy = data.kinect_noise(rng, flat)
    inl = np.abs(noisy - 1.0) < 0.02
    assert 0.985 < inl.mean() < 0.995  # ~1 % outliers
    sigma = 0.0012 + 0.0019 * 0.6**2
    expected = np.sqrt(sigma**2 + 0.001**2 / 12)  # plus 1 mm quantisation
    assert abs(noisy[inl].std() - expected) < 0.0002
    np.testing.assert_allclose(noisy[inl] * 1000, np.round(noisy[inl] * 1000), atol=1e-3)


def test_perturbed_initialisation_statistics():
    rng = np.random.default_rng(1)
    T = np.tile(np.eye(4), (4000, 1, 1))
    P = data.perturb_poses(rng, T)
    shift = np.linalg.norm(P[:, :3, 3], axis=1)
    angle = np.degrees(
        np.arccos(np.clip((np.trace(P[:, :3, :3], axis1=1, axis2=2) - 1) / 2, -1, 1))
    )
    flips = angle > 170
    shifts = np.isclose(shift, 0.05) & (angle < 1e-6)
    assert abs(flips.mean() - 0.075) < 0.015 and abs(shifts.mean() - 0.075) < 0.015
    normal = ~flips & ~shifts
    assert abs(np.mean(shift[normal]) - 0.015 * 1.596) < 0.001  # E‖N(0, σ²I₃)‖ = 1.596σ


def test_save_load_roundtrip_and_errors(standard, tmp_path):
    path = data.save_scene(standard, tmp_path / "s.npz")
    back = data.load_scene(path)
    np.testing.assert_array_equal(back.depth, standard.depth)
    assert back.names == standard.names and back.split == "standard"
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="bad.npz"):
        data.load_scene(tmp_path / "bad.npz")
    with pytest.raises(DataError, match="unknown split"):
        data.generate_scene("nope", 0)


@pytest.mark.parametrize("seed", [1001, 1009])
def test_stacking_objects_are_in_view_at_the_benchmark_resolution(seed):
    # seeds 1001 and 1009 once put a stacked GelatinBox (almost) outside the image (2 and 0 %
    # of its surface points inside; issue 11). Generated at 640×480 like the benchmark, which
    # observes at 160×120: the full-resolution pixel nearest a low-resolution pixel centre is
    # (4v, 4u), since scale_down divides cx, cy by 4.
    s = data.generate_scene("stacking", seed)
    assert s.depth.shape == (480, 640)
    objs = [load_object(n) for n in s.names]
    inside = data._in_image_fraction(YCBV, s.T_wc, objs, s.poses)
    assert inside.min() >= data.MIN_IN_IMAGE
    low = s.segmentation[::4, ::4]
    for i in range(len(objs)):
        assert (low == i).sum() >= data.MIN_VISIBLE_PX, (s.names[i], (low == i).sum())
