"""`simlab drive ...`: Gigaflow self-play training, evaluation, speed benchmark and rendering.

train/eval live beside what they run (``simlab.drive.learn.cli``) and are merged here; this
module imports only typer, the standard library and simlab.core, so ``simlab --help`` stays
light (JAX is imported inside the commands).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from simlab.core.errors import ConfigError
from simlab.drive.learn.cli import app as learn_app

app = typer.Typer(
    help="Gigaflow: batched driving simulator and self-play PPO.", no_args_is_help=True
)
app.add_typer(learn_app)  # train, eval


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="Small sizes (about a minute).")] = False,
    steps: Annotated[int | None, typer.Option(help="Steps per timed run.")] = None,
    repeats: Annotated[int, typer.Option(help="Timed runs per case; the best is kept.")] = 2,
    mode: Annotated[str, typer.Option(help="sim | obs | both.")] = "both",
    devices: Annotated[int, typer.Option(help="Split the worlds over N CPU devices.")] = 1,
) -> None:
    """Simulator throughput (agent-steps/s, compile time, driving-years/h) as JSON.

    Full sizes: 4096 worlds x 32 agents and 256 x 150, sim-only and sim + observations."""
    if mode not in ("sim", "obs", "both"):
        raise ConfigError(f"--mode {mode}: expected sim, obs or both")
    if repeats < 1 or devices < 1 or (steps is not None and steps < 1):
        raise ConfigError("--steps, --repeats and --devices must be at least 1")
    if devices > 1:  # before JAX is first imported (this command imports it below)
        flag = f"--xla_force_host_platform_device_count={devices}"
        os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()
    from simlab.drive.bench import run_suite

    typer.echo(json.dumps(run_suite(quick, steps, repeats, mode, devices), indent=2))


@app.command()
def render(
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("render"),
    steps: Annotated[int, typer.Option(help="Steps to roll out (0.3 s each).")] = 60,
    agents: Annotated[int, typer.Option(help="Agent slots in the world.")] = 24,
    map_name: Annotated[
        str, typer.Option("--map", help="town | highway | roundabout, or a SUMO .net.xml path.")
    ] = "town",
    seed: Annotated[int, typer.Option(help="Seed of the map and the scenario.")] = 0,
    every: Annotated[int, typer.Option(help="Keep one GIF frame every N steps.")] = 2,
    policy: Annotated[
        Path | None,
        typer.Option(help="Run folder or policy.npz of `simlab drive train` to drive the agents."),
    ] = None,
) -> None:
    """Top-down PNG and animated GIF of one world rolled out under a lane-keeping controller,
    or under a trained policy (--policy)."""
    if steps < 1 or agents < 1 or every < 1:
        raise ConfigError("--steps, --agents and --every must be at least 1")
    from simlab.drive.render import render_rollout

    paths = render_rollout(
        out, map_name, steps=steps, agents=agents, seed=seed, every=every, policy=policy
    )
    for p in paths:
        typer.echo(str(p))
