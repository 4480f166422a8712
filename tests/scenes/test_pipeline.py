"""Bottom-up clustering, structure inference on true poses, and the benchmark's edge metric."""

import jax
import jax.numpy as jnp
import numpy as np
from typer.testing import CliRunner

from simlab.scenes.benchmark import edge_counts
from simlab.scenes.bottomup import blobs, face_down_rotations
from simlab.scenes.cli import app
from simlab.scenes.graph import GraphPrior, absolute_poses, contacts_of, edges_of
from simlab.scenes.objects import load_object
from simlab.scenes.pipeline import CUBE_ROTATIONS, flush_on_table, run_structure


def test_blobs_are_6_connected_components_of_5mm_voxels():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 0.05, (20000, 3))  # dense: every 5 mm cell occupied
    b = rng.uniform(0, 0.05, (20000, 3)) + np.array([0.0601, 0, 0])  # 1 cm gap: separate
    c = rng.uniform(0, 0.01, (30, 3)) + np.array([0.3, 0.3, 0])  # ≤ 8 voxels: dropped
    groups = blobs(np.concatenate([a, b, c]))
    assert len(groups) == 2
    assert {len(g) for g in groups} == {20000}
    # cells touching only along an edge (not a face) are not 6-connected
    p = np.array([[0.0025, 0.0025, 0.0025], [0.0075, 0.0075, 0.0025]])
    assert len(blobs(p, min_voxels=1)) == 2
    assert len(blobs(np.array([[0.0025] * 3, [0.0075, 0.0025, 0.0025]]), min_voxels=1)) == 1


def test_face_down_rotations_and_cube_group():
    R = face_down_rotations()
    normals = np.array([[0, 0, 1], [0, 0, -1], [-1, 0, 0], [1, 0, 0], [0, 1, 0], [0, -1, 0]])
    np.testing.assert_allclose(np.einsum("kij,kj->ki", R, normals), [[0, 0, -1]] * 6, atol=1e-12)
    q = CUBE_ROTATIONS
    assert q.shape == (24, 4)
    # 24 distinct rotations (q and −q identified)
    d = np.abs(q @ q.T)
    assert np.sum(d > 1 - 1e-6) == 24


def _stack_scene():
    """A flush stack (table → CrackerBox → GelatinBox, lying on a side face) and a soup can on
    the table 1 mm from the box: true poses T (3, 4, 4) and half sizes (3, 3)."""
    names = ["CrackerBox", "GelatinBox", "TomatoSoupCan"]
    half = jnp.asarray(np.stack([load_object(n).half_extents for n in names]), jnp.float32)
    parents = jnp.array([0, 1, 0])
    faces = jnp.array([[0, 1], [0, 4], [0, 1]])
    down = [0.0, 0.0, -1.0]
    c = jnp.array(
        [
            [0.02, -0.01, 0.0, *down, 0.3],
            [0.005, 0.03, 0.0, *down, 1.2],
            [0.02 + float(half[0, 0] + half[2, 0]) + 0.001, -0.01, 0.0, *down, 0.0],
        ]
    )
    return absolute_poses(parents, faces, jnp.tile(jnp.eye(4), (3, 1, 1)), c, half), half


def test_structure_inference_on_true_poses_recovers_the_true_edges():
    """Structure inference at the true poses of ``_stack_scene`` finds exactly the support
    edges (the side contact loses to the table by the parent-face prior)."""
    T, half = _stack_scene()
    got, _ = run_structure(jax.random.key(0), T, half, GraphPrior())
    assert {tuple(e) for e in edges_of(got).tolist()} == {(0, 1), (1, 2), (0, 3)}


def test_padded_structure_inference_compiles_once_for_every_object_count():
    """Padded to 5 objects (padding floating at the box centre), structure inference still
    finds the true edges, never gives a padding object a parent or makes it one, and a scene
    with another object count reuses the compiled kernels."""
    from simlab.scenes.pipeline import _toggle_sweeps
    from simlab.scenes.structure import structure_kernel

    T, half = _stack_scene()
    Tp = jnp.tile(jnp.eye(4), (5, 1, 1)).at[:, 2, 3].set(0.2).at[:3].set(T)
    hp = jnp.full((5, 3), 0.01).at[:3].set(half)
    sizes = []
    for n, want in ((3, {(0, 1), (1, 2), (0, 3)}), (2, {(0, 1), (1, 2)})):
        got, _ = run_structure(jax.random.key(0), Tp, hp, GraphPrior(), n_active=n)
        assert {tuple(e) for e in edges_of(got).tolist()} == want
        assert (got[n:] == -1).all() and (got <= n).all()
        sizes.append((structure_kernel._cache_size(), _toggle_sweeps._cache_size()))
    assert sizes[1] == sizes[0]


