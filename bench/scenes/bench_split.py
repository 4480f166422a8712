"""3DP3* (every object floating: MH drifts + flips + ICP-mixture moves) on generated scenes.

    .venv/bin/python bench/scenes/bench_split.py [--splits standard,stacking] [--n 5]
        [--sweeps 60] [--ycb ../shared/data/ycb]

For each scene: 640×480 noisy depth (YCB meshes when --ycb exists, else procedural), the
perturbed-ground-truth initialisation (ii), inference at 160×120. Prints JSON with per-split
ADD-S AUC (to 10 cm), % ADD-S < 1 cm / 2 cm, median ADD-S, the same for the initialisation,
and wall-clock per scene (the first scene of a run includes compilation; reported apart).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes import data, infer, likelihood, objects
from simlab.scenes.camera import scale_down
from simlab.scenes.eval import add_s, auc, fraction_below
from simlab.scenes.geometry import matrix_to_quat, pose_from_tq


def summary(errors):
    e = np.asarray(errors)
    return {
        "auc_add_s": auc(e),
        "pct_below_1cm": 100 * fraction_below(e, 0.01),
        "pct_below_2cm": 100 * fraction_below(e, 0.02),
        "median_add_s_mm": float(1e3 * np.median(e)),
        "n_objects": len(e),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", default="standard,novel_viewpoint,stacking,occlusion")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--sweeps", type=int, default=60)
    ap.add_argument("--icp-steps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--ycb", default=str(Path(__file__).resolve().parents[3] / "shared/data/ycb"))
    args = ap.parse_args()
    root = args.ycb if Path(args.ycb, "YcbCrackerBox").exists() else None
    out = {"objects": "ycb" if root else "procedural", "sweeps": args.sweeps, "splits": {}}
    first = True
    for split in args.splits.split(","):
        init_err, final_err, walls = [], [], []
        for k in range(args.n):
            sd = data.generate_scene(split, args.seed + k, root)
            objs = [objects.load_object(n, root) for n in sd.names]
            cam_full = sd.intrinsics
            cam = scale_down(cam_full, 4)
            ws = likelihood.Workspace()
            tic = time.perf_counter()
            obs = likelihood.make_observation(
                None, sd.T_wc, ws, depth_full=sd.depth, cam_full=cam_full, cam_low=cam
            )
            geom = infer.make_scene([o.surface_points for o in objs], sd.T_wc)
            t0 = jnp.asarray(sd.init_poses[:, :3, 3], jnp.float32)
            q0 = matrix_to_quat(jnp.asarray(sd.init_poses[:, :3, :3], jnp.float32))
            t, q, _ = infer.run_floating(
                jax.random.key(k),
                cam,
                ws,
                infer.Config(),
                geom,
                obs,
                t0,
                q0,
                args.sweeps,
                10,
                args.icp_steps,
            )
            est = np.asarray(pose_from_tq(t, q), np.float64)
            wall = time.perf_counter() - tic
            if first:
                out["first_scene_wall_s_incl_compile"] = wall
                first = False
            else:
                walls.append((len(objs), wall))
            for i, o in enumerate(objs):
                init_err.append(add_s(sd.poses[i], sd.init_poses[i], o.metric_points))
                final_err.append(add_s(sd.poses[i], est[i], o.metric_points))
        out["splits"][split] = {
            "scenes": args.n,
            "init": summary(init_err),
            "3dp3_star": summary(final_err),
            "wall_s_per_scene": [round(w, 2) for _, w in walls],
            "objects_per_scene": [n for n, _ in walls],
        }
        print(json.dumps({split: out["splits"][split]}), flush=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
