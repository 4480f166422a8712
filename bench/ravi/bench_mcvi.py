"""MCVI vs RAVI-MCVI(K) vs AIS (MALA) vs learned marginals: −ELBO on the 1-D targets.

Prints one JSON object: per target the training loss curve and, per (M, K, τ) cell, the ELBO
(mean log w; log Z = 0 so −ELBO ≥ 0 in expectation), log Ẑ and Var(exp w); AIS per step count.

    .venv/bin/python bench/ravi/bench_mcvi.py            # quick: 30 epochs, 200 replicates
    .venv/bin/python bench/ravi/bench_mcvi.py --full     # the paper's settings (slow)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time

import jax

from simlab.ravi.config import MCVIConfig, full_mcvi
from simlab.ravi.experiments import mcvi_experiment


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true")
    p.add_argument("--reps", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    cfg = full_mcvi() if a.full else MCVIConfig()
    cfg = dataclasses.replace(cfg, seed=a.seed)
    if a.reps:
        cfg = dataclasses.replace(cfg, reps=a.reps)
    if a.epochs:
        cfg = dataclasses.replace(cfg, epochs=a.epochs)
    t0 = time.perf_counter()
    with jax.enable_x64(True):
        res = mcvi_experiment(cfg)
    out = {"config": dataclasses.asdict(cfg), "results": res}
    out["total_seconds"] = time.perf_counter() - t0
    print(json.dumps(out))


if __name__ == "__main__":
    main()
