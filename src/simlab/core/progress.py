"""Progress bars for long work: description, bar, count, rate (units/s), elapsed and ETA.

Built on ``rich``, drawn on stderr. On a terminal the bar redraws in place; in a log (CI, a
pipe) rich prints it only when it finishes, so logs stay small.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

T = TypeVar("T")

__all__ = ["ProgressBar", "progress"]


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "it")
        return Text("?" if speed is None else f"{speed:,.3g} {unit}/s", style="progress.data.speed")


class ProgressBar:
    """A progress bar over ``total`` units, optionally starting at ``start`` (after a resume).

    >>> with ProgressBar(1000, "train", unit="step", start=200) as bar:
    ...     for step in range(200, 1000):
    ...         bar.update(1, loss=0.5)   # extra fields are shown after the bar
    """

    def __init__(
        self,
        total: float | None,
        description: str = "",
        unit: str = "it",
        start: float = 0,
        disable: bool = False,
    ):
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[info]}"),
            # stderr: a command's results on stdout stay clean (`simlab drive eval > out.json`)
            console=Console(stderr=True),
            disable=disable,
        )
        self._task = self._progress.add_task(
            description, total=total, completed=start, unit=unit, info=""
        )

    def __enter__(self) -> ProgressBar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def update(self, advance: float = 1, **fields: Any) -> None:
        """Advance by ``advance`` units and show ``fields`` (e.g. loss=0.1) after the bar."""
        info = "  ".join(f"{k}={_fmt(v)}" for k, v in fields.items())
        self._progress.update(self._task, advance=advance, info=info)

    @property
    def completed(self) -> float:
        return self._progress.tasks[0].completed


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def progress(
    iterable: Iterable[T],
    total: float | None = None,
    description: str = "",
    unit: str = "it",
    disable: bool = False,
) -> Iterator[T]:
    """Yield from ``iterable`` while showing a progress bar (``total`` defaults to len())."""
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)  # type: ignore[arg-type]
    with ProgressBar(total, description, unit, disable=disable) as bar:
        for item in iterable:
            yield item
            bar.update(1)
