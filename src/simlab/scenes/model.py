"""The 3DP3 scene generative model in ``simlab.gen`` (floating objects; contacts: issue 11).

``make_scene_model(cam, ws, cfg, n)`` returns a ``@gen`` function ``scene_model(t, geom, obs)``
with addresses

* ``("obj", i, "pose")``: a (7,) vector ``[t (3) m, q (4)]``, the world pose of object i,
  uniform in the bound box B (``cfg.bounds``) times a Haar-uniform rotation:
  log p = −log vol(B) − log π² (rotations measured on the unit-quaternion hemisphere);
* ``"obs"``: the observed points (N, 3) [m, camera frame] at the observation's valid pixels,
  scored by the windowed depth likelihood of the scene rendered at those poses.

The windowed likelihood is the spec's inner-loop approximation, not a normalised density over
point clouds; ``depth_obs.sample`` draws a plausible cloud (each pixel: with probability p_out
uniform in the crop box, else the rendered point plus N(0, σ²I), or the crop-box sample where
nothing is rendered) so that ``simulate`` works, but its logpdf is the likelihood, not the
density of that sampler. Inference only ever evaluates it at the observed cloud.

``drift_proposal(i)`` is a ``@gen`` proposal for ``gen.mh_proposal``: a Gaussian–vMF drift of
object i's pose. The hand-fused kernels in ``simlab.scenes.infer`` compute the same MH ratio
in one jit call; ``tests/scenes/test_model.py`` checks that the two agree.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlab.gen import Distribution, gen
from simlab.scenes.camera import Intrinsics
from simlab.scenes.dists import LOG_PI2, gaussian_vmf_pose_logpdf, gaussian_vmf_pose_sample
from simlab.scenes.geometry import uniform_quat
from simlab.scenes.infer import Config, Scene, render_xyz
from simlab.scenes.likelihood import Observation, Workspace, windowed_loglik

__all__ = ["depth_obs", "drift_proposal", "floating_pose", "gvmf_pose", "make_scene_model"]


def _floating_sample(key, lo, hi):
    kt, kq = jax.random.split(key)
    t = jax.random.uniform(kt, (3,), minval=lo, maxval=hi)
    return jnp.concatenate([t, uniform_quat(kq)])


def _floating_logpdf(pose, lo, hi):
    t = pose[:3]
    inside = jnp.all((t >= lo) & (t <= hi))
    lp = -jnp.sum(jnp.log(hi - lo)) - LOG_PI2
    return jnp.where(inside, lp, -jnp.inf)


#: Floating pose [t, q] (7,): uniform position in the box [lo, hi] (3,) [m], Haar rotation.
floating_pose = Distribution("floating_pose", _floating_sample, _floating_logpdf, reparam=False)


def _gvmf_sample(key, centre, sigma, kappa):
    t, q = gaussian_vmf_pose_sample(key, centre[:3], centre[3:], sigma, kappa)
    return jnp.concatenate([t, q])


def _gvmf_logpdf(pose, centre, sigma, kappa):
    return gaussian_vmf_pose_logpdf(pose[:3], pose[3:], centre[:3], centre[3:], sigma, kappa)


#: Gaussian–vMF pose drift about ``centre`` (7,) with σ [m] and κ.
gvmf_pose = Distribution("gvmf_pose", _gvmf_sample, _gvmf_logpdf, reparam=False)


def depth_obs(cam: Intrinsics, ws: Workspace, cfg: Config) -> Distribution:
    """The observation distribution (see the module docstring) for these statics."""

    # gen distributions take array parameters, so the observation's index arrays are passed
    # one by one: pix (N,) flat pixel indices, mask (N,), T_wc (4, 4)
    def logpdf(pts, xyz, pix, mask, T_wc):
        obs = Observation(None, pix, pts, mask, None, None, T_wc, None)
        return windowed_loglik(obs, ws, xyz, cfg.sigma, cfg.p_out, cfg.f)

    def sample(key, xyz, pix, mask, T_wc):
        k1, k2, k3 = jax.random.split(key, 3)
        at_pix = xyz.reshape(-1, 3)[pix]
        noisy = at_pix + cfg.sigma * jax.random.normal(k1, at_pix.shape)
        lo, hi = jnp.asarray(ws.lo), jnp.asarray(ws.hi)
        world = jax.random.uniform(k2, at_pix.shape, minval=lo, maxval=hi)
        T_cw = jnp.linalg.inv(T_wc)
        outlier = world @ T_cw[:3, :3].T + T_cw[:3, 3]
        use_out = (jax.random.uniform(k3, at_pix.shape[:1]) < cfg.p_out) | (at_pix[:, 2] <= 0)
        return jnp.where(use_out[:, None], outlier, noisy)

    return Distribution("depth_obs", sample, logpdf, reparam=False)


def make_scene_model(cam: Intrinsics, ws: Workspace, cfg: Config, n: int):
    """The scene model for n floating objects; call as ``model.simulate(key, (geom, obs))``
    with ``geom`` a ``infer.Scene`` and ``obs`` an ``Observation`` (its ``pts`` are the data)."""
    lo = jnp.asarray(cfg.bounds[0], jnp.float32)
    hi = jnp.asarray(cfg.bounds[1], jnp.float32)
    obs_dist = depth_obs(cam, ws, cfg)

    @gen(name=f"scene_model_{n}")
    def scene_model(t, geom: Scene, obs: Observation):
        poses = [t(("obj", i, "pose"), floating_pose, lo, hi) for i in range(n)]
        P = jnp.stack(poses)
        xyz = render_xyz(cam, ws, cfg, geom, P[:, :3], P[:, 3:])
        t("obs", obs_dist, xyz, obs.pix, obs.mask, obs.T_wc)
        return P

    return scene_model


def drift_proposal(i: int):
    """A proposal GF ``q(trace, sigma, kappa)`` drifting ("obj", i, "pose") by GVMF(σ, κ)."""

    @gen(name=f"drift_obj{i}")
    def proposal(t, trace, sigma, kappa):
        return t(("obj", i, "pose"), gvmf_pose, trace.choices[("obj", i, "pose")], sigma, kappa)

    return proposal
