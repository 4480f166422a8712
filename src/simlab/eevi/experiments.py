"""The `simlab eevi` experiments as functions: results dicts (JSON-able) and matplotlib figures.

Each ``run_*`` takes its config and an optional ``tick(n)`` progress callback and returns a dict
of plain numbers; ``*_figures`` turn that dict into (figure, name, caption) triples.
"""

from __future__ import annotations

import math
import time

import jax
import numpy as np

from simlab.eevi.bif import load_network
from simlab.eevi.bn import compile_bn
from simlab.eevi.config import DiabetesConfig, Hepar2Config, MVNConfig, VarianceConfig

__all__ = [
    "diabetes_figures",
    "hepar2_figures",
    "mvn_figures",
    "mvn_units",
    "run_diabetes",
    "run_hepar2",
    "run_mvn",
    "run_variance",
    "variance_figures",
]


def _f(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


# MVN -------------------------------------------------------------------------------------------
def mvn_units(cfg: MVNConfig) -> int:
    return len(cfg.dims) * (len(cfg.Ks) * len(cfg.proposals) * cfg.replicates + len(cfg.neural))


def run_mvn(cfg: MVNConfig, tick=None) -> dict:
    """Bounds on H(Y) (first d/2 coordinates) per (d, proposal, K, replicate), the closed form,
    and the Kozachenko–Leonenko kNN baseline at several sample sizes."""
    from simlab.eevi.estimators import entropy_bounds
    from simlab.eevi.knn import kl_entropy
    from simlab.eevi.mvn import (
        GaussianSplit,
        exact_proposal,
        independent_proposal,
        mvn_model,
        wishart_cov,
    )
    from simlab.gen import SIR

    out = {"config": {"dims": list(cfg.dims), "Ks": list(cfg.Ks), "N": cfg.N}, "dims": []}
    for d in cfg.dims:
        cov = wishart_cov(d, seed=cfg.seed * 1000 + d)
        g = GaussianSplit.from_cov(cov)
        args = g.args()
        entry = {
            "d": d,
            "cov_seed": cfg.seed * 1000 + d,
            "exact": g.entropy_y,
            "cov_condition_number": float(np.linalg.cond(cov)),
            "runs": [],
            "knn": [],
        }
        sirs = {K: SIR(independent_proposal, K) for K in cfg.Ks}
        for name in cfg.proposals:
            for K in cfg.Ks:
                if name == "lw":
                    prop, k_is = None, K
                elif name == "independent":
                    prop, k_is = independent_proposal, K
                elif name == "sir":  # the independent proposal wrapped in SIR for K > 1
                    prop, k_is = (independent_proposal, 1) if K == 1 else (sirs[K], 1)
                elif name == "exact":
                    prop, k_is = exact_proposal, K
                else:
                    raise ValueError(f"unknown MVN proposal {name!r}")
                for r in range(cfg.replicates):
                    eb = entropy_bounds(
                        jax.random.key(r), mvn_model, args, ["y"], N=cfg.N, K=k_is, proposal=prop
                    )
                    entry["runs"].append(
                        {
                            "proposal": name,
                            "K": K,
                            "seed": r,
                            "entropy_lower": _f(eb.entropy_lower),
                            "entropy_upper": _f(eb.entropy_upper),
                            "se_lower": _f(eb.se_lower),
                            "se_upper": _f(eb.se_upper),
                            "runtime_s": eb.runtime_s,
                            "compile_s": eb.compile_s,
                            "n_neg_inf": eb.n_neg_inf,
                        }
                    )
                    if tick:
                        tick(1)
        rng = np.random.default_rng(cfg.seed + d)
        L = np.linalg.cholesky(cov[: d // 2, : d // 2])
        for n in cfg.knn_samples:
            y = rng.standard_normal((n, d // 2)) @ L.T
            entry["knn"].append({"samples": n, "k": cfg.knn_k, "entropy": kl_entropy(y, cfg.knn_k)})
        entry["mi"] = _mvn_mi(cfg, cov, d, entry, rng, tick)
        out["dims"].append(entry)
    return out


def _mvn_mi(cfg: MVNConfig, cov, d: int, entry: dict, rng, tick=None) -> dict:
    """I(Y; Z) for the MVN split: closed form; EEVI bounds (the H(Y) bounds of each proposal at
    the largest K, mean over replicates, shifted by the closed-form H(Y|Z)); KSG; and the
    critic-based lower bounds (InfoNCE, NWJ, MINE) trained on fresh samples."""
    from simlab.eevi.knn import ksg_mi
    from simlab.eevi.mvn import entropy_gaussian, gaussian_mi
    from simlab.eevi.neural_mi import estimate_mi, gaussian_sampler, train_critic

    n = d // 2
    h_y_given_z = entropy_gaussian(cov) - entropy_gaussian(cov[n:, n:])
    res = {"exact": gaussian_mi(cov, range(n), range(n, d)), "eevi": [], "neural": []}
    K = max(cfg.Ks)
    for name in cfg.proposals:
        rs = [r for r in entry["runs"] if r["proposal"] == name and r["K"] == K]
        ups = [r["entropy_upper"] for r in rs]
        res["eevi"].append({
            "proposal": name, "K": K,
            "mi_lower": float(np.mean([r["entropy_lower"] for r in rs])) - h_y_given_z,
            "mi_upper": None if None in ups else float(np.mean(ups)) - h_y_given_z,
        })  # fmt: skip
    x = rng.standard_normal((cfg.ksg_samples, d)) @ np.linalg.cholesky(cov).T
    res["ksg"] = {"samples": cfg.ksg_samples, "k": 3, "mi": ksg_mi(x[:, :n], x[:, n:], 3)}
    sample = gaussian_sampler(cov, n)
    for m in cfg.neural:  # float32 critics (x64 buys nothing here and costs time)
        t0 = time.perf_counter()
        with jax.enable_x64(False):
            critic, _ = train_critic(jax.random.key(cfg.seed), sample, n, d - n, m,
                                     steps=cfg.neural_steps, batch=cfg.neural_batch)  # fmt: skip
            est = estimate_mi(jax.random.key(cfg.seed + 1), critic, sample, cfg.neural_batch)
        res["neural"].append({"method": m, "mi": est[m][0], "se": est[m][1],
                              "log_batch": est["log_batch"], "steps": cfg.neural_steps,
                              "batch": cfg.neural_batch,
                              "train_s": time.perf_counter() - t0})  # fmt: skip
        if tick:
            tick(1)
    return res


def mvn_figures(res: dict) -> list:
    plt = _plt()

    dims = res["dims"]
    fig, axes = plt.subplots(1, len(dims), figsize=(3.6 * len(dims), 3.4), dpi=110, squeeze=False)
    for ax, e in zip(axes[0], dims):
        ex = e["exact"]
        for name, color in (("lw", "C0"), ("independent", "C1"), ("sir", "C2"), ("exact", "C3")):
            rows = [r for r in e["runs"] if r["proposal"] == name]
            if not rows:
                continue
            Ks = sorted({r["K"] for r in rows})
            lo = [np.mean([r["entropy_lower"] - ex for r in rows if r["K"] == K]) for K in Ks]
            up = [np.mean([(r["entropy_upper"] or np.inf) - ex for r in rows if r["K"] == K])
                  for K in Ks]  # fmt: skip
            ax.plot(Ks, lo, "o-", color=color, label=f"{name} lower")
            ax.plot(Ks, up, "s--", color=color, label=f"{name} upper")
        for kn in e["knn"]:
            ax.axhline(kn["entropy"] - ex, color="gray", lw=0.8, ls=":")
            ax.annotate(f"kNN n={kn['samples']}", (1, kn["entropy"] - ex), fontsize=6)
        ax.axhline(0.0, color="k", lw=1)
        ax.set_yscale("symlog", linthresh=0.1)  # K = 1 LW gaps are orders of magnitude wider
        ax.set_xscale("log", base=2)
        ax.set_title(f"d = {e['d']}, H(Y) = {ex:.2f} nats")
        ax.set_xlabel("K")
        ax.set_ylabel("bound − exact (nats)")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    figs = [(fig, "eevi_mvn", "EEVI bounds on H(Y) minus the closed form, mean over replicates; "
             "dotted: Kozachenko–Leonenko kNN (no bound; biased in high dimension).")]  # fmt: skip
    if all("mi" in e for e in dims):
        figs.append(_mvn_mi_figure(plt, dims))
    return figs


def _mvn_mi_figure(plt, dims) -> tuple:
    fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=110)
    x = np.arange(len(dims))
    ax.plot(x, [e["mi"]["exact"] for e in dims], "k_", ms=22, mew=2, label="exact")
    for j, name in enumerate(r["proposal"] for r in dims[0]["mi"]["eevi"]):
        lo = [e["mi"]["eevi"][j]["mi_lower"] for e in dims]
        up = [e["mi"]["eevi"][j]["mi_upper"] for e in dims]
        for xi, a, b in zip(x, lo, up):
            ax.plot([xi - 0.25 + 0.08 * j] * 2, [a, b if b is not None else a], "-_",
                    color=f"C{j}", lw=3, ms=9, mew=2,
                    label=f"EEVI {name}" if xi == 0 else None)  # fmt: skip
    for j, m in enumerate(r["method"] for r in dims[0]["mi"]["neural"]):
        ax.plot(x + 0.1 + 0.06 * j, [e["mi"]["neural"][j]["mi"] for e in dims], "o",
                color=f"C{j + 4}", label=m)  # fmt: skip
    ax.plot(x + 0.3, [e["mi"]["ksg"]["mi"] for e in dims], "x", color="gray", label="KSG")
    ax.axhline(dims[0]["mi"]["neural"][0]["log_batch"] if dims[0]["mi"]["neural"] else np.nan,
               color="C4", ls=":", lw=1, label="log B (InfoNCE ceiling)")  # fmt: skip
    ax.set_xticks(x, [f"d = {e['d']}" for e in dims])
    ax.set_yscale("log")
    ax.set_ylabel("I(Y; Z) (nats)")
    ax.legend(fontsize=6, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return (
        fig,
        "eevi_mvn_mi",
        "I(Y; Z) between the two halves: EEVI bounds (bars, mean over "
        "replicates at the largest K), critic-based lower bounds and KSG (no guarantees).",
    )


# HEPAR II ----------------------------------------------------------------------------------------
def run_hepar2(cfg: Hepar2Config, tick=None) -> dict:
    """The ranking for each disease (with the exact CMI when ``cfg.oracle``) and the runtime
    sweep (when ``cfg.runtime``)."""
    from simlab.eevi.hepar2 import exact_cmi, rank_tests, runtime_sweep

    net = load_network(cfg.network)
    bn = compile_bn(net)
    key = jax.random.key(cfg.seed)
    out = {"config": {"N": cfg.N, "K": cfg.K}, "diseases": {}, "timing": {}}
    t_rank = 0.0
    for i, d in enumerate(cfg.diseases):
        t0 = time.perf_counter()
        scores, info = rank_tests(bn, jax.random.fold_in(key, i), d, N=cfg.N, K=cfg.K)
        t_rank += time.perf_counter() - t0
        truth = exact_cmi(net, d) if cfg.oracle else {}
        rows = []
        for s in scores:
            r = {k: (_f(v) if isinstance(v, float) else v) for k, v in s.row().items()}
            if truth:
                r["cmi_exact"] = truth[s.test]
            rows.append(r)
        out["diseases"][d] = {"ranking": rows, "info": info}
        if tick:
            tick(1)
    out["timing"]["ranking_wall_s"] = t_rank  # bounds only (the exact oracle is not timed)
    out["timing"]["ranking_compute_s"] = sum(
        v["info"]["runtime_s"] for v in out["diseases"].values()
    )
    out["timing"]["particles"] = sum(v["info"]["particles"] for v in out["diseases"].values())
    if cfg.runtime:
        out["runtime_sweep"] = runtime_sweep(
            bn, jax.random.fold_in(key, 99), cfg.runtime_n_targets, cfg.runtime_Ks, cfg.runtime_N
        )
        if tick:
            tick(1)
    return out


def hepar2_figures(res: dict) -> list:
    plt = _plt()

    figs = []
    for d, v in res["diseases"].items():
        rows = v["ranking"]
        fig, ax = plt.subplots(figsize=(6.0, 7.5), dpi=110)
        y = np.arange(len(rows))[::-1]
        for yi, r in zip(y, rows):
            lo = r["cmi_lower"] - 2 * (r["cmi_se_lower"] or 0)
            hi = r["cmi_upper"] + 2 * (r["cmi_se_upper"] or 0)
            ax.plot([lo, hi], [yi, yi], color="0.6", lw=1)
            ax.plot([r["cmi_lower"], r["cmi_upper"]], [yi, yi], color="C0", lw=4)
            if "cmi_exact" in r:
                ax.plot(r["cmi_exact"], yi, "k|", ms=10)
        ax.set_yticks(y)
        ax.set_yticklabels([r["test"] + (" (observed)" if r["also_observed"] else "")
                            for r in rows], fontsize=7)  # fmt: skip
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlabel(f"I({d}; test | O) (nats)")
        ax.set_title(f"HEPAR II: tests ranked for {d}")
        fig.tight_layout()
        figs.append((fig, f"eevi_hepar2_{d}", f"{d}: CMI bounds [lower, upper] (blue), "
                     "± 2 SE (grey), exact value (black tick)."))  # fmt: skip
    if "runtime_sweep" in res:
        sweep = res["runtime_sweep"]
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.6), dpi=110)
        for n in sorted({r["n"] for r in sweep}):
            rows = [r for r in sweep if r["n"] == n]
            a1.plot([r["K"] for r in rows], [r["gap"] for r in rows], "o-", label=f"{n} leaves")
            a2.plot([r["runtime_s"] for r in rows], [r["gap"] for r in rows], "o-",
                    label=f"{n} leaves")  # fmt: skip
        a1.set_xlabel("K")
        a2.set_xlabel("runtime (s, compile excluded)")
        for a in (a1, a2):
            a.set_ylabel("upper − lower (nats)")
            a.set_yscale("log")
            a.grid(alpha=0.3)
            a.legend(fontsize=7)
        fig.tight_layout()
        figs.append((fig, "eevi_hepar2_gap", "Width of the entropy sandwich of the first n "
                     "leaves against K and against runtime."))  # fmt: skip
    return figs


# Variance experiment -----------------------------------------------------------------------------
def run_variance(cfg: VarianceConfig, tick=None) -> dict:
    """Replicates of the bounds on H(d | t, O) (HEPAR II), shared vs independent outer samples,
    plus the exact H(d | t, O) by contraction."""
    from simlab.eevi import exact
    from simlab.eevi.hepar2 import OBSERVED, variance_experiment

    net = load_network(cfg.network)
    bn = compile_bn(net)
    res = variance_experiment(
        bn, jax.random.key(cfg.seed), cfg.disease, cfg.test, OBSERVED, N=cfg.N, K=cfg.K,
        replicates=cfg.replicates, outer_chunk=cfg.outer_chunk, tick=tick,
    )  # fmt: skip
    O = [v for v in OBSERVED if v != cfg.test]
    res["exact"] = exact.conditional_entropy(net, [cfg.disease], [cfg.test, *O])
    return res


def variance_figures(res: dict) -> list:
    plt = _plt()

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.6), dpi=110)
    for ax, q in zip(axes, ("H(t,d,O)", "H(t,O)", "H(d|t,O)")):
        for j, mode in enumerate(("shared", "independent")):
            for b, mk in (("lower", "v"), ("upper", "^")):
                v = [r[f"{q} {b}"] for r in res["rows"] if r["mode"] == mode]
                x = j + (-0.1 if b == "lower" else 0.1) + np.linspace(-0.04, 0.04, len(v))
                ax.plot(x, v, mk, ms=4, color=f"C{j}", alpha=0.7)
        if q == "H(d|t,O)" and "exact" in res:
            ax.axhline(res["exact"], color="k", lw=1, label="exact")
            ax.legend(fontsize=7)
        ax.set_xticks([0, 1], ["shared", "independent"])
        ax.set_title(q)
        ax.set_ylabel("nats")
        ax.grid(alpha=0.3)
    c = res["config"]
    fig.suptitle(f"{c['replicates']} replicates, N = {c['N']}, K = {c['K']} "
                 "(▼ lower, ▲ upper bound)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    return [(fig, "eevi_variance", "Across-replicate spread of the entropy bounds with shared "
             "and with independent outer samples.")]  # fmt: skip


