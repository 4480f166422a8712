"""AMC vs locally-optimal SMC vs collapsed Gibbs: log marginal-likelihood estimates and wall time.

Prints one JSON object: per method mean ± sd of log Ẑ over replicates, seconds per estimate,
cluster counts, and the wall-time sweep (SMC particle counts, AMC meta-particle counts).

    .venv/bin/python bench/ravi/bench_dpmm.py                  # galaxy, 30 replicates
    .venv/bin/python bench/ravi/bench_dpmm.py --reps 100       # the paper's protocol
    .venv/bin/python bench/ravi/bench_dpmm.py --dataset synthetic --reps 30
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time

from simlab.ravi.config import DPMMConfig
from simlab.ravi.experiments import dpmm_experiment


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dataset", default="galaxy", choices=["galaxy", "synthetic", "hospital"])
    p.add_argument("--data-dir", default="../shared/data/ravi")
    p.add_argument("--reps", type=int, default=30)
    p.add_argument("--sweep-reps", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--smc-particles", type=int, default=None)
    p.add_argument("--smc-gibbs-every", type=int, default=None)
    p.add_argument("--amc-k", type=int, default=10)
    p.add_argument("--amc-runs", type=int, default=3)
    p.add_argument("--no-sweep", action="store_true")
    p.add_argument("--order", default="data", choices=["data", "shuffled"])
    p.add_argument("--unscaled", action="store_true", help="galaxy in km/s (authors' scale)")
    p.add_argument("--mass-typo", action="store_true", help="galaxy with MASS's 26690")
    a = p.parse_args()
    hospital = a.dataset == "hospital"
    gibbs_every = a.smc_gibbs_every
    if gibbs_every is None:
        gibbs_every = 100 if hospital else 0
    cfg = dataclasses.replace(
        DPMMConfig(),
        dataset=a.dataset,
        data_dir=a.data_dir,
        reps=a.reps,
        sweep_reps=a.sweep_reps,
        seed=a.seed,
        smc_particles=a.smc_particles or (32 if hospital else 100),
        smc_gibbs_every=a.smc_gibbs_every
        if a.smc_gibbs_every is not None
        else (100 if hospital else 0),
        amc_k=a.amc_k,
        amc_runs=a.amc_runs,
        gibbs_sweeps=5 if hospital else 50,
        order=a.order,
        unscaled=a.unscaled,
        mass_typo=a.mass_typo,
    )
    if a.no_sweep or hospital:
        cfg = dataclasses.replace(cfg, sweep_smc=(), sweep_amc_k=())
    t0 = time.perf_counter()
    res = dpmm_experiment(cfg)
    for m in ("amc", "smc"):
        res[m].pop("last_z", None)
    res["total_seconds"] = time.perf_counter() - t0
    res["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    print(json.dumps(res))


if __name__ == "__main__":
    main()
