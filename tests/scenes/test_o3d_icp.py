"""Open3D as an oracle for our JAX ICP: from the same start on a rendered scene, Open3D's
point-to-plane ICP (the benchmark's baseline) and our point-to-point ICP both reach the
rendered truth and agree with each other."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.scenes import infer, likelihood, o3d_icp, objects
from simlab.scenes.camera import YCBV, look_at, scale_down
from simlab.scenes.eval import add_s
from simlab.scenes.geometry import pose_from_tq, quat_multiply
from simlab.scenes.pipeline import run_icp

if not o3d_icp.available():
    pytest.skip(f"open3d does not import: {o3d_icp.import_error()}", allow_module_level=True)

CAM = scale_down(YCBV, 4)
WS = likelihood.Workspace(lo=(-0.2, -0.2, 0.012), hi=(0.2, 0.2, 0.3))
CFG = infer.Config()
T_WC = look_at([0.15, -0.55, 0.45], [0.0, 0.0, 0.08])


def test_open3d_and_jax_icp_agree_on_a_rendered_two_object_scene():
    objs = [objects.load_object(n) for n in ("CrackerBox", "TomatoSoupCan")]
    a = np.radians(25.0)
    q = jnp.asarray([[np.cos(a / 2), 0, 0, np.sin(a / 2)], [1.0, 0, 0, 0]], jnp.float32)
    t = jnp.asarray(
        [[-0.05, 0.0, objs[0].half_extents[2]], [0.1, 0.05, objs[1].half_extents[2]]],
        jnp.float32,
    )
    scene = infer.make_scene([o.surface_points for o in objs], T_WC)
    obs = likelihood.make_observation(
        np.asarray(infer.render_xyz(CAM, WS, CFG, scene, t, q)), T_WC, WS
    )
    truth = np.asarray(pose_from_tq(t, q), np.float64)
    # start 10 mm and 5° off (a shift and a yaw error)
    b = np.radians(5.0)
    dq = jnp.asarray([np.cos(b / 2), 0, 0, np.sin(b / 2)], jnp.float32)

    T0 = np.asarray(
        pose_from_tq(t + jnp.array([0.008, -0.006, 0.002]), quat_multiply(q, dq[None])), np.float64
    )
    start = [add_s(truth[i], T0[i], o.metric_points) for i, o in enumerate(objs)]
    ours = run_icp(jax.random.key(0), CAM, WS, CFG, scene, obs, T0).poses
    ref = o3d_icp.run_o3d_icp(None, CAM, WS, CFG, scene, obs, T0).poses
    for i, o in enumerate(objs):
        e_ours = add_s(truth[i], ours[i], o.metric_points)
        e_ref = add_s(truth[i], ref[i], o.metric_points)
        assert start[i] > 0.005
        # both within 4 mm of the truth (at 160×120 a pixel is ~3 mm here; measured 2-3 mm)
        # and at least halving the start's error; and within 4 mm of each other
        assert e_ref < min(0.004, start[i] / 2), (i, e_ref, start[i])
        assert e_ours < min(0.004, start[i] / 2), (i, e_ours, start[i])
        assert add_s(ref[i], ours[i], o.metric_points) < 0.004
