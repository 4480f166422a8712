"""``simlab agents train|eval``: LOOP training and TGC/SGC evaluation.

Top-level imports: typer, the standard library and simlab.core only (torch loads on use).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from simlab.core.cliopts import ConfigPath, OutDir, ResumeRun, SetOverrides

app = typer.Typer(help="LOOP: train an LLM agent with leave-one-out PPO; evaluate TGC/SGC.")


@app.command()
def train(
    config: ConfigPath = None,
    set: SetOverrides = None,
    resume: ResumeRun = None,
    out: OutDir = Path("runs"),
    preset: Annotated[
        str | None,
        typer.Option(
            help="Ablation preset: loop, loop_turn, loop_bandit, "
            "loop_rwnorm, rloo, grpo, grpo_no_kl, ppo_critic."
        ),
    ] = None,
) -> None:
    """Train with LOOP (Algorithm 1); writes metrics, checkpoints and best-dev weights."""
    from simlab.agents.rl.loop import PRESETS
    from simlab.agents.rl.trainer import TrainConfig
    from simlab.agents.rl.trainer import train as run_train
    from simlab.core.config import load_config
    from simlab.core.errors import ConfigError
    from simlab.core.run import RunDir

    overrides = list(set or ())
    if preset is not None:
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r} (valid: {', '.join(PRESETS)})")
        overrides = [f"loop.{k}={json.dumps(v)}" for k, v in PRESETS[preset].items()] + overrides
    if resume is not None:
        run = RunDir.open(resume)
        cfg = run.load_config(TrainConfig, tuple(overrides))
    else:
        cfg = load_config(TrainConfig, config, overrides)
        run = RunDir.create(out, "agents-train", cfg)
    summary = run_train(cfg, run.path, resume=resume is not None)
    typer.echo(json.dumps({"run": str(run.path), **summary}))


@app.command("eval")
def eval_(
    run: Annotated[
        Path | None, typer.Option(help="Run folder (uses its best-dev weights).")
    ] = None,
    config: ConfigPath = None,
    set: SetOverrides = None,
    split: Annotated[str, typer.Option(help="dev, test_normal or test_challenge.")] = "dev",
    runs: Annotated[int, typer.Option(help="Sampled evaluation runs (mean ± std).")] = 3,
    temperature: Annotated[float, typer.Option(help="Sampling temperature.")] = 0.1,
    seed: Annotated[int, typer.Option(help="Sampling seed.")] = 0,
) -> None:
    """TGC/SGC and behavioural metrics of the untrained model, or of a run's best-dev
    checkpoint, on a split."""
    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.trainer import TrainConfig, evaluate, make_source
    from simlab.core.checkpoint import load_torch
    from simlab.core.config import load_config
    from simlab.core.errors import DataError
    from simlab.core.run import RunDir

    if run is not None:
        rd = RunDir.open(run)
        cfg = rd.load_config(TrainConfig, tuple(set or ()))
    else:
        cfg = load_config(TrainConfig, config, set or ())
    policy = load_policy(cfg.model, lora=cfg.lora, seed=cfg.seed)
    if run is not None:
        best = Path(run) / "best.pt"
        if not best.is_file():
            raise DataError(f"run folder {run}: no best.pt (no dev evaluation has run yet)")
        state, _, _ = load_torch(best)
        policy.load_trainable_state(state)
    res = evaluate(policy, make_source(cfg), split, cfg, runs, temperature, seed)
    res = {k: None if v != v else v for k, v in res.items()}  # NaN (no failed call) -> null
    typer.echo(json.dumps({"split": split, "runs": runs, "temperature": temperature, **res}))
