"""Why HEPAR II's fast path (simlab.eevi.lw) does not call gen's importance sampling:

1. the generic path (``entropy_bounds`` on the ``BayesNet`` GF with ``ImportanceK(None, K)``)
   compiles once per target *selection*; lw.py takes the target set as a runtime mask and
   compiles once for all terms. Times one term (compile and run apart) and extrapolates to the
   5 × 74 terms of the ranking;
2. gen's ``importance`` does accept runtime masks (``Masked`` constraints on every node of the
   ``BayesNet``), so the fresh particles can come from gen with one compilation too; the exact
   particle's weight is then Σ_mask log p (``project``). This variant is timed against lw.py on
   the same 8 terms (same estimator: the means must agree within noise).

Prints JSON.

    .venv/bin/python bench/eevi/bench_lw_vs_gen.py [--N 100] [--K 100]
"""

import argparse
import json
import time

import jax
import jax.numpy as jnp
import numpy as np

from simlab.eevi.bif import load_network
from simlab.eevi.bn import BayesNet, compile_bn, log_factors
from simlab.eevi.estimators import entropy_bounds, outer_samples
from simlab.eevi.hepar2 import OBSERVED
from simlab.eevi.lw import _compiled, bn_entropy_bounds
from simlab.gen import ChoiceMap, Masked, importance
from simlab.gen.logmath import logmeanexp


def masked_gen_bounds(bn, K: int):
    """jit f(key, outer (N, n), masks (T, n)) -> (lower, upper) (T, N): likelihood weighting
    with the particles from gen.importance (Masked constraints = runtime target masks)."""
    model = BayesNet(bn)

    def per_sample(k, x, m):
        cons = ChoiceMap({v: Masked(x[i], m[i]) for i, v in enumerate(bn.names)})
        w = importance(k, model, (), cons, K).log_weights  # (K,)
        w_star = jnp.sum(jnp.where(m, log_factors(bn, x), 0.0))
        return logmeanexp(w), logmeanexp(jnp.concatenate([w_star[None], w[1:]]))

    def f(key, outer, masks):
        def term(a):
            k, m = a
            keys = jax.random.split(k, outer.shape[0])
            return jax.vmap(per_sample, (0, 0, None))(keys, outer, m)

        return jax.lax.map(term, (jax.random.split(key, masks.shape[0]), masks))

    return jax.jit(f)


def time_masked(bn, vals, masks, K):
    """{compile_s, run_s (second call), lower/upper means per term} for both mask paths."""
    out = {}
    bg = jnp.zeros(bn.n, bool)
    for name in ("gen_importance_masked", "lw_py"):
        t0 = time.perf_counter()
        if name == "lw_py":
            c = _compiled(bn, vals.shape, K, masks.shape[0])
            call = lambda k, c=c: c(k, vals, masks, bg)  # noqa: E731
        else:
            c = masked_gen_bounds(bn, K).lower(jax.random.key(0), vals, masks).compile()
            call = lambda k, c=c: c(k, vals, masks)  # noqa: E731
        t1 = time.perf_counter()
        jax.block_until_ready(call(jax.random.key(1)))
        t2 = time.perf_counter()
        lo, up = jax.block_until_ready(call(jax.random.key(2)))
        t3 = time.perf_counter()
        out[name] = {"compile_s": t1 - t0, "first_run_s": t2 - t1, "run_s": t3 - t2,
                     "lower_mean": np.asarray(lo).mean(1).round(4).tolist(),
                     "upper_mean": np.asarray(up).mean(1).round(4).tolist()}  # fmt: skip
    out["run_ratio_gen_over_lw"] = out["gen_importance_masked"]["run_s"] / out["lw_py"]["run_s"]
    return out


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
    with jax.enable_x64(True):
        masks = jnp.asarray(np.stack([bn.mask(t) for t in terms * 4]))  # 8 terms, one chunk
        out["runtime_masks_8_terms"] = time_masked(bn, vals, masks, a.K)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
