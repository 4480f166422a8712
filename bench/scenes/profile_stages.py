"""Wall and process-CPU seconds of each 3DP3 stage on one benchmark scene.

    nice -n 10 .venv/bin/python bench/scenes/profile_stages.py standard 1000

Every stage runs twice (rep 0 compiles, rep 1 is the warm time) with the benchmark's
settings (40 sweeps, an ICP-mixture block every 20 sweeps, 1 ICP step): ``mh_sweeps`` (20
sweeps), one 3DP3* chain (``run_floating``), ``icp_start``, the whole two-chain 3DP3*, and the
graph stages of 3DP3 started from that 3DP3* result. Prints one JSON line per run.
"""

from __future__ import annotations

import json
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes import data, objects
from simlab.scenes import pipeline as P
from simlab.scenes.benchmark import prepare
from simlab.scenes.geometry import pose_to_tq
from simlab.scenes.graph import GraphPrior
from simlab.scenes.infer import Config, mh_sweeps, pad_poses, run_floating


def timed(name, fn, reps=2):
    out = None
    for r in range(reps):
        w, c = time.perf_counter(), time.process_time()
        out = fn()
        jax.block_until_ready(out if not isinstance(out, P.Result) else 0)
        w, c = time.perf_counter() - w, time.process_time() - c
        rec = {"stage": name, "rep": r, "wall_s": round(w, 3), "cpu_s": round(c, 3)}
        print(json.dumps(rec), flush=True)
    return out


def main(split: str, seed: int) -> None:
    sd = data.generate_scene(split, seed, None)
    prep = prepare(sd)
    cfg = Config()
    args = (prep.cam, prep.ws, cfg, prep.geom, prep.obs)
    key = jax.random.key(0)
    T0 = jnp.asarray(sd.init_poses, jnp.float32)
    t0, q0 = pad_poses(prep.geom, *pose_to_tq(T0), cfg.bounds)
    print(json.dumps({"split": split, "seed": seed, "objects": list(sd.names)}))
    timed("mh_sweeps_20", lambda: mh_sweeps(key, *args, t0, q0, 20))
    timed("run_floating_40", lambda: run_floating(key, *args, t0, q0, 40, 20, 1))
    timed("icp_start", lambda: P.icp_start(key, *args, t0, q0))
    star = timed("3dp3_star", lambda: P.run_3dp3_star(key, *args, sd.init_poses, 40, 20, 1))
    cyl = np.array([o.name in objects.CYLINDERS for o in prep.objs])
    timed(
        "3dp3_graph_stages",
        lambda: P.run_3dp3(
            key, *args, sd.init_poses, prep.half, GraphPrior(), 40, 20, 1, 20, star, cylinder=cyl
        ),
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
