"""Why HEPAR II's fast path (simlab.eevi.lw) does not call gen's ImportanceK: the same
likelihood-weighting bounds through the generic path (``entropy_bounds`` on the ``BayesNet`` GF
with ``ImportanceK(None, K)``) compile once per target *selection*, while lw.py takes the target
set as a runtime mask and compiles once for all terms. Times one term (compile and run apart)
and extrapolates to the 5 × 74 terms of the ranking. Prints JSON.

    .venv/bin/python bench/eevi/bench_lw_vs_gen.py [--N 100] [--K 100]
"""

import argparse
import json
import time

import jax

from simlab.eevi.bif import load_network
from simlab.eevi.bn import BayesNet, compile_bn
from simlab.eevi.estimators import entropy_bounds, outer_samples
from simlab.eevi.hepar2 import OBSERVED
from simlab.eevi.lw import bn_entropy_bounds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--N", type=int, default=100)
    ap.add_argument("--K", type=int, default=100)
    a = ap.parse_args()
    bn = compile_bn(load_network("hepar2"))
    model = BayesNet(bn, "hepar2")
    terms = [["PBC", "ama", *OBSERVED], ["ama", *OBSERVED]]
    out = {"N": a.N, "K": a.K, "terms_in_ranking": 5 * (2 + 2 * 36)}
    with jax.enable_x64(True):
        outer = outer_samples(jax.random.key(0), model, (), a.N)
        vals = jax.numpy.stack([outer.traces.choices[v] for v in bn.names], axis=1)
        gen_rows = []
        for t in terms:
            t0 = time.perf_counter()
            eb = entropy_bounds(jax.random.key(1), model, (), t, K=a.K, outer=outer)
            wall = time.perf_counter() - t0
            t0 = time.perf_counter()  # second call: compiled program cached
            eb2 = entropy_bounds(jax.random.key(2), model, (), t, K=a.K, outer=outer)
            gen_rows.append({"compile_s": eb.compile_s, "first_call_wall_s": wall,
                             "run_s": eb2.runtime_s, "cached_call_wall_s":
                             time.perf_counter() - t0})  # fmt: skip
        lw_rows = []
        for rep in range(2):
            t0 = time.perf_counter()
            ebs = bn_entropy_bounds(bn, jax.random.key(3 + rep), vals, terms, a.K)
            lw_rows.append({"compile_s": ebs[0].compile_s, "run_s_per_term": ebs[0].runtime_s,
                            "wall_s": time.perf_counter() - t0})  # fmt: skip
    g_compile = sum(r["compile_s"] for r in gen_rows) / len(gen_rows)
    g_run = sum(r["run_s"] for r in gen_rows) / len(gen_rows)
    n = out["terms_in_ranking"]
    out["gen_importancek"] = {"per_term": gen_rows,
                              "ranking_estimate_s": n * (g_compile + g_run)}  # fmt: skip
    out["lw_runtime_masks"] = {"calls": lw_rows,
                               "ranking_estimate_s": lw_rows[0]["compile_s"]
                               + n * lw_rows[1]["run_s_per_term"]}  # fmt: skip
    out["run_speed_ratio_gen_over_lw"] = g_run / lw_rows[1]["run_s_per_term"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
