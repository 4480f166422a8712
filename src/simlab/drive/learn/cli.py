"""``simlab drive train|eval`` (mounted by the drive CLI). Heavy imports happen inside."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from simlab.core.cliopts import ConfigPath, OutDir, ResumeRun, SetOverrides

app = typer.Typer(help="Self-play PPO training and evaluation of the driving policy.")

Preset = Annotated[
    str,
    typer.Option("--preset", help="easy (CPU learning curve) | smoke | cpu | full (spec §8)."),
]


def _config(preset: str, config: Path | None, overrides: list[str] | None, run: Path | None):
    from simlab.drive.learn.config import load_drive_config

    if run is not None and config is None and (run / "config.toml").exists():
        config = run / "config.toml"
    return load_drive_config(preset, config, tuple(overrides or ()))


@app.command()
def train(
    preset: Preset = "cpu",
    config: ConfigPath = None,
    set: SetOverrides = None,
    resume: ResumeRun = None,
    out: OutDir = Path("runs"),
) -> None:
    """Train the policy by self-play on procedural maps (resumable; metrics in the run)."""
    from simlab.drive.learn.experiment import run_training

    cfg = _config(preset, config, set, resume)
    run, _ = run_training(cfg, out, resume)
    typer.echo(f"run folder: {run.path}")


@app.command("eval")
def eval_(
    run: Annotated[Path, typer.Argument(help="Run folder of a training run.")],
    mode: Annotated[str, typer.Option(help="standard | longform (spec §10.2).")] = "standard",
    worlds: Annotated[int | None, typer.Option(help="Worlds to simulate.")] = None,
    steps: Annotated[
        int | None, typer.Option(help="Steps (default: eval.steps or one episode).")
    ] = None,
    sample: Annotated[
        bool, typer.Option("--sample", help="Sample actions from π instead of its arg-max.")
    ] = False,
    set: SetOverrides = None,
) -> None:
    """Evaluate a run's newest checkpoint on held-out procedural maps; print JSON."""
    from simlab.core.errors import ConfigError
    from simlab.drive.learn.experiment import run_eval

    if mode not in ("standard", "longform"):
        raise ConfigError(f"--mode {mode}: expected standard or longform")
    cfg = _config("cpu", None, set, run)
    rec = run_eval(run, cfg, mode, worlds, steps, greedy=not sample)
    typer.echo(json.dumps(rec, indent=2, default=float))
