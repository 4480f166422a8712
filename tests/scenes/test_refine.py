"""Contact refinement under a fixed graph on a rendered scene: poses stay rigid, near the
truth, and the subtree of a moved object keeps its contact."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.scenes.camera import YCBV, look_at, scale_down
from simlab.scenes.geometry import pose_from_tq, pose_to_tq
from simlab.scenes.graph import GraphPrior, absolute_poses, contacts_of
from simlab.scenes.infer import Config, make_scene, render_xyz
from simlab.scenes.likelihood import Workspace, make_observation
from simlab.scenes.objects import load_object
from simlab.scenes.refine import graph_log_target, graph_mh_sweeps


@pytest.mark.slow  # ~33 s alone: compiles the graph sweeps twice (3 and 4 objects)
def test_refinement_keeps_rigid_poses_near_the_truth_and_children_on_their_parents():
    names = ["CrackerBox", "GelatinBox", "TomatoSoupCan"]
    objs = [load_object(n) for n in names]
    half = jnp.asarray(np.stack([o.half_extents for o in objs]), jnp.float32)
    # CrackerBox on the table, GelatinBox on it, the soup can floating 1 cm above the table
    parents = jnp.array([0, 1, -1])
    faces = jnp.array([[0, 1], [0, 1], [0, 0]])
    c = jnp.array([[0.0, 0.0, 0.0, 0, 0, -1, 0.3], [0.01, 0.02, 0.0, 0, 0, -1, 1.0], [0.0] * 7])
    q = jnp.array([np.cos(0.35), 0.0, 0.0, np.sin(0.35)], jnp.float32)  # yaw 0.7 rad, float32
    T_can = pose_from_tq(jnp.array([0.15, 0.0, 0.061]), q)
    floating = jnp.tile(jnp.eye(4), (3, 1, 1)).at[2].set(T_can)
    T_true = absolute_poses(parents, faces, floating, c, half)
    cam = scale_down(YCBV, 4)
    T_wc = look_at(np.array([0.6, 0.3, 0.5]), np.array([0.05, 0.0, 0.08]))
    ws, cfg = Workspace(), Config()
    scene = make_scene([o.surface_points for o in objs], T_wc)
    xyz = render_xyz(cam, ws, cfg, scene, *pose_to_tq(T_true))
    obs = make_observation(np.asarray(xyz), T_wc, ws)
    T, hist, acc = graph_mh_sweeps(
        jax.random.key(0), cam, ws, cfg, GraphPrior(), scene, obs, parents, faces, T_true, half, 20
    )
    # the same scene padded with a 4th object (no points, floating at the box centre): the
    # sweeps skip it, so the real objects get exactly the same chain
    scene_p = make_scene([o.surface_points for o in objs], T_wc, n_pad=4)
    T_pad = pose_from_tq(jnp.array([0.0, 0.0, 0.2]), jnp.array([1.0, 0, 0, 0]))
    Tp, _, acc_p = graph_mh_sweeps(
        jax.random.key(0),
        cam,
        ws,
        cfg,
        GraphPrior(),
        scene_p,
        obs,
        jnp.append(parents, -1),
        jnp.concatenate([faces, jnp.zeros((1, 2), faces.dtype)]),
        jnp.concatenate([T_true, T_pad[None]]),
        jnp.concatenate([half, jnp.full((1, 3), 0.01, jnp.float32)]),
        20,
    )
    np.testing.assert_allclose(Tp[:3], T, atol=1e-5)
    np.testing.assert_allclose(Tp[3], T_pad, atol=1e-6)
    np.testing.assert_allclose(acc_p, acc)
    T = np.asarray(T)
    R = T[:, :3, :3]
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.tile(np.eye(3), (3, 1, 1)), atol=1e-5)
    assert np.abs(T[:, :3, 3] - np.asarray(T_true)[:, :3, 3]).max() < 0.01
    assert np.all(np.asarray(acc)[2:] > 0)  # the contact moves do move
    # the stacked box keeps a near-flush contact on the cracker box (slack < 1 cm, tilt < 10°)
    c2 = np.asarray(contacts_of(parents, faces, jnp.asarray(T), half))
    assert abs(c2[1, 2]) < 0.01 and -c2[1, 5] > np.cos(np.radians(10))
    assert np.all(np.isfinite(np.asarray(hist)))
    # the chain's running target (leaves scored over the others' cached z-buffer, the box
    # with a child by a full render) is the full-render target of where it ended
    full = graph_log_target(cam, ws, cfg, GraphPrior(), scene, obs, parents, faces, T, half)
    assert float(hist[-1]) == pytest.approx(float(full), abs=1e-3)
