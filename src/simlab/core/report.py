"""A small report writer: Markdown text, tables and PNG figures in one folder.

>>> report = Report("runs/demo-x", "simlab demo")
>>> report.section("EEVI")
>>> report.text("Bounds bracket the closed form at every dimension.")
>>> report.table(["dim", "lower", "upper"], [[4, 1.2, 1.3]])
>>> report.figure(fig, "eevi_mvn", "Bound gap against K.")
>>> report.write()        # -> runs/demo-x/report.md, figures in runs/demo-x/figures/

Figures are matplotlib figures rendered with the non-interactive Agg backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from simlab.core.checkpoint import atomic_write

__all__ = ["Report", "line_plot", "new_figure"]


def new_figure(width: float = 6.0, height: float = 4.0) -> Any:
    """A matplotlib (Figure, Axes) pair on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height), dpi=110)


def line_plot(
    series: dict[str, tuple[Sequence[float], Sequence[float]]],
    xlabel: str,
    ylabel: str,
    title: str = "",
    logx: bool = False,
) -> Any:
    """A figure with one line per ``name -> (xs, ys)``."""
    fig, ax = new_figure()
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o", markersize=3, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logx:
        ax.set_xscale("log")
    if title:
        ax.set_title(title)
    if len(series) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


class Report:
    """Markdown report with figures, written to ``folder/report.md``."""

    def __init__(self, folder: str | Path, title: str):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.figures = self.folder / "figures"
        self.lines: list[str] = [f"# {title}", ""]

    @property
    def path(self) -> Path:
        return self.folder / "report.md"

    def section(self, title: str, level: int = 2) -> None:
        self.lines += ["#" * level + " " + title, ""]

    def text(self, markdown: str) -> None:
        self.lines += [markdown.strip(), ""]

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """A Markdown table; floats are shown with 4 significant digits."""

        def cell(v: Any) -> str:
            return f"{v:.4g}" if isinstance(v, float) else str(v).replace("|", "\\|")

        self.lines.append("| " + " | ".join(map(str, header)) + " |")
        self.lines.append("|" + "---|" * len(header))
        for row in rows:
            if len(row) != len(header):
                raise ValueError(f"table row {row!r} has {len(row)} cells, header {len(header)}")
            self.lines.append("| " + " | ".join(cell(v) for v in row) + " |")
        self.lines.append("")

    def figure(self, fig: Any, name: str, caption: str = "") -> Path:
        """Save a matplotlib figure as figures/<name>.png, link it, and close the figure."""
        import matplotlib.pyplot as plt

        self.figures.mkdir(exist_ok=True)
        path = self.figures / f"{name}.png"
        fig.savefig(path)
        plt.close(fig)
        self.lines += [f"![{caption or name}](figures/{name}.png)", ""]
        if caption:
            self.lines += [f"*{caption}*", ""]
        return path

    def image(self, path: str | Path, caption: str = "") -> None:
        """Link an image (PNG/GIF) that is already inside the report folder."""
        rel = Path(path).resolve().relative_to(self.folder.resolve())
        self.lines += [f"![{caption or rel.name}]({rel.as_posix()})", ""]

    def write(self) -> Path:
        """Write report.md atomically and return its path."""
        text = "\n".join(self.lines).rstrip() + "\n"
        return atomic_write(self.path, lambda f: f.write(text.encode()))
