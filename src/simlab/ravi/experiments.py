"""The paper's two experiments as library functions returning plain results (JSON-ready dicts).

* :func:`dpmm_experiment`: AMC vs locally-optimal SMC vs collapsed Gibbs (Table 3);
* :func:`mcvi_experiment`: MCVI / RAVI-MCVI(K) / AIS / learned marginals (Fig. 3).

Figures are made by :func:`dpmm_figures` / :func:`mcvi_figures` (matplotlib, Agg).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.special import logsumexp

from simlab.ravi.config import DPMMConfig, MCVIConfig

__all__ = ["dpmm_experiment", "dpmm_family", "dpmm_figures", "mcvi_experiment", "mcvi_figures"]

Tick = Callable[[float], None]


def _summary(values, seconds) -> dict[str, Any]:
    v = np.asarray(values, dtype=float)
    return {
        "values": v.tolist(),
        "mean": float(v.mean()),
        "sd": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        "seconds_per_estimate": float(np.mean(seconds)),
    }


def dpmm_family(cfg: DPMMConfig):
    """(family, n, info dict, true labels or None) for the configured dataset and point order."""
    fam, n, info, truth = _dataset(cfg)
    info["order"] = cfg.order
    if cfg.order == "shuffled":
        import dataclasses

        perm = np.random.default_rng(cfg.order_seed).permutation(n)
        if hasattr(fam, "data"):
            fam = dataclasses.replace(fam, data=np.asarray(fam.data)[perm])
        else:
            fam = dataclasses.replace(fam, log_lik=fam.log_lik[perm])
        truth = None if truth is None else np.asarray(truth)[perm]
        for k in ("dirty", "clean"):
            if k in info:
                info[k] = [info[k][i] for i in perm]
        info["order"] = f"shuffled (seed {cfg.order_seed})"
    return fam, n, info, truth


def _dataset(cfg: DPMMConfig):
    from simlab.ravi.clusters import NormalGamma
    from simlab.ravi.data import galaxy, synthetic

    if cfg.dataset == "galaxy":
        x = galaxy(scaled=not cfg.unscaled, mass_typo=cfg.mass_typo)
        info = {
            "data": "galaxy velocities (Roeder 1990), n = 82, "
            + ("km/s" if cfg.unscaled else "1000 km/s")
            + (", MASS typo 26690" if cfg.mass_typo else ", corrected value 26960")
        }
        return NormalGamma(x), len(x), info, None
    if cfg.dataset == "synthetic":
        x, z = synthetic(cfg.synthetic_seed)
        info = {"data": f"synthetic CRP(0.1) Normal–Gamma draw, n = 100, seed {cfg.synthetic_seed}"}
        return NormalGamma(x), len(x), info, z
    from simlab.ravi.strings import hospital_family

    fam, truth, info = hospital_family(cfg.data_dir)
    return fam, len(truth), info, truth


def dpmm_experiment(cfg: DPMMConfig, tick: Tick | None = None) -> dict[str, Any]:
    """Run AMC, LO-SMC and collapsed Gibbs ``cfg.reps`` times each, plus the wall-time sweep.

    Every AMC/SMC value is a log marginal-likelihood estimate log Ẑ with E[Ẑ] = p(data), hence
    a stochastic lower bound on log p(data) (higher is better). Gibbs reports the best
    log p(z, data) found, a deterministic lower bound (not an unbiased estimate).
    ``tick(units)`` is called as work completes (one unit = one estimate or sweep).
    """
    from simlab.ravi.amc import AMC
    from simlab.ravi.smc import gibbs, lo_smc

    tick = tick or (lambda _: None)
    fam, n, info, truth = dpmm_family(cfg)
    rng = np.random.default_rng(cfg.seed)

    def amc_estimate(K: int, runs: int):
        amc = AMC(fam, n, K=K, ess_threshold=cfg.amc_ess)
        t0 = time.perf_counter()
        vals, zs = zip(*(amc.log_z_hat(rng) for _ in range(runs)))
        dt = time.perf_counter() - t0
        return float(logsumexp(vals) - np.log(runs)), dt, zs[-1]

    def smc_estimate(N: int, gibbs_every: int):
        t0 = time.perf_counter()
        r = lo_smc(rng, fam, n, N=N, gibbs_every=gibbs_every)
        dt = time.perf_counter() - t0
        return r.log_z_hat, dt, r.z[rng.integers(N)]

    strings = {k: info.pop(k) for k in ("candidates", "dirty", "clean") if k in info}
    out: dict[str, Any] = {"config": {"dataset": cfg.dataset, "n": n, **info}}
    for name, fn in [
        ("amc", lambda: amc_estimate(cfg.amc_k, cfg.amc_runs)),
        ("smc", lambda: smc_estimate(cfg.smc_particles, cfg.smc_gibbs_every)),
    ]:
        vals, secs, ks, zs = [], [], [], []
        for _ in range(cfg.reps):
            v, dt, z = fn()
            vals.append(v)
            secs.append(dt)
            ks.append(len(np.unique(z)))
            zs.append(z)
            tick(1)
        out[name] = _summary(vals, secs) | {"n_clusters": ks}
        if truth is not None:
            out[name]["ari"] = [_ari(truth, z) for z in zs]
        if strings:
            out[name]["cleaning_accuracy"] = [_accuracy(fam, z, strings) for z in zs]
        out[name]["last_z"] = np.asarray(zs[-1]).tolist()
    if strings:
        same = np.mean([d == c for d, c in zip(strings["dirty"], strings["clean"])])
        out["cleaning"] = {
            "dirty_accuracy": float(same),
            "amc_accuracy_mean": float(np.mean(out["amc"]["cleaning_accuracy"])),
            "smc_accuracy_mean": float(np.mean(out["smc"]["cleaning_accuracy"])),
            "note": "fraction of rows whose cluster's MAP candidate equals the clean value",
        }
    out["amc"]["setting"] = f"K={cfg.amc_k}, logmeanexp of {cfg.amc_runs} runs"
    out["smc"]["setting"] = f"N={cfg.smc_particles}, gibbs_every={cfg.smc_gibbs_every}"

    # Collapsed Gibbs: one chain per replicate from singletons; best log joint vs time.
    best, secs, ks, traces = [], [], [], []
    for _ in range(max(1, min(cfg.reps, 10))):
        t0 = time.perf_counter()
        g = gibbs(rng, fam, n, cfg.gibbs_sweeps, N=1)
        secs.append(time.perf_counter() - t0)
        traces.append(np.maximum.accumulate(g.log_joint[:, 0]).tolist())
        best.append(float(g.log_joint[:, 0].max()))
        ks.append(int(g.n_clusters[-1, 0]))
        tick(1)
    out["gibbs"] = _summary(best, secs) | {
        "n_clusters": ks,
        "sweeps": cfg.gibbs_sweeps,
        "best_so_far_mean": np.mean(traces, axis=0).tolist(),
        "note": "best log p(z, data) found: a deterministic lower bound, not unbiased",
    }

    sweep = []
    for N in cfg.sweep_smc:
        vals, secs = zip(*[smc_estimate(N, 0)[:2] for _ in range(cfg.sweep_reps)])
        sweep.append({"method": "smc", "setting": f"N={N}", **_summary(vals, secs)})
        tick(cfg.sweep_reps)
    for K in cfg.sweep_amc_k:
        vals, secs = zip(*[amc_estimate(K, 1)[:2] for _ in range(cfg.sweep_reps)])
        sweep.append({"method": "amc", "setting": f"K={K}", **_summary(vals, secs)})
        tick(cfg.sweep_reps)
    out["sweep"] = sweep
    return out


def dpmm_units(cfg: DPMMConfig) -> int:
    """Total progress units of :func:`dpmm_experiment`."""
    sweep = (len(cfg.sweep_smc) + len(cfg.sweep_amc_k)) * cfg.sweep_reps
    return 2 * cfg.reps + max(1, min(cfg.reps, 10)) + sweep


def _accuracy(fam, z, strings) -> float:
    from simlab.ravi.strings import clean_predictions

    pred = clean_predictions(fam, np.asarray(z), strings["candidates"])
    return float(np.mean([p == c for p, c in zip(pred, strings["clean"])]))


def adjusted_rand_index(a, b) -> float:
    """Adjusted Rand index (Hubert & Arabie 1985) of two labelings [n] (1 = identical)."""
    from scipy.special import comb

    _, ia = np.unique(np.asarray(a), return_inverse=True)
    _, ib = np.unique(np.asarray(b), return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(table, (ia, ib), 1)
    pairs = comb(table, 2).sum()
    rows, cols = comb(table.sum(1), 2).sum(), comb(table.sum(0), 2).sum()
    expected = rows * cols / comb(len(ia), 2)
    top = (rows + cols) / 2
    return 1.0 if top == expected else float((pairs - expected) / (top - expected))


_ari = adjusted_rand_index


def dpmm_figures(res: dict[str, Any]) -> list[tuple[Any, str, str]]:
    """[(figure, name, caption)]: estimate distributions and log Ẑ vs wall time."""
    from simlab.core.report import new_figure

    figs = []
    fig, ax = new_figure()
    data = [res["amc"]["values"], res["smc"]["values"]]
    ax.boxplot(
        data, tick_labels=[f"AMC ({res['amc']['setting']})", f"SMC ({res['smc']['setting']})"]
    )
    ax.axhline(max(res["gibbs"]["values"]), ls="--", c="gray", label="best Gibbs log p(z, data)")
    ax.set_ylabel("log marginal-likelihood estimate (nats)")
    ax.set_title(f"DPMM on {res['config']['dataset']} (n = {res['config']['n']})")
    ax.legend()
    fig.tight_layout()
    figs.append((fig, "dpmm_estimates", "log Ẑ over replicates (higher is better)."))

    fig, ax = new_figure()
    for method, color in [("smc", "C1"), ("amc", "C0")]:
        rows = [r for r in res["sweep"] if r["method"] == method]
        t = [r["seconds_per_estimate"] for r in rows]
        m = np.array([r["mean"] for r in rows])
        s = np.array([r["sd"] for r in rows])
        ax.errorbar(t, m, yerr=s, marker="o", capsize=3, color=color, label=method.upper())
        for r, ti, mi in zip(rows, t, m):
            ax.annotate(
                r["setting"], (ti, mi), fontsize=7, xytext=(3, 3), textcoords="offset points"
            )
    g = res["gibbs"]
    per_sweep = g["seconds_per_estimate"] / max(g["sweeps"], 1)
    xs = per_sweep * np.arange(len(g["best_so_far_mean"]))
    ax.plot(xs[1:], g["best_so_far_mean"][1:], color="C2", label="Gibbs best log joint")
    # zoom on the estimators (Gibbs from singletons starts hundreds of nats lower)
    lo = min(r["mean"] - 2 * r["sd"] for r in res["sweep"])
    hi = max(r["mean"] + 2 * r["sd"] for r in res["sweep"])
    ax.set_ylim(lo - 0.2 * (hi - lo) - 1, hi + 0.2 * (hi - lo) + 1)
    ax.set_xscale("log")
    ax.set_xlabel("wall time per estimate (s)")
    ax.set_ylabel("log p(data) estimate, mean ± sd (nats)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    figs.append((fig, "dpmm_walltime", "Mean ± sd of log Ẑ against wall time per estimate."))
    return figs


def mcvi_units(cfg: MCVIConfig) -> int:
    """Total progress units of :func:`mcvi_experiment` (epochs + grid cells + AIS runs)."""
    per = cfg.epochs + len(cfg.ks) * len(cfg.taus) * len(cfg.steps) + len(cfg.ais_steps)
    return per * len(cfg.targets)


def mcvi_experiment(cfg: MCVIConfig, tick: Tick | None = None) -> dict[str, Any]:
    """Train reverse kernels, then the −ELBO grid of MCVI / RAVI-MCVI(K), AIS and marginals.

    Per cell: ``elbo`` = mean log w (E ≤ log Z = 0), ``log_z_hat`` = logmeanexp log w
    (E[exp] = 1), ``var_w`` = Var(exp w) over ``cfg.reps`` replicates. Call under x64.
    """
    import jax

    from simlab.gen import logmath
    from simlab.ravi.mcvi import (
        TARGETS,
        ais_mala,
        fit_marginals,
        learned_marginal_weights,
        mcvi_weights,
        train_reverse_kernel,
    )

    tick = tick or (lambda _: None)
    unknown = set(cfg.targets) - set(TARGETS)
    if unknown:
        from simlab.core.errors import ConfigError

        raise ConfigError(f"targets: unknown {sorted(unknown)}; choose from {list(TARGETS)}")
    if max(cfg.steps) > 100:
        from simlab.core.errors import ConfigError

        raise ConfigError("steps: at most 100 (reverse kernels exist for t = 1..100)")

    def cell(w):
        w = np.asarray(w)
        return {
            "elbo": float(w.mean()),
            "log_z_hat": float(logmath.logmeanexp(w)),
            "var_w": float(np.var(np.exp(w))),
            "n_neg_inf": int(np.isneginf(w).sum()),
        }

    out: dict[str, Any] = {}
    key = jax.random.key(cfg.seed)
    for name in cfg.targets:
        lt = TARGETS[name]
        key, k_m, k_t, k_g = jax.random.split(key, 4)
        marg = fit_marginals(k_m, lt, cfg.warmup_chains)
        t0 = time.perf_counter()
        kernel, losses = train_reverse_kernel(
            k_t, lt, cfg.epochs, cfg.chains, cfg.lr, on_epoch=lambda e, loss: tick(1)
        )
        train_s = time.perf_counter() - t0
        grid = []
        for K in cfg.ks:
            run = jax.jit(
                lambda k, M, tau, K=K, lt=lt, r=kernel, m=marg: mcvi_weights(
                    k, lt, r, m, M, K, cfg.reps, tau
                )
            )
            for tau in cfg.taus:
                for M in cfg.steps:
                    k_g, k = jax.random.split(k_g)
                    t0 = time.perf_counter()
                    w = run(k, M, tau)
                    grid.append(
                        {"M": M, "K": K, "tau": tau, **cell(w)}
                        | {"seconds": time.perf_counter() - t0}
                    )
                    tick(1)
        ais = []
        for M in cfg.ais_steps:
            k_g, k = jax.random.split(k_g)
            t0 = time.perf_counter()
            w = jax.jit(lambda k, M=M, lt=lt: ais_mala(k, lt, M, cfg.reps))(k)
            ais.append({"steps": M, **cell(w), "seconds": time.perf_counter() - t0})
            tick(1)
        marginal = []
        for M in cfg.steps:
            k_g, k = jax.random.split(k_g)
            marginal.append({"M": M, **cell(learned_marginal_weights(k, lt, marg, M, cfg.reps))})
        out[name] = {
            "train_loss": losses.tolist(),
            "train_seconds": train_s,
            "grid": grid,
            "ais": ais,
            "learned_marginal": marginal,
        }
    return out


def mcvi_figures(res: dict[str, Any]) -> list[tuple[Any, str, str]]:
    """−ELBO vs steps (one panel per target and τ) and the matched-compute AIS comparison."""
    from simlab.core.report import new_figure

    figs = []
    for name, r in res.items():
        taus = sorted({c["tau"] for c in r["grid"]})
        import matplotlib.pyplot as plt

        plt.close(new_figure(1, 1)[0])  # new_figure selects the Agg backend

        fig, axes = plt.subplots(1, len(taus), figsize=(5.0 * len(taus), 4.0), dpi=110)
        axes = np.atleast_1d(axes)
        for ax, tau in zip(axes, taus):
            for K in sorted({c["K"] for c in r["grid"]}):
                cells = sorted(
                    (c for c in r["grid"] if c["K"] == K and c["tau"] == tau), key=lambda c: c["M"]
                )
                label = "MCVI (K=1)" if K == 1 else f"RAVI-MCVI K={K}"
                ax.plot(
                    [c["M"] for c in cells],
                    [-c["elbo"] for c in cells],
                    marker="o",
                    ms=3,
                    label=label,
                )
            lm = r["learned_marginal"]
            ax.plot(
                [c["M"] for c in lm],
                [-c["elbo"] for c in lm],
                "k--",
                lw=1,
                label="learned marginal",
            )
            ax.set_title(f"{name}, " + ("SIR (τ = 0)" if tau == 0 else f"τ = {tau}"))
            ax.set_xlabel("ULA steps M")
            ax.set_ylabel("−ELBO (nats)")
            ax.set_yscale("symlog", linthresh=0.1)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        fig.tight_layout()
        figs.append((fig, f"mcvi_{name}", f"{name}: −ELBO against ULA steps (lower is better)."))

        fig, ax = new_figure()
        tau = max(taus)
        for K in sorted({c["K"] for c in r["grid"]}):
            cells = sorted(
                (c for c in r["grid"] if c["K"] == K and c["tau"] == tau and c["M"] > 0),
                key=lambda c: c["M"],
            )
            ax.plot(
                [c["M"] * K for c in cells],
                [-c["elbo"] for c in cells],
                marker="o",
                ms=3,
                label=f"K={K}",
            )
        ais = r["ais"]
        ax.plot(
            [c["steps"] for c in ais], [-c["elbo"] for c in ais], "k-s", ms=4, label="AIS (MALA)"
        )
        ax.set_xscale("log")
        ax.set_yscale("symlog", linthresh=0.1)
        ax.set_xlabel("compute: M·K kernel applications (AIS: MALA steps)")
        ax.set_ylabel("−ELBO (nats)")
        ax.set_title(f"{name}: RAVI-MCVI (τ = {tau}) vs AIS at matched compute")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        figs.append((fig, f"mcvi_{name}_ais", f"{name}: RAVI-MCVI vs AIS at matched compute."))
    return figs
