"""simlab.gen speed benchmarks against hand-written jnp references; prints JSON.

Workloads (spec gen.md §1): importance sampling with 100k particles on the 2-level Gaussian
with a custom proposal; likelihood weighting with 100k particles on a 20-node discrete Bayes
net (3 states, ≤ 2 parents, inverse-CDF categorical sampling in both versions); SMC with
N = 2000, T = 50 on a linear-Gaussian state-space model. Each simlab.gen run sits next to a
hand-written jnp program computing the same quantities from the same kind of random bits.
Timings are steady-state (after compilation), interleaved, median and min over repeats;
compile time (trace + XLA) is reported separately.

Run: .venv/bin/python bench/gen/bench_gen.py [--repeats 30]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.stats import norm

from simlab.gen import ChoiceMap, SequentialModel, categorical, gen, importance, normal, smc

N_IS = 100_000


# 2-level Gaussian ---------------------------------------------------------------------------
@gen
def gauss_model(t):
    mu = t("mu", normal, 0.0, 1.0)
    z = t("z", normal, mu, 1.0)
    return t("x", normal, z, 0.5)


@gen
def gauss_proposal(t, target):
    x = target.constraints["x"]
    mu = t("mu", normal, 0.4 * x, 0.8)
    t("z", normal, 0.5 * mu + 0.6 * x, 0.6)


def gauss_gen(key, x):
    return importance(key, gauss_model, (), ChoiceMap({"x": x}), N_IS, gauss_proposal).log_weights


def gauss_ref(key, x):
    k1, k2 = jax.random.split(key)
    mu = 0.4 * x + 0.8 * jax.random.normal(k1, (N_IS,))
    z = 0.5 * mu + 0.6 * x + 0.6 * jax.random.normal(k2, (N_IS,))
    log_p = norm.logpdf(mu, 0.0, 1.0) + norm.logpdf(z, mu, 1.0) + norm.logpdf(x, z, 0.5)
    log_q = norm.logpdf(mu, 0.4 * x, 0.8) + norm.logpdf(z, 0.5 * mu + 0.6 * x, 0.6)
    return log_p - log_q


# 20-node discrete Bayes net -----------------------------------------------------------------
def make_bn(seed=0, n=20, states=3, n_obs=5):
    """Random DAG in topological order: node i has min(i, 0..2) parents among earlier nodes;
    CPTs Dirichlet(1); the last ``n_obs`` nodes are observed."""
    rng = np.random.default_rng(seed)
    parents, cpts = [], []
    for i in range(n):
        k = min(i, int(rng.integers(0, 3)))
        pa = tuple(sorted(rng.choice(i, size=k, replace=False).tolist())) if k else ()
        parents.append(pa)
        cpts.append(rng.dirichlet(np.ones(states), size=(states,) * k))
    obs = {i: int(rng.integers(0, states)) for i in range(n - n_obs, n)}
    return parents, cpts, obs


PARENTS, CPTS, OBS = make_bn()


@gen
def bn_model(t):
    vals = []
    for i, (pa, cpt) in enumerate(zip(PARENTS, CPTS)):
        probs = jnp.asarray(cpt)[tuple(vals[p] for p in pa)]
        vals.append(t(f"n{i}", categorical, probs))
    return vals[-1]


BN_OBS = ChoiceMap({f"n{i}": v for i, v in OBS.items()})


def bn_gen(key):
    return importance(key, bn_model, (), BN_OBS, N_IS).log_weights


def bn_ref(key):
    """Hand-written batched likelihood weighting; CPT rows broadcast only where a node has
    parents (root nodes keep one (3,) row), inverse-CDF sampling as in simlab.gen."""
    vals, log_w = [], jnp.zeros(N_IS)
    for i, (pa, cpt) in enumerate(zip(PARENTS, CPTS)):
        probs = jnp.asarray(cpt)[tuple(vals[p] for p in pa)]  # (3,) or (N, 3)
        if i in OBS:
            v = jnp.full(N_IS, OBS[i], jnp.int32)
            log_w = log_w + jnp.log(probs[..., OBS[i]])
        else:  # inverse CDF
            cdf = jnp.cumsum(probs, -1)
            u = jax.random.uniform(jax.random.fold_in(key, i), (N_IS,)) * cdf[..., -1]
            v = jnp.minimum(jnp.sum(cdf <= u[:, None], -1), 2).astype(jnp.int32)
        vals.append(v)
    return log_w


# SMC on a linear-Gaussian SSM ---------------------------------------------------------------
A, Q, R, T_SMC, N_SMC = 0.9, 0.5, 0.8, 50, 2000


@gen
def ssm_init(t):
    return t("x0", normal, 0.0, 1.0)


@gen
def ssm_step(t, x, i):
    x = t("x", normal, A * x, np.sqrt(Q))
    t("y", normal, x, np.sqrt(R))
    return x


SSM = SequentialModel(ssm_init, ssm_step, T_SMC)


def smc_gen(key, ys):
    return smc(key, SSM, ChoiceMap({"y": ys}), N_SMC).log_z_hat


def smc_ref(key, ys):
    """Hand-written bootstrap filter, systematic resampling when ESS < N/2 (same algorithm)."""
    k0, ks = jax.random.split(key)
    x = jax.random.normal(k0, (N_SMC,))

    def body(state, inp):
        x, log_w, log_z = state
        t, y = inp
        kr, ke = jax.random.split(jax.random.fold_in(ks, t))
        lse = jax.scipy.special.logsumexp(log_w)
        ess = jnp.exp(2 * lse - jax.scipy.special.logsumexp(2 * log_w))

        def res(a):
            x, log_w, log_z = a
            cdf = jnp.cumsum(jnp.exp(log_w - lse))
            u = (jax.random.uniform(kr) + jnp.arange(N_SMC)) / N_SMC
            anc = jnp.minimum(jnp.searchsorted(cdf, u, side="right"), N_SMC - 1)
            return x[anc], jnp.zeros_like(log_w), log_z + lse - jnp.log(N_SMC)

        x, log_w, log_z = jax.lax.cond(
            (t > 0) & (ess < 0.5 * N_SMC), res, lambda a: a, (x, log_w, log_z)
        )
        x = A * x + np.sqrt(Q) * jax.random.normal(ke, (N_SMC,))
        return (x, log_w + norm.logpdf(y, x, np.sqrt(R)), log_z), None

    (x, log_w, log_z), _ = jax.lax.scan(body, (x, jnp.zeros(N_SMC), 0.0), (jnp.arange(T_SMC), ys))
    return log_z + jax.scipy.special.logsumexp(log_w) - jnp.log(N_SMC)


# timing -------------------------------------------------------------------------------------
def compile_fn(fn, *args):
    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    return compiled, time.perf_counter() - t0


def time_pair(fns, args, repeats):
    """Interleaved steady-state timings (s) of several compiled functions."""
    times = {name: [] for name in fns}
    for f in fns.values():
        jax.block_until_ready(f(*args))
    for _ in range(repeats):
        for name, f in fns.items():
            t0 = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[name].append(time.perf_counter() - t0)
    return {n: (float(np.median(v)), float(np.min(v))) for n, v in times.items()}


def bench_pair(name, gen_fn, ref_fn, args, n_items, repeats, unit):
    cg, tg = compile_fn(gen_fn, *args)
    cr, tr = compile_fn(ref_fn, *args)
    t = time_pair({"gen": cg, "ref": cr}, args, repeats)
    (gmed, gmin), (rmed, rmin) = t["gen"], t["ref"]
    out = {
        "workload": name,
        "gen_ms_median": 1e3 * gmed,
        "gen_ms_min": 1e3 * gmin,
        "ref_ms_median": 1e3 * rmed,
        "ref_ms_min": 1e3 * rmin,
        "ratio_median": gmed / rmed,
        "ratio_min": gmin / rmin,
        "gen_compile_s": tg,
        "ref_compile_s": tr,
    }
    if n_items:
        out[f"gen_{unit}"] = n_items / gmed
        out[f"ref_{unit}"] = n_items / rmed
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    a = ap.parse_args()
    key = jax.random.key(0)
    results = [
        bench_pair(
            "IS 2-level Gaussian, custom proposal, 100k particles",
            gauss_gen,
            gauss_ref,
            (key, jnp.float32(1.3)),
            N_IS,
            a.repeats,
            "weights_per_s",
        ),
        bench_pair(
            "likelihood weighting, 20-node BN (3 states, <=2 parents), 100k particles",
            bn_gen,
            bn_ref,
            (key,),
            N_IS,
            a.repeats,
            "weights_per_s",
        ),
    ]
    ys = SSM.simulate(jax.random.key(1), ()).choices[("steps", "y")]
    results.append(
        bench_pair(
            "SMC LG-SSM N=2000 T=50 (systematic, ESS<N/2)",
            smc_gen,
            smc_ref,
            (key, ys),
            0,
            max(5, a.repeats // 3),
            "",
        )
    )
    # sanity: both versions estimate the same quantity
    lw_g, lw_r = jax.jit(gauss_gen)(key, 1.3), jax.jit(gauss_ref)(key, 1.3)
    lse = jax.scipy.special.logsumexp
    checks = {
        "gauss_log_z_hat_gen": float(lse(lw_g) - np.log(N_IS)),
        "gauss_log_z_hat_ref": float(lse(lw_r) - np.log(N_IS)),
        "gauss_log_z_exact": float(norm.logpdf(1.3, 0.0, 1.5)),
        "bn_log_z_hat_gen": float(lse(jax.jit(bn_gen)(key)) - np.log(N_IS)),
        "bn_log_z_hat_ref": float(lse(jax.jit(bn_ref)(key)) - np.log(N_IS)),
        "smc_log_z_hat_gen": float(jax.jit(smc_gen)(key, ys)),
        "smc_log_z_hat_ref": float(jax.jit(smc_ref)(key, ys)),
    }
    print(
        json.dumps(
            {
                "machine": {
                    "cpu_count": __import__("os").cpu_count(),
                    "platform": platform.platform(),
                    "jax": jax.__version__,
                    "backend": jax.default_backend(),
                    "load_avg_1m": __import__("os").getloadavg()[0],
                },
                "results": results,
                "checks": checks,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
