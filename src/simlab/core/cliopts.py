"""Command-line options every system shares, as typer ``Annotated`` types.

>>> @app.command()
... def train(config: ConfigPath = None, set: SetOverrides = None, resume: ResumeRun = None):
...     cfg = load_config(TrainConfig, config, set or ())
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["ConfigPath", "FullSettings", "OutDir", "ResumeRun", "Seed", "SetOverrides"]

ConfigPath = Annotated[
    Path | None, typer.Option("--config", "-c", help="TOML config file (defaults otherwise).")
]
SetOverrides = Annotated[
    list[str] | None,
    typer.Option("--set", "-s", help="Override a config key, e.g. --set ppo.lr=3e-4 (repeatable)."),
]
ResumeRun = Annotated[
    Path | None, typer.Option("--resume", help="Run folder to resume from its last checkpoint.")
]
OutDir = Annotated[Path, typer.Option("--out", help="Folder under which the run folder is made.")]
Seed = Annotated[int, typer.Option("--seed", help="Random seed (everything derives from it).")]
FullSettings = Annotated[
    bool, typer.Option("--full", help="Start from the paper's full settings (slow).")
]
