"""Run folders and metrics.

One run = one folder holding everything it produced::

    runs/train-20261125-101500/
      config.toml      the full config (reloadable with load_config)
      run.json         simlab version, command line, start time
      metrics.jsonl    one JSON object per logged step: the source of truth
      tb/              TensorBoard event files, written beside the JSONL
      checkpoints/     step_XXXXXXXXXX.npz|pt (see simlab.core.checkpoint)
      artefacts/       plots, GIFs, tables
      report.md        written by simlab.core.report

Resuming a run reopens the folder; ``Metrics(resume_step=s)`` drops logged records with
step > s (they came after the checkpoint and will be produced again), so the metrics of an
interrupted and resumed run equal those of an uninterrupted one.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

from simlab import __version__
from simlab.core.checkpoint import Checkpointer, atomic_write
from simlab.core.config import dump_toml, load_config
from simlab.core.errors import DataError

__all__ = ["Metrics", "RunDir", "read_metrics", "timestamp"]


def timestamp() -> str:
    """Local time as YYYYmmdd-HHMMSS, for folder names."""
    return dt.datetime.now().strftime("%Y%m%d-%H%M%S")


class RunDir:
    """A run's folder. Create a new one with ``RunDir.create``, reopen with ``RunDir.open``."""

    def __init__(self, path: str | Path):
        self.path = Path(path)

    @classmethod
    def create(cls, root: str | Path, name: str, config: Any = None) -> RunDir:
        """Make ``root/<name>-<timestamp>`` (suffixed -2, -3... if taken); save the config."""
        root = Path(root)
        base = f"{name}-{timestamp()}"
        for i in range(1, 1000):
            path = root / (base if i == 1 else f"{base}-{i}")
            try:
                path.mkdir(parents=True)
                break
            except FileExistsError:
                continue
        else:
            raise DataError(f"run folder {root / base}: could not create a unique name")
        run = cls(path)
        if config is not None:
            dump_toml(config, run.config_path)
        info = {"simlab": __version__, "argv": sys.argv, "started": dt.datetime.now().isoformat()}
        (path / "run.json").write_text(json.dumps(info, indent=2) + "\n")
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Reopen an existing run folder (to resume or evaluate it)."""
        path = Path(path)
        if not path.is_dir():
            raise DataError(f"run folder {path}: not found")
        return cls(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.toml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def artefacts(self) -> Path:
        out = self.path / "artefacts"
        out.mkdir(exist_ok=True)
        return out

    def load_config(self, cls: type, overrides: tuple[str, ...] = ()) -> Any:
        """The run's saved config as ``cls`` (with optional overrides)."""
        return load_config(cls, self.config_path, overrides)

    def checkpointer(self, keep: int = 3, torch: bool = False) -> Checkpointer:
        return Checkpointer(self.path / "checkpoints", keep=keep, torch=torch)

    def metrics(self, resume_step: int | None = None, tensorboard: bool = True) -> Metrics:
        return Metrics(self.path, resume_step=resume_step, tensorboard=tensorboard)


class Metrics:
    """Scalar metrics to ``metrics.jsonl`` (truth) and TensorBoard (``tb/``), per step.

    >>> with run.metrics() as m:
    ...     m.log(step, loss=0.3, reward=1.2)
    """

    def __init__(self, folder: str | Path, resume_step: int | None = None, tensorboard=True):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "metrics.jsonl"
        if resume_step is not None and self.path.exists():
            kept = [r for r in read_metrics(self.path) if r["step"] <= resume_step]
            text = "".join(json.dumps(r) + "\n" for r in kept)
            atomic_write(self.path, lambda f: f.write(text.encode()))
        self._file = open(self.path, "a")  # noqa: SIM115 (closed in close())
        self._tb = None
        if tensorboard:
            from tensorboardX import SummaryWriter

            purge = None if resume_step is None else resume_step + 1
            self._tb = SummaryWriter(str(self.folder / "tb"), purge_step=purge)

    def log(self, step: int, **scalars: float) -> None:
        """Append one record; values must be real numbers (NaN/inf are written as null)."""
        record: dict[str, Any] = {"step": int(step)}
        for key, value in scalars.items():
            v = float(value)
            record[key] = v if math.isfinite(v) else None
            if self._tb is not None:
                self._tb.add_scalar(key, v, int(step))
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def flush(self) -> None:
        self._file.flush()
        os.fsync(self._file.fileno())
        if self._tb is not None:
            self._tb.flush()

    def close(self) -> None:
        if not self._file.closed:
            self.flush()
            self._file.close()
        if self._tb is not None:
            self._tb.close()

    def __enter__(self) -> Metrics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """All records of a metrics.jsonl file. A torn last line (killed mid-write) is skipped."""
    path = Path(path)
    records = []
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if i == len(lines) - 1:
                break
            raise DataError(f"metrics file {path}: line {i + 1} is not JSON") from None
    return records
