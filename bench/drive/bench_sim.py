"""Simulator throughput (spec §12): agent-steps/s for sim-only and sim + full observations.

    .venv/bin/python bench/drive/bench_sim.py            # 4096 x 32 and 256 x 150
    .venv/bin/python bench/drive/bench_sim.py --quick    # small sizes (a minute)
    .venv/bin/python bench/drive/bench_sim.py --devices 2  # worlds split over 2 CPU devices
    .venv/bin/python bench/drive/bench_sim.py --profile --repeats 5  # per-stage step times

Prints one JSON object: the machine (CPU count, load average, JAX version) and one record per
(size, mode) from ``simlab.drive.bench.bench_sim``: compile time, best-of-N wall time of a
jitted ``lax.scan`` over the steps, CPU time of that run (wall time is pessimistic on a shared
machine), agent-steps/s over active agents, slot-steps/s, and driving-years per hour.
Same as ``simlab drive bench``.
"""

from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    ap.add_argument("--steps", type=int, default=None, help="steps per timed run")
    ap.add_argument("--repeats", type=int, default=2, help="timed runs per case (best kept)")
    ap.add_argument("--mode", choices=["sim", "obs", "both"], default="both")
    ap.add_argument("--devices", type=int, default=1, help="split worlds over N CPU devices")
    ap.add_argument(
        "--profile", action="store_true", help="per-stage step times instead of the suite"
    )
    args = ap.parse_args()
    if args.devices > 1:  # must precede the first JAX import
        flag = f"--xla_force_host_platform_device_count={args.devices}"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()
    from simlab.drive.bench import FULL_SIZES, QUICK_SIZES, profile_step, run_suite

    if args.profile:
        sizes = QUICK_SIZES if args.quick else FULL_SIZES
        rec = [profile_step(w, a, repeats=args.repeats) for w, a in sizes]
        print(json.dumps(rec, indent=2))
        return
    rec = run_suite(args.quick, args.steps, args.repeats, args.mode, args.devices)
    print(json.dumps(rec, indent=2))


if __name__ == "__main__":
    main()
