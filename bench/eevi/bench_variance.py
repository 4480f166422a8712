"""HEPAR II variance experiment (spec §6.2): across-replicate sd of the bounds on H(d|t,O) with
shared vs independent outer samples (d = PBC, t = ama). Prints JSON (without per-sample data).

    .venv/bin/python bench/eevi/bench_variance.py [--N 10000] [--K 200] [--replicates 18]
"""

import argparse
import json

import jax

from simlab.eevi.config import VarianceConfig
from simlab.eevi.experiments import run_variance


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=10_000)
    ap.add_argument("--K", type=int, default=200)
    ap.add_argument("--replicates", type=int, default=18)
    ap.add_argument("--outer-chunk", type=int, default=1000)
    a = ap.parse_args()
    cfg = VarianceConfig(N=a.N, K=a.K, replicates=a.replicates, outer_chunk=a.outer_chunk)
    with jax.enable_x64(True):
        res = run_variance(cfg)
    res.pop("replicate0")
    res.pop("rows")
    res["particles_per_s"] = res["particles"] / res["runtime_s"]
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