# DIAS ---------------------------------------------------------------------------------------------
def run_diabetes(cfg: DiabetesConfig, tick=None) -> dict:
    """SMC/cSMC (or LW-IS) bounds on I(ins_sens; bg_t1, bg_t2 | schedule) for every pair of
    hours, and the exact values for pairs with t2 ≤ ``cfg.oracle_max_t2``."""
    from simlab.eevi.diabetes import (
        exact_pair_mi,
        exact_pair_mi_table,
        lw_pair_mi,
        pairs,
        schedule,
        smc_pair_mi,
    )

    net = load_network(cfg.network, smoothing=cfg.smoothing)
    bn = compile_bn(net)
    sched = schedule(bn, cfg.meal, cfg.insulin)
    ps = pairs(cfg.hours)
    t0 = time.perf_counter()
    run = smc_pair_mi if cfg.method == "smc" else lw_pair_mi
    rows, info = run(bn, jax.random.key(cfg.seed), sched, ps, cfg.N, cfg.K, tick=tick)
    info["sweep_wall_s"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    table = exact_pair_mi_table(net, sched, cfg.hours)  # every pair, by transfer matrices
    info["oracle_wall_s"] = time.perf_counter() - t1
    t1 = time.perf_counter()
    diffs = []
    for r in rows:
        r["mi_exact"] = float(table[r["t1"], r["t2"]])
        if r["t2"] <= cfg.oracle_max_t2:  # independent cross-check by variable elimination
            diffs.append(abs(exact_pair_mi(net, sched, (r["t1"], r["t2"])) - r["mi_exact"]))
    info["ve_crosscheck_pairs"] = len(diffs)
    info["ve_crosscheck_max_abs_diff"] = max(diffs, default=None)
    info["ve_crosscheck_wall_s"] = time.perf_counter() - t1
    for r in rows:
        for k in ("mi_lower", "mi_upper", "se_lower", "se_upper"):
            r[k] = _f(r[k])
    finite = [r for r in rows if None not in (r["mi_lower"], r["mi_upper"])]
    info["pairs_bracketed_2se"] = sum(  # exact ∈ [lower − 2 SE, upper + 2 SE], finite pairs
        r["mi_lower"] - 2 * r["se_lower"] <= r["mi_exact"] <= r["mi_upper"] + 2 * r["se_upper"]
        for r in finite
    )
    info["pairs_lower_le_exact"] = sum(r["mi_lower"] <= r["mi_exact"] for r in finite)
    info["pairs_upper_ge_exact"] = sum(r["mi_upper"] >= r["mi_exact"] for r in finite)
    info["mean_width"] = float(np.mean([r["mi_upper"] - r["mi_lower"] for r in finite]))
    best_lo = max(finite, key=lambda r: r["mi_lower"], default=None)
    best_mid = max(finite, key=lambda r: r["mi_lower"] + r["mi_upper"], default=None)
    exact_rows = [r for r in rows if "mi_exact" in r]
    best_exact = max(exact_rows, key=lambda r: r["mi_exact"], default=None)
    return {
        "config": {
            "N": cfg.N,
            "K": cfg.K,
            "method": cfg.method,
            "meal": cfg.meal,
            "insulin": cfg.insulin,
            "smoothing": cfg.smoothing,
        },
        "pairs": rows,
        "info": info,
        "n_pairs_vacuous": len(rows) - len(finite),
        "best_by_lower": best_lo,
        "best_by_mid": best_mid,
        "best_exact": best_exact,
    }


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def diabetes_figures(res: dict) -> list:
    plt = _plt()

    H = 1 + max(r["t2"] for r in res["pairs"])
    mats = {k: np.full((H, H), np.nan) for k in ("mi_lower", "mi_upper", "mi_exact")}
    for r in res["pairs"]:
        for k in mats:
            v = r.get(k)
            if v is not None:
                mats[k][r["t1"], r["t2"]] = v
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8), dpi=110)
    vmax = np.nanmax([np.nanmax(m) if np.isfinite(m).any() else 0 for m in mats.values()])
    for ax, (k, m) in zip(axes, mats.items()):
        im = ax.imshow(m[1:, 1:], origin="lower", vmin=0, vmax=max(vmax, 1e-3), cmap="viridis",
                       extent=(0.5, H - 0.5, 0.5, H - 0.5))  # fmt: skip
        ax.set_xlabel("t2 (hour)")
        ax.set_ylabel("t1 (hour)")
        ax.set_title(k.replace("mi_", "I: "))
    fig.colorbar(im, ax=axes, shrink=0.8, label="nats")
    method = res["config"]["method"].upper()
    return [(fig, "eevi_diabetes_heatmap", f"I(ins_sens; bg_t1, bg_t2 | schedule): {method} "
             "lower and upper bounds (blank = vacuous: for some outer sample all particles got "
             "zero weight) and the exact value where computed.")]  # fmt: skip