def test_edge_counts_split_table_and_object_edges():
    c = edge_counts(np.array([[0, 1], [1, 2], [2, 3]]), np.array([[0, 1], [1, 2], [0, 3]]))
    assert c["all"] == (2, 3, 3) and c["table"] == (1, 1, 2) and c["object"] == (1, 2, 1)


def test_benchmark_cli_rejects_unknown_methods():
    r = CliRunner().invoke(app, ["benchmark", "--methods", "icp,nope"])
    assert r.exit_code != 0 and "nope" in str(r.exception)


def test_snapping_a_lying_cans_roll_recovers_its_table_contact():
    """A soup can lying on its curved side on the table, rolled 35° about its axis: its box side
    face is 35° from flush, so structure inference leaves it floating; after
    ``snap_cylinder_rolls`` (a symmetry of the can: same surface, same ADD-S) it finds the
    table edge."""
    from simlab.scenes.eval import add_s
    from simlab.scenes.pipeline import snap_cylinder_rolls

    can = load_object("TomatoSoupCan")
    half = jnp.asarray(can.half_extents[None], jnp.float32)
    r = float(can.half_extents[0])
    lie = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # body z → world y (axis horizontal)
    a = np.radians(35.0)
    roll = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    T = np.eye(4)
    T[:3, :3] = lie @ roll
    T[:3, 3] = [0.05, -0.02, r]  # resting on z = 0
    key = jax.random.key(1)
    before, _ = run_structure(key, jnp.asarray(T[None], jnp.float32), half, GraphPrior())
    assert before.tolist() == [-1]
    Ts = snap_cylinder_rolls(T[None], [True])
    np.testing.assert_allclose(Ts[0, :3, 3], T[:3, 3])
    np.testing.assert_allclose(Ts[0, :3, :3] @ Ts[0, :3, :3].T, np.eye(3), atol=1e-12)
    # the +x side face now faces straight down
    np.testing.assert_allclose(Ts[0, :3, 0], [0, 0, -1], atol=1e-12)
    # only a rotation about the body z axis (the can's symmetry); ADD-S is then within the
    # spacing of the 2000 sampled metric points (not 0: the samples are not symmetric)
    D = T[:3, :3].T @ Ts[0, :3, :3]
    np.testing.assert_allclose(D[:, 2], [0, 0, 1], atol=1e-12)
    assert add_s(T, Ts[0], can.metric_points) < 0.003
    after, _ = run_structure(key, jnp.asarray(Ts, jnp.float32), half, GraphPrior())
    assert after.tolist() == [0]
    # an upright can (axis vertical) is left alone
    up = np.eye(4)
    up[:3, :3] = roll
    np.testing.assert_array_equal(snap_cylinder_rolls(up[None], [True])[0], up)
    np.testing.assert_array_equal(snap_cylinder_rolls(T[None], [False])[0], T)


def test_flush_on_table_keeps_the_in_plane_pose_and_removes_the_slack():
    """A GelatinBox tilted by 0.3 rad and hovering 2 cm up is put flush on the table through
    its closest face: the contact it then has is (x, y, s = 0, d = −e_z, φ), with x, y and φ
    those of its closest approximating contact before."""
    from simlab.scenes.geometry import pose_from_tq

    half = jnp.asarray(load_object("GelatinBox").half_extents, jnp.float32)
    a = 0.15  # half the tilt angle about x
    q = jnp.array([np.cos(a), np.sin(a), 0.0, 0.0])
    T = pose_from_tq(jnp.array([0.05, -0.03, half[2] + 0.02]), q)
    fp, fc, T_flush = jax.jit(flush_on_table)(T, half)
    parents, faces = jnp.array([0]), jnp.stack([fp, fc])[None]
    contacts = jax.jit(contacts_of)
    before = np.asarray(contacts(parents, faces, T[None], half[None]))[0]
    after = np.asarray(contacts(parents, faces, T_flush[None], half[None]))[0]
    assert int(fp) == 0 and before[2] > 0.01  # the table's top face; it hovered
    np.testing.assert_allclose(after[[0, 1, 6]], before[[0, 1, 6]], atol=1e-5)
    np.testing.assert_allclose(after[2:6], [0.0, 0.0, 0.0, -1.0], atol=1e-5)
    R = np.asarray(T_flush)[:3, :3]
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-5)
