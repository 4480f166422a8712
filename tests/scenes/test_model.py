"""The simlab.gen scene model agrees with the fused kernels, and gen's MH runs on it."""

import functools

import jax
import jax.numpy as jnp
import numpy as np

from simlab import gen
from simlab.gen import ChoiceMap
from simlab.scenes import infer, likelihood, model, objects, render
from simlab.scenes.camera import YCBV, look_at, scale_down
from simlab.scenes.dists import LOG_PI2

CAM, FULL = scale_down(YCBV, 4), scale_down(YCBV, 2)
WS = likelihood.Workspace(lo=(-0.2, -0.2, 0.012), hi=(0.2, 0.2, 0.3))
CFG = infer.Config()


@functools.cache
def _setup():
    obj = objects.load_object("TomatoSoupCan")
    T_wc = look_at([0.1, -0.6, 0.45], [0.0, 0.0, 0.05])
    T = np.eye(4)
    T[:3, 3] = [0.01, 0.0, obj.half_extents[2]]
    tris = objects.subdivide(obj.mesh, 0.02).transformed(np.linalg.inv(T_wc) @ T).triangles
    depth, _ = render.raster_depth(FULL, jnp.asarray(tris, jnp.float32), 32)
    obs = likelihood.make_observation(
        None, T_wc, WS, depth_full=np.asarray(depth), cam_full=FULL, cam_low=CAM
    )
    geom = infer.make_scene([obj.surface_points], T_wc)
    return T, obs, geom


def _pose7(t, q):
    return jnp.concatenate([jnp.asarray(t, jnp.float32), jnp.asarray(q, jnp.float32)])


def test_model_score_is_prior_plus_fused_likelihood():
    T, obs, geom = _setup()
    m = model.make_scene_model(CAM, WS, CFG, 1)
    pose = _pose7(T[:3, 3] + [0.004, -0.003, 0.002], [0.99, 0.0, 0.1, 0.0])
    choices = ChoiceMap({("obj", 0, "pose"): pose, "obs": obs.pts})
    score, _ = jax.jit(lambda c: m.assess(c, (geom, obs)))(choices)
    ll = infer.log_likelihood(CAM, WS, CFG, geom, obs, pose[None, :3], pose[None, 3:])
    lo, hi = np.array(CFG.bounds[0]), np.array(CFG.bounds[1])
    prior = -np.log(np.prod(hi - lo)) - LOG_PI2
    np.testing.assert_allclose(float(score), float(ll) + prior, rtol=1e-5)
    # outside the bound box the prior is zero
    out = choices | ChoiceMap({})  # copy
    out = ChoiceMap({("obj", 0, "pose"): pose.at[2].set(0.9), "obs": obs.pts})
    assert float(m.assess(out, (geom, obs))[0]) == -np.inf


def test_gen_update_weight_equals_fused_likelihood_ratio():
    T, obs, geom = _setup()
    m = model.make_scene_model(CAM, WS, CFG, 1)
    p0 = _pose7(T[:3, 3] + [0.01, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0])
    p1 = _pose7(T[:3, 3] + [0.002, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0])
    trace, _ = m.generate(
        jax.random.key(0), ChoiceMap({("obj", 0, "pose"): p0, "obs": obs.pts}), (geom, obs)
    )
    _, w, discard = m.update(jax.random.key(1), trace, ChoiceMap({("obj", 0, "pose"): p1}))
    ll = functools.partial(infer.log_likelihood, CAM, WS, CFG, geom, obs)
    expected = ll(p1[None, :3], p1[None, 3:]) - ll(p0[None, :3], p0[None, 3:])
    np.testing.assert_allclose(float(w), float(expected), rtol=1e-4, atol=0.05)
    np.testing.assert_allclose(discard[("obj", 0, "pose")], p0)


def test_gen_mh_with_drift_proposal_improves_the_pose():
    T, obs, geom = _setup()
    m = model.make_scene_model(CAM, WS, CFG, 1)
    p0 = _pose7(T[:3, 3] + [0.012, -0.008, 0.006], [1.0, 0.0, 0.0, 0.0])
    trace, _ = m.generate(
        jax.random.key(0), ChoiceMap({("obj", 0, "pose"): p0, "obs": obs.pts}), (geom, obs)
    )
    prop = model.drift_proposal(0)

    @jax.jit
    def chain(key, trace):
        def step(tr, k):
            tr, ok = gen.mh_proposal(k, tr, prop, (0.003, 1000.0))
            return tr, ok

        return jax.lax.scan(step, trace, jax.random.split(key, 60))

    end, oks = chain(jax.random.key(1), trace)
    err0 = np.linalg.norm(np.asarray(p0[:3]) - T[:3, 3])
    err1 = np.linalg.norm(np.asarray(end.choices[("obj", 0, "pose")][:3]) - T[:3, 3])
    assert np.asarray(oks).mean() > 0.05
    assert float(end.score) > float(trace.score) and err1 < err0 / 2, (err0, err1)
