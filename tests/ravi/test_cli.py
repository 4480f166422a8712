"""The `simlab ravi` commands: a tiny dpmm run writes its results; bad input is one line."""

import json

from typer.testing import CliRunner

from simlab.core.errors import ConfigError, DataError
from simlab.ravi.cli import app


def test_dpmm_command_writes_results(tmp_path):
    sets = ["reps=2", "sweep_reps=1", "gibbs_sweeps=2", "sweep_smc=[5]", "sweep_amc_k=[1]"]
    sets += ["amc_k=2", "amc_runs=1", "smc_particles=10"]
    args = ["dpmm", "--out", str(tmp_path)]
    for s in sets:
        args += ["--set", s]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output
    (run,) = tmp_path.iterdir()
    out = json.loads((run / "artefacts" / "results.json").read_text())
    assert len(out["amc"]["values"]) == 2 and out["config"]["n"] == 82
    assert (run / "report.md").exists() and (run / "figures" / "dpmm_walltime.png").exists()


def test_missing_hospital_data_and_bad_config(tmp_path):
    res = CliRunner().invoke(
        app, ["dpmm", "--dataset", "hospital", "--data-dir", str(tmp_path), "--out", str(tmp_path)]
    )
    assert isinstance(res.exception, DataError) and "ravi-uai-2022" in str(res.exception)
    res = CliRunner().invoke(app, ["dpmm", "--set", "nope=1", "--out", str(tmp_path)])
    assert isinstance(res.exception, ConfigError)


def test_mcvi_figures_have_one_panel_per_tau():
    from simlab.ravi.experiments import mcvi_figures

    grid = [
        {"M": M, "K": K, "tau": tau, "elbo": -1.0 / (1 + M)}
        for M in (0, 5)
        for K in (1, 5)
        for tau in (0.0, 0.25)
    ]
    res = {
        "unimodal": {
            "grid": grid,
            "ais": [{"steps": 10, "elbo": -2.0}],
            "learned_marginal": [{"M": 0, "elbo": -1.0}, {"M": 5, "elbo": -0.5}],
        }
    }
    figs = mcvi_figures(res)
    assert [name for _, name, _ in figs] == ["mcvi_unimodal", "mcvi_unimodal_ais"]
    assert len(figs[0][0].axes) == 2
