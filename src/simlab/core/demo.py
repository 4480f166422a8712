"""`simlab demo`: a few-minute tour of every built system, written to one report.

Each system contributes ``simlab/<system>/demo.py`` with ``run_demo(report, workdir)``, which
adds its own section (text, tables, figures) to the shared ``Report``. A system whose demo
fails is reported as failed, with its error, and the command exits non-zero after writing
the report: a broken system never looks like a working one.
"""

from __future__ import annotations

import importlib
import importlib.util
import time
import traceback
from pathlib import Path

from rich.console import Console

from simlab.core.errors import UserError
from simlab.core.report import Report
from simlab.core.run import RunDir

__all__ = ["run_demo"]


def _has_demo(system: str) -> bool:
    try:
        return importlib.util.find_spec(f"simlab.{system}.demo") is not None
    except ModuleNotFoundError:
        return False


def run_demo(out: str | Path = ".", only: list[str] | None = None) -> Path:
    """Run every built system's demo into ``<out>/runs/demo-<time>/``; return report.md's path."""
    from simlab.cli import SYSTEMS

    console = Console(stderr=True)
    unknown = sorted(set(only or ()) - set(SYSTEMS))
    if unknown:
        raise UserError(f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    run = RunDir.create(Path(out) / "runs", "demo")
    report = Report(run.path, "simlab demo")
    report.text(
        f"A short tour of every built simlab system. Run folder: `{run.path}`. "
        "Numbers are computed in this run on this machine."
    )
    summary: list[list[str]] = []
    failed = []
    for name, (description, issue) in SYSTEMS.items():
        if only and name not in only:
            continue
        if not _has_demo(name):
            summary.append([name, "not built yet", issue, ""])
            continue
        console.print(f"[bold]simlab demo[/bold]: {name} ...")
        t0 = time.perf_counter()
        workdir = run.path / name
        workdir.mkdir()
        report.section(f"{name}: {description}")
        try:
            importlib.import_module(f"simlab.{name}.demo").run_demo(report, workdir)
            status = "ok"
        except Exception as e:  # reported, never hidden: the exit code says it failed
            status = f"FAILED: {type(e).__name__}: {e}"
            failed.append(name)
            report.text(f"**This demo failed.**\n\n```\n{traceback.format_exc()}\n```")
        seconds = time.perf_counter() - t0
        summary.append([name, status, issue, f"{seconds:.1f} s"])
        console.print(f"  {name}: {status} ({seconds:.1f} s)")
    report.section("Summary")
    report.table(["system", "status", "issue", "time"], summary)
    path = report.write()
    console.print(f"report: {path}")
    print(path)
    if failed:
        raise UserError(f"demo failed for {', '.join(failed)}; see {path}")
    return path
