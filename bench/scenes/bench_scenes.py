"""Speed and accuracy of simlab.scenes on this machine; prints one JSON object.

    .venv/bin/python bench/scenes/bench_scenes.py [--ycb ../shared/data/ycb] [--trials 5]

Measures (steady state after jit; compile times reported separately):
* ms per 160×120 render of one object: JAX splat (default) and JAX triangle rasteriser
  (full mesh; also 640×480), CrackerBox at ~0.7 m;
* candidate poses scored per second in one vmapped batch (render + likelihood), windowed and
  exact, B = 64 and 256;
* ms per single-object MH step (jit-compiled sweeps of 9 moves);
* ADD-S on single objects from perturbed starts (σ 2 cm per axis, 15° per axis), 600 MH steps,
  on 640×480 noisy renders (YCB meshes, table, Kinect noise) reduced to 160×120.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes import data, infer, likelihood, objects, render
from simlab.scenes.camera import YCBV, look_at, scale_down
from simlab.scenes.eval import add_s
from simlab.scenes.geometry import axis_angle_to_quat, matrix_to_quat, pose_from_tq, quat_multiply

CAM = scale_down(YCBV, 4)


def timeit(fn, reps):
    out = fn()
    jax.block_until_ready(out)
    t = time.perf_counter()
    for _ in range(reps):
        out = fn()
    jax.block_until_ready(out)
    return (time.perf_counter() - t) / reps


def first_call(fn):
    t = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - t


def single_object_scene(obj, rng, noise=True):
    """A one-object tabletop scene: (obs, T_wo, T_wc) at 160×120 from a noisy 640×480 image."""
    yaw = rng.uniform(-np.pi, np.pi)
    T = np.eye(4)
    c, s = np.cos(yaw), np.sin(yaw)
    T[:3, :3] = [[c, -s, 0], [s, c, 0], [0, 0, 1]]
    T[:3, 3] = [0.0, 0.0, obj.half_extents[2]]
    el, az, dist = (
        np.radians(rng.uniform(30, 60)),
        rng.uniform(-np.pi, np.pi),
        rng.uniform(0.6, 0.9),
    )
    eye = np.array([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)]) * dist
    T_wc = look_at(eye + np.array([0, 0, 0.05]), [0, 0, 0.05])
    depth, _, _ = data.render_depth_full(YCBV, T_wc, [obj], T[None])
    if noise:
        depth = data.kinect_noise(rng, depth)
    ws = likelihood.Workspace()
    obs = likelihood.make_observation(None, T_wc, ws, depth_full=depth, cam_full=YCBV, cam_low=CAM)
    return obs, ws, T, T_wc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ycb", default=str(Path(__file__).resolve().parents[3] / "shared/data/ycb"))
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--steps", type=int, default=600)
    args = ap.parse_args()
    root = args.ycb if Path(args.ycb, "YcbCrackerBox").exists() else None
    out = {"objects": "ycb" if root else "procedural", "devices": str(jax.devices())}
    obj = objects.load_object("CrackerBox", root)
    T_wc = look_at([0.0, -0.6, 0.4], [0, 0, 0.1])
    T = np.eye(4)
    T[:3, 3] = [0, 0, obj.half_extents[2]]
    T_co = np.linalg.inv(T_wc) @ T
    pts, valid = render.pack_points([obj.surface_points])
    Tco = jnp.asarray(T_co[None], jnp.float32)
    splat = lambda: render.splat_depth(CAM, pts, valid, Tco)  # noqa: E731
    out["splat_compile_s"] = first_call(splat)
    out["splat_points"] = int(valid.sum())
    out["render_ms_splat_160x120"] = 1e3 * timeit(splat, 200)
    for cam, name in ((CAM, "160x120"), (YCBV, "640x480")):
        tris = jnp.asarray(obj.mesh.transformed(T_co).triangles, jnp.float32)
        K = render.raster_window(cam, np.asarray(tris))
        out[f"render_ms_raster_fullmesh_{name}"] = 1e3 * timeit(
            lambda cam=cam, tris=tris, K=K: render.raster_depth(cam, tris, K), 10
        )
    out["mesh_triangles"] = len(obj.mesh.faces)

    # batched scoring
    rng = np.random.default_rng(0)
    obs, ws, T, T_wc = single_object_scene(obj, rng)
    scene = infer.make_scene([obj.surface_points], T_wc)
    t0 = jnp.asarray(T[None, :3, 3], jnp.float32)
    q0 = matrix_to_quat(jnp.asarray(T[None, :3, :3], jnp.float32))
    for kind in ("windowed", "exact"):
        cfg = infer.Config(kind=kind)
        for B in (64, 256):
            tc = t0 + 0.01 * jax.random.normal(jax.random.key(B), (B, 3))
            qc = jnp.broadcast_to(q0, (B, 4))
            for bs in (1, B):

                def f(cfg=cfg, tc=tc, qc=qc, bs=bs):
                    return infer.score_object_poses(CAM, ws, cfg, scene, obs, t0, q0, 0, tc, qc, bs)

                tag = f"{kind}_B{B}_" + ("loop" if bs == 1 else "vmap")
                out[f"score_compile_s_{tag}"] = first_call(f)
                out[f"poses_per_s_{tag}"] = B / timeit(f, 3)

    # MH step time
    cfg = infer.Config()
    key = jax.random.key(0)
    n_sw = 50
    f = lambda: infer.mh_sweeps(key, CAM, ws, cfg, scene, obs, t0, q0, n_sw)  # noqa: E731
    out["mh_compile_s"] = first_call(f)
    out["mh_step_ms"] = 1e3 * timeit(f, 3) / (n_sw * 9)

    # ADD-S from perturbed starts
    names = objects.OBJECT_NAMES
    sweeps = max(1, args.steps // 9)
    res = {}
    for sigma in (0.01, 0.005):
        cfg = infer.Config(sigma=sigma)
        rows = []
        for trial in range(args.trials):
            name = names[trial % len(names)]
            o = objects.load_object(name, root)
            r = np.random.default_rng(100 + trial)
            obs, ws, T, T_wc = single_object_scene(o, r)
            scene = infer.make_scene([o.surface_points], T_wc)
            t_true = T[:3, 3]
            t_init = t_true + 0.02 * r.standard_normal(3)
            w = np.radians(15) * r.standard_normal(3)
            q_true = matrix_to_quat(jnp.asarray(T[:3, :3], jnp.float32))
            q_init = quat_multiply(
                q_true, axis_angle_to_quat(jnp.asarray(w, jnp.float32), np.linalg.norm(w))
            )
            T_init = np.asarray(pose_from_tq(jnp.asarray(t_init, jnp.float32), q_init))
            tic = time.perf_counter()
            t1, q1, _, _ = infer.mh_sweeps(
                jax.random.key(trial),
                CAM,
                ws,
                cfg,
                scene,
                obs,
                jnp.asarray(t_init[None], jnp.float32),
                q_init[None],
                sweeps,
            )
            jax.block_until_ready(t1)
            wall = time.perf_counter() - tic
            T_end = np.asarray(pose_from_tq(t1[0], q1[0]))
            rows.append(
                {
                    "object": name,
                    "add_s_init_mm": 1e3 * add_s(T, T_init, o.metric_points),
                    "add_s_final_mm": 1e3 * add_s(T, T_end, o.metric_points),
                    "wall_s_incl_compile": wall,
                }
            )
        finals = [r["add_s_final_mm"] for r in rows]
        res[f"sigma_{sigma * 1000:g}mm"] = {
            "steps": sweeps * 9,
            "median_add_s_final_mm": float(np.median(finals)),
            "trials": rows,
        }
    out["add_s_single_object"] = res
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
