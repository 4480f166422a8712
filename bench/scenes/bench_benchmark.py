"""The synthetic 3DP3 benchmark (spec §7): ICP, multi-start ICP, 3DP3*, 3DP3 on four splits.

    nice -n 10 .venv/bin/python bench/scenes/bench_benchmark.py [--n 5] [--splits ...]
        [--methods icp,icp_multi,icp_jax,3dp3_star,3dp3] [--init perturbed|bottomup] [--sweeps 40]
        [--out runs/scenes-benchmark] [--ycb ../shared/data/ycb] [--no-snap-rolls]

Generates n seeded scenes per split (procedural objects unless --ycb exists and --use-ycb),
runs every method from the same initial poses (icp / icp_multi: Open3D point-to-plane, single
and 24-start; icp_jax: our JAX point-to-point ICP) and prints JSON: per split and method the ADD-S
AUC (to 10 cm, %), % ADD-S < 1 cm and < 2 cm, median ADD-S, contact-edge precision / recall /
F1 (3DP3; table and object edges apart), wall seconds per scene (the first scene's compiling
run reported apart). Accuracy-curve PNGs and results.json go to --out.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from simlab.scenes.benchmark import METHODS, run_benchmark


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--splits", default="standard,novel_viewpoint,stacking,occlusion")
    ap.add_argument("--n", type=int, default=5)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--init", default="perturbed", choices=["perturbed", "bottomup"])
    ap.add_argument("--sweeps", type=int, default=40)
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--out", default="runs/scenes-benchmark")
    ap.add_argument("--use-ycb", action="store_true")
    ap.add_argument("--no-snap-rolls", action="store_true", help="keep the cans' 3DP3* roll")
    ap.add_argument("--ycb", default=str(Path(__file__).resolve().parents[3] / "shared/data/ycb"))
    args = ap.parse_args()
    root = args.ycb if args.use_ycb and Path(args.ycb, "YcbCrackerBox").exists() else None
    res = run_benchmark(
        args.splits.split(","),
        args.n,
        tuple(args.methods.split(",")),
        args.init,
        args.sweeps,
        args.seed,
        root,
        args.out,
        progress=False,
        snap_rolls=not args.no_snap_rolls,
    )
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
