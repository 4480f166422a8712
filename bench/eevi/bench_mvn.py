"""MVN check at d = 4, 20, 50, 100: EEVI bounds on H(Y) vs the closed form, runtime, and the
Kozachenko-Leonenko kNN baseline; I(Y; Z) by EEVI, KSG, InfoNCE, NWJ and MINE. Prints JSON.

    .venv/bin/python bench/eevi/bench_mvn.py [--replicates 3] [--Ks 1 2 4 8] [--neural-steps 500]
"""

import argparse
import json

import jax
import numpy as np

from simlab.eevi.config import MVNConfig
from simlab.eevi.experiments import run_mvn


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=3)
    ap.add_argument("--Ks", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--dims", type=int, nargs="+", default=[4, 20, 50, 100])
    ap.add_argument("--neural-steps", type=int, default=MVNConfig.neural_steps)
    args = ap.parse_args()
    cfg = MVNConfig(dims=tuple(args.dims), Ks=tuple(args.Ks), replicates=args.replicates,
                    neural_steps=args.neural_steps)  # fmt: skip
    with jax.enable_x64(True):
        res = run_mvn(cfg)
    summary = []
    for e in res["dims"]:
        for name in cfg.proposals:
            for K in cfg.Ks:
                rs = [r for r in e["runs"] if r["proposal"] == name and r["K"] == K]
                lo = [r["entropy_lower"] for r in rs]
                up = [r["entropy_upper"] if r["entropy_upper"] is not None else np.inf for r in rs]
                summary.append(
                    {
                        "d": e["d"],
                        "proposal": name,
                        "K": K,
                        "exact": e["exact"],
                        "lower_mean": float(np.mean(lo)),
                        "upper_mean": float(np.mean(up)),
                        "lower_le_exact": bool(np.mean(lo) <= e["exact"]),
                        "upper_ge_exact": bool(np.mean(up) >= e["exact"]),
                        "runtime_s_mean": float(np.mean([r["runtime_s"] for r in rs])),
                        "compile_s": rs[0]["compile_s"],
                    }
                )
        summary.append({"d": e["d"], "knn": e["knn"], "exact": e["exact"],
                        "cov_condition_number": e["cov_condition_number"],
                        "mutual_information": e["mi"]})  # fmt: skip
    print(json.dumps({"N": cfg.N, "replicates": cfg.replicates, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
