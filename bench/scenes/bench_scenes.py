"""Speed and accuracy of simlab.scenes on this machine; prints one JSON object.

    .venv/bin/python bench/scenes/bench_scenes.py [--ycb ../shared/data/ycb] [--trials 5]

Measures (steady state after jit; compile times reported separately):
* ms per 160×120 render of one object: JAX splat (default) and JAX triangle rasteriser
  (full mesh; also 640×480), CrackerBox at ~0.7 m;
* candidate poses scored per second in one vmapped batch (render + likelihood), windowed and
  exact, B = 64 and 256;
* ms per single-object MH step (jit-compiled sweeps of 9 moves);
* ADD-S on single objects from perturbed starts (σ 2 cm per axis, 15° per axis), 594 MH steps
  (66 sweeps), with windowed σ = 1 cm and 5 mm, and with 3 ICP-mixture moves every 10 sweeps,
  on 640×480 noisy renders (YCB meshes, table, Kinect noise) reduced to 160×120.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes import infer, objects
from simlab.scenes.eval import add_s
from simlab.scenes.geometry import axis_angle_to_quat, matrix_to_quat, pose_from_tq, quat_multiply
from simlab.scenes.speed import CAM, measure_speed, single_object_scene


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ycb", default=str(Path(__file__).resolve().parents[3] / "shared/data/ycb"))
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--steps", type=int, default=600)
    args = ap.parse_args()
    root = args.ycb if Path(args.ycb, "YcbCrackerBox").exists() else None
    out = measure_speed(root)
    print(json.dumps(out), file=sys.stderr, flush=True)

    # ADD-S from perturbed starts
    names = objects.OBJECT_NAMES
    sweeps = max(1, args.steps // 9)
    res = {}
    for sigma, icp_steps in ((0.01, 0), (0.005, 0), (0.01, 3)):
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
            t1, q1, _ = infer.run_floating(
                jax.random.key(trial),
                CAM,
                ws,
                cfg,
                scene,
                obs,
                jnp.asarray(t_init[None], jnp.float32),
                q_init[None],
                sweeps,
                icp_every=10,
                icp_steps=icp_steps,
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
            print(json.dumps({"sigma": sigma, "icp": icp_steps, **rows[-1]}), file=sys.stderr)
        finals = [r["add_s_final_mm"] for r in rows]
        tag = f"sigma_{sigma * 1000:g}mm" + (f"_icp{icp_steps}" if icp_steps else "")
        res[tag] = {
            "mh_steps": sweeps * 9,
            "icp_moves": icp_steps * -(-sweeps // 10),
            "median_add_s_final_mm": float(np.median(finals)),
            "max_add_s_final_mm": float(np.max(finals)),
            "median_add_s_init_mm": float(np.median([r["add_s_init_mm"] for r in rows])),
            "trials": rows,
        }
    out["add_s_single_object"] = res
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
