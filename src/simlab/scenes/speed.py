"""Speed measurements shared by ``simlab scenes bench`` and ``bench/scenes/bench_scenes.py``.

All timings are steady state after ``jit`` (the first call is reported separately as compile
time); they measure exactly what their keys name, on whatever devices JAX sees.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes import data, infer, likelihood, objects, render
from simlab.scenes.camera import YCBV, look_at, scale_down
from simlab.scenes.geometry import matrix_to_quat

__all__ = ["CAM", "first_call", "measure_speed", "single_object_scene", "timeit"]

CAM = scale_down(YCBV, 4)


def timeit(fn, reps: int) -> float:
    """Mean seconds per call over ``reps`` calls after one warm-up call."""
    out = fn()
    jax.block_until_ready(out)
    t = time.perf_counter()
    for _ in range(reps):
        out = fn()
    jax.block_until_ready(out)
    return (time.perf_counter() - t) / reps


def first_call(fn) -> float:
    """Seconds for one call (the first call of a jitted function: compile + run)."""
    t = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - t


def single_object_scene(obj, rng: np.random.Generator, noise: bool = True):
    """One object resting upright at the table centre with a random yaw, seen from a random
    camera (elevation 30–60°, distance 0.6–0.9 m), rendered at 640×480 with the table and
    Kinect-like noise, reduced to a 160×120 observation. Returns (obs, ws, T_wo, T_wc)."""
    yaw = rng.uniform(-np.pi, np.pi)
    T = np.eye(4)
    c, s = np.cos(yaw), np.sin(yaw)
    T[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    T[:3, 3] = [0.0, 0.0, obj.half_extents[2]]
    el, az = np.radians(rng.uniform(30, 60)), rng.uniform(-np.pi, np.pi)
    dist = rng.uniform(0.6, 0.9)
    eye = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)]) * dist
    T_wc = look_at(eye + np.array([0, 0, 0.05]), [0, 0, 0.05])
    depth, _, _ = data.render_depth_full(YCBV, T_wc, [obj], T[None])
    if noise:
        depth = data.kinect_noise(rng, depth)
    ws = likelihood.Workspace()
    obs = likelihood.make_observation(None, T_wc, ws, depth_full=depth, cam_full=YCBV, cam_low=CAM)
    return obs, ws, T, T_wc


def measure_speed(ycb_root=None, batch_sizes=(64, 256), mh_sweeps: int = 50) -> dict:
    """Render, batched-scoring and MH-step speeds on CrackerBox (YCB mesh if a root is given)."""
    out: dict = {"objects": "ycb" if ycb_root else "procedural", "devices": str(jax.devices())}
    obj = objects.load_object("CrackerBox", ycb_root)
    T_wc = look_at([0.0, -0.6, 0.4], [0, 0, 0.1])
    T = np.eye(4)
    T[:3, 3] = [0, 0, obj.half_extents[2]]
    T_co = np.linalg.inv(T_wc) @ T
    pts, valid = render.pack_points([obj.surface_points])
    Tco = jnp.asarray(T_co[None], jnp.float32)

    def splat():
        return render.splat_depth(CAM, pts, valid, Tco)

    out["splat_compile_s"] = first_call(splat)
    out["splat_points"] = int(valid.sum())
    out["render_ms_splat_160x120"] = 1e3 * timeit(splat, 200)
    mesh = data._render_mesh_for(obj)
    out["mesh_triangles"] = len(mesh.faces)
    for cam, name in ((CAM, "160x120"), (YCBV, "640x480")):
        tris = jnp.asarray(mesh.transformed(T_co).triangles, jnp.float32)
        K = render.raster_window(cam, np.asarray(tris))
        out[f"render_ms_raster_fullmesh_{name}"] = 1e3 * timeit(
            lambda cam=cam, tris=tris, K=K: render.raster_depth(cam, tris, K), 5
        )

    # the same rasteriser on a ~1.5k-triangle vertex-clustered mesh (1.2 cm cells)
    def raster(m):
        tris = m.transformed(T_co).triangles
        K = render.raster_window(CAM, tris)
        tris = jnp.asarray(tris, jnp.float32)
        return lambda: render.raster_depth(CAM, tris, K)[0]

    dec = objects.decimate(mesh, 0.012)
    full, small = np.asarray(raster(mesh)()), np.asarray(raster(dec)())
    err = np.abs(small - full)[(small > 0) & (full > 0)]
    out["decimated_triangles"] = len(dec.faces)
    out["render_ms_raster_decimated_160x120"] = 1e3 * timeit(raster(dec), 20)
    out["decimated_depth_err_median_mm"] = float(1e3 * np.median(err))
    out["decimated_depth_err_p95_mm"] = float(1e3 * np.percentile(err, 95))

    rng = np.random.default_rng(0)
    obs, ws, T, T_wc = single_object_scene(obj, rng)
    scene = infer.make_scene([obj.surface_points], T_wc)
    t0 = jnp.asarray(T[None, :3, 3], jnp.float32)
    q0 = matrix_to_quat(jnp.asarray(T[None, :3, :3], jnp.float32))
    for kind in ("windowed", "exact"):
        cfg = infer.Config(kind=kind)
        for B in batch_sizes:
            tc = t0 + 0.01 * jax.random.normal(jax.random.key(B), (B, 3))
            qc = jnp.broadcast_to(q0, (B, 4))
            for bs in (1, B):

                def f(cfg=cfg, tc=tc, qc=qc, bs=bs):
                    return infer.score_object_poses(CAM, ws, cfg, scene, obs, t0, q0, 0, tc, qc, bs)

                tag = f"{kind}_B{B}_" + ("loop" if bs == 1 else "vmap")
                out[f"score_compile_s_{tag}"] = first_call(f)
                out[f"poses_per_s_{tag}"] = B / timeit(f, 3)
    cfg = infer.Config()
    key = jax.random.key(0)

    def mh():
        return infer.mh_sweeps(key, CAM, ws, cfg, scene, obs, t0, q0, mh_sweeps)

    out["mh_compile_s"] = first_call(mh)
    out["mh_step_ms"] = 1e3 * timeit(mh, 3) / (mh_sweeps * 9)
    return out
