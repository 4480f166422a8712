"""`simlab ravi mcvi|dpmm`: the RAVI paper's experiments (Fig. 3 and Table 3).

Only typer, the standard library and simlab.core are imported at module level.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated

import typer

from simlab.core.cliopts import ConfigPath, FullSettings, OutDir, SetOverrides
from simlab.core.errors import DataError

app = typer.Typer(
    help="RAVI: meta-inference, MCVI and Agglomerative Monte Carlo.", no_args_is_help=True
)


def _load(cls, full_cfg, config: Path | None, overrides, full: bool):
    """The config: defaults (or the paper's settings with --full), a TOML file, --set overrides."""
    from simlab.core.config import load_config

    return load_config(cls, config, overrides or (), base=full_cfg if full else None)


def _write(run, report, results: dict, figures) -> Path:
    art = run.artefacts
    (art / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    for fig, name, caption in figures:
        report.figure(fig, name, caption)
    return report.write()


@app.command()
def mcvi(
    config: ConfigPath = None,
    set: SetOverrides = None,
    out: OutDir = Path("runs"),
    full: FullSettings = False,
) -> None:
    """MCVI vs RAVI-MCVI(K) with ULA proposals, AIS with MALA at matched compute (Fig. 3)."""
    import jax

    from simlab.core.progress import ProgressBar
    from simlab.core.report import Report
    from simlab.core.run import RunDir
    from simlab.ravi.config import MCVIConfig, full_mcvi
    from simlab.ravi.experiments import mcvi_experiment, mcvi_figures, mcvi_units

    cfg = _load(MCVIConfig, full_mcvi(), config, set, full)
    run = RunDir.create(out, "ravi-mcvi", cfg)
    with jax.enable_x64(True), ProgressBar(mcvi_units(cfg), "ravi mcvi", unit="job") as bar:
        res = mcvi_experiment(cfg, tick=bar.update)
    report = Report(run.path, "RAVI-MCVI with ULA proposals")
    report.text(f"Config: `{json.dumps(dataclasses.asdict(cfg))}`")
    rows = []
    for name, r in res.items():
        for c in r["grid"]:
            if c["M"] == max(cfg.steps):
                rows.append([name, c["M"], c["K"], c["tau"], -c["elbo"], c["log_z_hat"]])
        for c in r["ais"]:
            rows.append([name, c["steps"], "AIS", "", -c["elbo"], c["log_z_hat"]])
    report.table(["target", "M", "K", "τ", "−ELBO", "log Ẑ"], rows)
    path = _write(run, report, res, mcvi_figures(res))
    typer.echo(f"results: {run.artefacts / 'results.json'}\nreport: {path}")


@app.command()
def dpmm(
    config: ConfigPath = None,
    set: SetOverrides = None,
    out: OutDir = Path("runs"),
    full: FullSettings = False,
    dataset: Annotated[
        str | None, typer.Option(help="galaxy | synthetic | hospital (overrides the config).")
    ] = None,
    data_dir: Annotated[
        Path | None, typer.Option(help="Folder with hospital.csv etc. (hospital only).")
    ] = None,
) -> None:
    """AMC vs locally-optimal SMC vs collapsed Gibbs on a DPMM (Table 3)."""
    from simlab.core.progress import ProgressBar
    from simlab.core.report import Report
    from simlab.core.run import RunDir
    from simlab.ravi.config import DPMMConfig, full_dpmm
    from simlab.ravi.experiments import dpmm_experiment, dpmm_figures, dpmm_units

    overrides = list(set or ())
    if dataset is not None:
        overrides.append(f"dataset={dataset}")
    if data_dir is not None:
        overrides.append(f"data_dir={data_dir}")
    cfg = _load(DPMMConfig, full_dpmm(dataset or "galaxy"), config, overrides, full)
    if cfg.dataset == "hospital" and not (Path(cfg.data_dir) / "hospital.csv").exists():
        from simlab.ravi.data import HOSPITAL_SOURCE

        raise DataError(
            f"{cfg.data_dir}: no hospital.csv; download it from {HOSPITAL_SOURCE} "
            "and pass --data-dir"
        )
    run = RunDir.create(out, f"ravi-dpmm-{cfg.dataset}", cfg)
    with ProgressBar(dpmm_units(cfg), f"ravi dpmm {cfg.dataset}", unit="est") as bar:
        res = dpmm_experiment(cfg, tick=bar.update)
    report = Report(run.path, f"RAVI: AMC for the DPMM ({cfg.dataset})")
    report.text(res["config"]["data"])
    rows = []
    for m in ("amc", "smc", "gibbs"):
        r = res[m]
        k = float(sum(r["n_clusters"]) / len(r["n_clusters"]))
        what = "best log p(z, data)" if m == "gibbs" else r["setting"]
        rows.append([m.upper(), what, r["mean"], r["sd"], k, r["seconds_per_estimate"]])
    header = ["method", "setting", "mean log Ẑ", "sd", "mean #clusters", "s/estimate"]
    report.table(header, rows)
    if "cleaning" in res:
        report.text("Cleaning: " + json.dumps(res["cleaning"]))
    path = _write(run, report, res, dpmm_figures(res))
    for r in rows:
        typer.echo(f"{r[0]:<6} {r[1]:<34} {r[2]:.3f} ± {r[3]:.3f}  ({r[5]:.3g} s/estimate)")
    typer.echo(f"results: {run.artefacts / 'results.json'}\nreport: {path}")
