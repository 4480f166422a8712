"""Padding scenes to a fixed object count: the samplers skip padding objects, give the real
objects exactly what an unpadded scene gives, and scenes with different object counts share
one compilation. (The contact refinement's padding check is in test_refine.py, where it reuses
that test's compilation.)"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.scenes import infer, likelihood, objects
from simlab.scenes.camera import YCBV, look_at, scale_down

CAM = scale_down(YCBV, 8)
WS = likelihood.Workspace(lo=(-0.2, -0.2, 0.012), hi=(0.2, 0.2, 0.3))
CFG = infer.Config()
T_WC = look_at([0.1, -0.6, 0.45], [0.0, 0.0, 0.1])
NAMES = ("CrackerBox", "TomatoSoupCan")


def _setup(n, n_pad):
    objs = [objects.load_object(nm) for nm in NAMES[:n]]
    t = jnp.asarray([[0.0, 0.0, o.half_extents[2]] for o in objs], jnp.float32)
    t = t.at[:, 0].add(jnp.arange(n) * 0.15)
    q = jnp.tile(jnp.array([[1.0, 0, 0, 0]]), (n, 1))
    scene = infer.make_scene([o.surface_points for o in objs], T_WC, n_pad, 4096)
    xyz = infer.render_xyz(CAM, WS, CFG, scene, *infer.pad_poses(scene, t, q, CFG.bounds))
    obs = likelihood.make_observation(np.asarray(xyz), T_WC, WS, pad_to=2048)
    # start 1 cm and a few degrees off the rendered truth
    t0 = t + jnp.array([0.01, -0.005, 0.004])
    q0 = jnp.tile(jnp.array([[0.998, 0.0, 0.0, 0.0628]]), (n, 1))
    half = jnp.asarray(np.stack([o.half_extents for o in objs]), jnp.float32)
    return scene, obs, t0, q0, half


@pytest.mark.slow  # ~20 s alone, mostly compiling
def test_padding_objects_change_nothing_for_the_real_objects():
    key = jax.random.key(3)
    scene, obs, t0, q0, _ = _setup(1, 0)
    scene_p, _, _, _, _ = _setup(1, 3)
    assert scene_p.points.shape[0] == 3 and not bool(infer.active_objects(scene_p)[1:].any())
    a = infer.mh_sweeps(key, CAM, WS, CFG, scene, obs, t0, q0, 2)
    tp, qp = infer.pad_poses(scene_p, t0, q0, CFG.bounds)
    b = infer.mh_sweeps(key, CAM, WS, CFG, scene_p, obs, tp, qp, 2)
    np.testing.assert_allclose(b[0][:1], a[0], atol=1e-6)
    np.testing.assert_allclose(b[1][:1], a[1], atol=1e-6)
    np.testing.assert_allclose(b[2], a[2], rtol=1e-6)  # same log targets
    np.testing.assert_allclose(b[3], a[3])  # acceptance per real object
    np.testing.assert_array_equal(b[0][1:], tp[1:])  # padding never moves
    assert float(jnp.max(jnp.abs(a[1] - q0))) > 0  # the sampler did move the real object


def test_scenes_with_different_object_counts_share_one_compilation():
    key = jax.random.key(0)
    sizes = []
    for n in (1, 2):
        scene, obs, t0, q0, _ = _setup(n, 3)
        t, q = infer.pad_poses(scene, t0, q0, CFG.bounds)
        jax.block_until_ready(infer.mh_sweeps(key, CAM, WS, CFG, scene, obs, t, q, 2))
        sizes.append(infer.mh_sweeps._cache_size())
    assert sizes[1] == sizes[0]
