"""Per-object diagnosis of the benchmark methods on tuning scenes (not the reported seeds).

    nice -n 10 .venv/bin/python bench/scenes/diag_per_object.py standard,stacking \
        2000,2001,2002,2003 [icp_jax,3dp3_star,3dp3]

Prints, per scene, each method's ADD-S per object [mm], its wall seconds, and the log
likelihood of its poses under the chain's windowed likelihood (Config()) and under the exact
one (p_out = 0.001), beside the same two numbers at the true poses: an estimate that scores
above the truth but is far from it points at the likelihood; one that scores below a better
method's pose points at the sampler.
"""

import sys

import jax.numpy as jnp
import numpy as np

from simlab.scenes import data
from simlab.scenes.benchmark import prepare, run_scene
from simlab.scenes.geometry import pose_to_tq
from simlab.scenes.infer import Config, log_likelihood, pad_poses


def _ll(prep, T, cfg):
    t, q = pad_poses(prep.geom, *pose_to_tq(jnp.asarray(T, jnp.float32)), cfg.bounds)
    return float(log_likelihood(prep.cam, prep.ws, cfg, prep.geom, prep.obs, t, q))


def main():
    splits = sys.argv[1].split(",")
    seeds = [int(s) for s in sys.argv[2].split(",")]
    methods = (
        tuple(sys.argv[3].split(",")) if len(sys.argv) > 3 else ("icp_jax", "3dp3_star", "3dp3")
    )
    win = Config()
    exact = win._replace(kind="exact", p_out=0.001)
    for split in splits:
        for s in seeds:
            sd = data.generate_scene(split, s)
            prep = prepare(sd)
            r = run_scene(prep, methods, seed=s - seeds[0])
            print(f"== {split} seed {s} {sd.names} true edges {sd.edges.tolist()}")
            print("  init", np.round(1e3 * np.array(r.init_errors), 1).tolist())
            for m in methods:
                e = np.round(1e3 * np.array(r.errors[m]), 1).tolist()
                P = r.poses[m]
                lls = f"ll_win {_ll(prep, P, win):.1f} ll_ex {_ll(prep, P, exact):.1f}"
                edges = f" edges {r.edges[m].tolist()}" if m == "3dp3" else ""
                print(f"  {m:10s} {e} wall {r.wall[m]:.1f} {lls}{edges}")
            lls = f"ll_win {_ll(prep, sd.poses, win):.1f} ll_ex {_ll(prep, sd.poses, exact):.1f}"
            print(f"  {'truth':10s} {lls}", flush=True)


if __name__ == "__main__":
    main()
