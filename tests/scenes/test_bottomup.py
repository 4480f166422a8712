"""The full bottom-up initialisation (spec §6.1) on a small rendered scene: a lying cracker box
and an upright soup can on the table are recovered near their true poses from depth alone."""

import jax.numpy as jnp
import numpy as np
import pytest

from simlab.scenes import infer, likelihood, objects
from simlab.scenes.bottomup import bottom_up_init
from simlab.scenes.camera import YCBV, look_at, scale_down
from simlab.scenes.eval import add_s
from simlab.scenes.geometry import matrix_to_quat, pose_from_tq

CAM = scale_down(YCBV, 4)  # the inference resolution, 160×120
WS = likelihood.Workspace()
CFG = infer.Config()
T_WC = look_at([0.3, -0.45, 0.5], [0.0, 0.0, 0.05])


@pytest.mark.slow  # ~21 s of CPU (user), mostly compiling the batched planar ICP
def test_bottom_up_init_recovers_a_two_object_scene():
    objs = [objects.load_object(n) for n in ("CrackerBox", "TomatoSoupCan")]
    box, can = (o.half_extents for o in objs)
    # the box lies on its large −x face (body x up), yawed; the can stands upright
    lie = np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]])  # body x → world z
    c, s = np.cos(0.6), np.sin(0.6)
    R_box = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ lie
    T = np.stack([np.eye(4), np.eye(4)])
    T[0, :3, :3] = R_box
    T[0, :3, 3] = [-0.06, 0.02, box[0]]
    T[1, :3, 3] = [0.12, -0.06, can[2]]
    t = jnp.asarray(T[:, :3, 3], jnp.float32)
    q = matrix_to_quat(jnp.asarray(T[:, :3, :3], jnp.float32))
    scene = infer.make_scene([o.surface_points for o in objs], T_WC)
    xyz = np.asarray(infer.render_xyz(CAM, WS, CFG, scene, t, q))
    obs = likelihood.make_observation(xyz, T_WC, WS)
    truth = np.asarray(pose_from_tq(t, q), np.float64)
    est = bottom_up_init(CAM, WS, obs, objs, T_WC)
    for i, o in enumerate(objs):
        assert add_s(truth[i], est[i], o.metric_points) < 0.01, (o.name, est[i], truth[i])


@pytest.mark.slow  # ~15 s of CPU, mostly compiling the 48-start planar ICP
def test_table_icp_pose_puts_a_displaced_tilted_box_back_on_the_table():
    """``table_icp_pose`` (the restart of 3DP3's table restarts): the lying box of the scene
    above, floating 4 cm off in the plane, 1.5 cm up and tilted by 25°, is fitted flat on the table
    to within 1 cm ADD-S from the points the can does not explain."""
    import jax

    from simlab.scenes.pipeline import table_icp_pose

    objs = [objects.load_object(n) for n in ("CrackerBox", "TomatoSoupCan")]
    box, can = (o.half_extents for o in objs)
    lie = np.array([[0.0, 0, -1], [0, 1, 0], [1, 0, 0]])
    c, s = np.cos(0.6), np.sin(0.6)
    T = np.stack([np.eye(4), np.eye(4)])
    T[0, :3, :3] = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]) @ lie
    T[0, :3, 3] = [-0.06, 0.02, box[0]]
    T[1, :3, 3] = [0.12, -0.06, can[2]]
    t = jnp.asarray(T[:, :3, 3], jnp.float32)
    q = matrix_to_quat(jnp.asarray(T[:, :3, :3], jnp.float32))
    scene = infer.make_scene([o.surface_points for o in objs], T_WC)
    obs = likelihood.make_observation(
        np.asarray(infer.render_xyz(CAM, WS, CFG, scene, t, q)), T_WC, WS
    )
    a = np.radians(25.0)
    tilt = np.array([[1.0, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    off = T.copy()
    off[0, :3, :3] = tilt @ T[0, :3, :3]
    off[0, :3, 3] += [0.03, 0.03, 0.015]
    half = jnp.asarray(np.stack([box, can]), jnp.float32)
    key = jax.random.key(0)
    fit = table_icp_pose(key, CAM, WS, CFG, scene, obs, jnp.asarray(off, jnp.float32), half, 0)
    start = add_s(T[0], off[0], objs[0].metric_points)
    err = add_s(T[0], np.asarray(fit, np.float64), objs[0].metric_points)
    assert start > 0.019 and err < 0.006, (start, err)
