"""HEPAR II: the full ranking (5 diseases x 36 tests, both bounds, N=100, K=100) and the
runtime / bound-gap vs K sweep. Prints JSON.

    .venv/bin/python bench/eevi/bench_hepar2.py [--runtime-n 5000]
"""

import argparse
import json
import time

import jax

from simlab.eevi.bif import load_network
from simlab.eevi.bn import compile_bn
from simlab.eevi.hepar2 import DISEASES, rank_tests, runtime_sweep


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=100)
    ap.add_argument("--K", type=int, default=100)
    ap.add_argument("--runtime-n", type=int, default=5000, help="outer samples of the sweep")
    args = ap.parse_args()
    bn = compile_bn(load_network("hepar2"))
    out = {"N": args.N, "K": args.K, "devices": str(jax.devices())}
    with jax.enable_x64(True):
        # warm-up compile (reported separately), then the timed ranking
        t0 = time.perf_counter()
        rank_tests(bn, jax.random.key(123), "PBC", N=args.N, K=args.K, tests=("ama",))
        rank_tests(bn, jax.random.key(123), "PBC", N=args.N, K=args.K)
        out["compile_and_warmup_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        particles, terms, top = 0, 0, {}
        for i, d in enumerate(DISEASES):
            scores, info = rank_tests(bn, jax.random.key(i), d, N=args.N, K=args.K)
            particles += info["particles"]
            terms += info["n_terms"]
            top[d] = [(s.test, round(s.cmi.lower, 4), round(s.cmi.upper, 4)) for s in scores[:3]]
        wall = time.perf_counter() - t0
        out["ranking"] = {
            "wall_s": wall,
            "entropy_terms": terms,
            "particles": particles,
            "particles_per_s": particles / wall,
            "top3": top,
        }
        out["runtime_sweep"] = runtime_sweep(bn, jax.random.key(7), N=args.runtime_n)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
