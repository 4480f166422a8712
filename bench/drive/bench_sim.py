"""Simulator throughput (spec §12): agent-steps/s for sim-only and sim + full observations.

    .venv/bin/python bench/drive/bench_sim.py            # 4096 x 32 and 256 x 150
    .venv/bin/python bench/drive/bench_sim.py --quick    # small sizes (a minute)

Prints one JSON object: the machine (CPU count, load average, JAX version) and one record per
(size, mode) from ``simlab.drive.bench.bench_sim``: compile time, best-of-N wall time of a
jitted ``lax.scan`` over the steps, CPU time of that run (wall time is pessimistic on a shared
machine), agent-steps/s over active agents, slot-steps/s, and driving-years per hour.
Same as ``simlab drive bench``.
"""

from __future__ import annotations

import argparse
import json

from simlab.drive.bench import run_suite


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed run")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per case (best kept)")
    ap.add_argument("--mode", choices=["sim", "obs", "both"], default="both")
    args = ap.parse_args()
    print(json.dumps(run_suite(args.quick, args.steps, args.repeats, args.mode), indent=2))


if __name__ == "__main__":
    main()
