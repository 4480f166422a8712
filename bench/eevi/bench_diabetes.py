"""DIAS: the 300-pair sweep of SMC/cSMC (or LW-IS) bounds on I(ins_sens; bg_t1, bg_t2 | schedule)
(timing, particles/s, vacuous pairs) against exact values for every pair (transfer matrices,
cross-checked by variable elimination for t2 ≤ --oracle-max-t2). Prints JSON.

    .venv/bin/python bench/eevi/bench_diabetes.py [--N 100] [--K 100] [--oracle-max-t2 8]
        [--smoothing 1e-10] [--method smc|is]
"""

import argparse
import json

import jax

from simlab.eevi.config import DiabetesConfig
from simlab.eevi.experiments import run_diabetes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=100)
    ap.add_argument("--K", type=int, default=100)
    ap.add_argument("--oracle-max-t2", type=int, default=8)
    ap.add_argument("--method", choices=["smc", "is"], default="smc")
    ap.add_argument("--smoothing", type=float, default=DiabetesConfig.smoothing)
    args = ap.parse_args()
    cfg = DiabetesConfig(N=args.N, K=args.K, oracle_max_t2=args.oracle_max_t2, method=args.method,
                         smoothing=args.smoothing)  # fmt: skip
    with jax.enable_x64(True):
        res = run_diabetes(cfg)
    info = res["info"]
    checked = [r for r in res["pairs"] if "mi_exact" in r]
    ok = [
        r
        for r in checked
        if r["mi_lower"] is not None
        and r["mi_upper"] is not None
        and r["mi_lower"] - 3 * r["se_lower"] <= r["mi_exact"] <= r["mi_upper"] + 3 * r["se_upper"]
    ]
    print(
        json.dumps(
            {
                "method": cfg.method,
                "N": cfg.N,
                "K": cfg.K,
                "smoothing": cfg.smoothing,
                "pairs": len(res["pairs"]),
                "sweep_wall_s": info["sweep_wall_s"],
                "particles": info["particles"],
                "particles_per_s": info["particles"] / info["sweep_wall_s"],
                "n_pairs_vacuous": res["n_pairs_vacuous"],
                "oracle_pairs": len(checked),
                "oracle_pairs_bracketed_3se": len(ok),
                "oracle_pairs_vacuous": sum(r["mi_lower"] is None for r in checked),
                "oracle_wall_s": info["oracle_wall_s"],
                "info": info,
                "best_by_lower": res["best_by_lower"],
                "best_by_mid": res["best_by_mid"],
                "best_exact": res["best_exact"],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
