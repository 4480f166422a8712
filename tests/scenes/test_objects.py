import numpy as np
import pytest

from simlab.core.errors import DataError
from simlab.scenes import objects


def test_obj_loader_parses_polygons_and_relative_indices(tmp_path):
    p = tmp_path / "quad.obj"
    p.write_text(
        "# comment\nv 0 0 0\nv 1 0 0\nv 1 1 0\nv 0 1 0\nvn 0 0 1\nf 1//1 2//1 3//1 -1//1\n"
    )
    m = objects.load_obj(p)
    assert m.vertices.shape == (4, 3)
    np.testing.assert_array_equal(m.faces, [[0, 1, 2], [0, 2, 3]])


@pytest.mark.parametrize(
    ("text", "line", "what"),
    [
        ("v 0 0 0\nv 1 0 x\n", 2, "bad vertex"),
        ("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 9\n", 4, "out of range"),
        ("v 0 0 0\nf 1 2\n", 2, "at least 3"),
        ("v 0 0 0\nf 1 a 2\n", 2, "bad face index"),
    ],
)
def test_obj_loader_errors_name_file_and_line(tmp_path, text, line, what):
    p = tmp_path / "bad.obj"
    p.write_text(text)
    with pytest.raises(DataError, match=rf"bad\.obj:{line}: .*{what}"):
        objects.load_obj(p)


def test_obj_loader_missing_and_empty(tmp_path):
    with pytest.raises(DataError, match="nope.obj"):
        objects.load_obj(tmp_path / "nope.obj")
    (tmp_path / "e.obj").write_text("v 0 0 0\n")
    with pytest.raises(DataError, match="no faces"):
        objects.load_obj(tmp_path / "e.obj")


def test_procedural_default_runs_without_data():
    for name in objects.OBJECT_NAMES:
        o = objects.load_object(name)
        assert o.procedural
        np.testing.assert_allclose(o.size, objects.BOX_SIZES[name], atol=2e-4)
        assert o.metric_points.shape == (2000, 3)
        # one splat point per occupied 5 mm cell, inside its cell
        assert len(o.surface_points) == len(o.voxels)
        assert np.abs(o.surface_points - o.voxels).max() <= 0.0025 + 1e-6


def test_surface_points_lie_on_box_surface():
    o = objects.load_object("CrackerBox")
    h = o.half_extents
    # distance of each splat point to the box surface
    d = np.min(np.abs(np.abs(o.surface_points) - h), axis=1)
    assert np.median(d) < 1e-3 and d.max() < 2.6e-3


def test_canonical_box_recovers_a_yawed_offset_box():
    box = objects.box_mesh((0.05, 0.12, 0.08))
    c, s = np.cos(0.4), np.sin(0.4)
    T = np.eye(4)
    T[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    T[:3, 3] = [0.03, -0.02, 0.01]
    Tc, size = objects.canonical_box(box.transformed(T))
    np.testing.assert_allclose(sorted(size), sorted([0.05, 0.12, 0.08]), atol=5e-4)
    v = box.transformed(T).transformed(Tc).vertices
    np.testing.assert_allclose((v.max(0) + v.min(0)) / 2, 0, atol=1e-9)


def test_subdivide_bounds_edges_and_keeps_area():
    m = objects.box_mesh((0.1, 0.2, 0.3))
    s = objects.subdivide(m, 0.02)
    tri = s.triangles
    assert np.linalg.norm(tri - np.roll(tri, -1, axis=1), axis=-1).max() <= 0.02

    def area(t):
        return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1).sum()

    assert abs(area(tri) - area(m.triangles)) < 1e-9


def test_ycb_meshes_canonical_boxes_match_spec(ycb_root):
    spec_cm = {
        "CrackerBox": (7.16, 16.40, 21.37),
        "GelatinBox": (7.30, 2.99, 8.92),
        "PottedMeatCan": (5.74, 10.17, 8.45),
    }  # the three the spec calls yawed or off-centre (loading all six costs ~10 s)
    for name, size in spec_cm.items():
        o = objects.load_object(name, ycb_root)
        assert not o.procedural
        assert len(o.mesh.faces) == 15728
        # same box up to 0.5 mm (x/y may be swapped by the yaw convention)
        np.testing.assert_allclose(sorted(o.size * 100), sorted(size), atol=0.05)


def test_decimate_reduces_and_stays_close():
    m = objects.subdivide(objects.box_mesh((0.1, 0.2, 0.3)), 0.01)
    d = objects.decimate(m, 0.03)
    assert len(d.faces) < len(m.faces) / 4
    # every decimated vertex is a mean of merged surface vertices: within a cell of the box
    h = np.array([0.05, 0.1, 0.15])
    assert np.all(np.abs(d.vertices) <= h + 1e-9)
    assert np.min(np.abs(np.abs(d.vertices) - h), axis=1).max() < 0.03
