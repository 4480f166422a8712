"""The `simlab` command line: `simlab <system> <verb>`, plus `simlab demo`.

Each system's commands live in ``simlab/<system>/cli.py`` as a ``typer.Typer`` named ``app``
and are imported only when that system is named on the command line (or listed by
``--help``), so ``simlab --help`` stays fast and never imports JAX or PyTorch. A system
module's top level therefore imports only typer, the standard library and ``simlab.core``.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Annotated

import typer
from typer.core import TyperGroup

from simlab import __version__
from simlab.core.errors import UserError

# name -> (one-line description, issue that builds it)
SYSTEMS: dict[str, tuple[str, str]] = {
    "drive": ("Gigaflow: batched driving simulator and self-play PPO.", "issues 6-7"),
    "agents": ("LOOP: RL for LLM agents in a stateful multi-app API world.", "issues 8-9"),
    "eevi": ("EEVI: entropy and mutual-information bounds via inference.", "issue 4"),
    "ravi": ("RAVI: meta-inference, MCVI and Agglomerative Monte Carlo.", "issue 5"),
    "scenes": ("3DP3: object poses and scene graphs from depth images.", "issues 10-11"),
}


def system_is_built(name: str) -> bool:
    """True when ``simlab.<name>.cli`` exists (checked without importing the system)."""
    try:
        return importlib.util.find_spec(f"simlab.{name}.cli") is not None
    except ModuleNotFoundError:
        return False


def _not_built(name: str) -> typer.core.TyperCommand:
    help_text, issue = SYSTEMS[name]
    stub = typer.Typer(add_completion=False)

    @stub.command(
        name,
        help=f"{help_text} [not built yet]",
        add_help_option=False,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    )
    def _stub(ctx: typer.Context) -> None:
        raise UserError(f"simlab {name} is not built yet ({issue}).")

    return typer.main.get_command(stub)


class _LazySystems(TyperGroup):
    """A click group that imports a system's sub-commands only when they are asked for."""

    def list_commands(self, ctx: typer.Context) -> list[str]:
        return [*super().list_commands(ctx), *SYSTEMS]

    def get_command(self, ctx: typer.Context, name: str) -> typer.core.TyperCommand | None:
        if name not in SYSTEMS:
            return super().get_command(ctx, name)
        if not system_is_built(name):
            return _not_built(name)
        module = importlib.import_module(f"simlab.{name}.cli")
        command = typer.main.get_command(module.app)
        command.name = name
        if not command.help:
            command.help = SYSTEMS[name][0]
        return command


app = typer.Typer(
    cls=_LazySystems,
    help="simlab: learning and inference by simulation (Gigaflow, LOOP, EEVI, RAVI, 3DP3).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"simlab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """simlab: learning and inference by simulation."""


@app.command()
def demo(
    out: Annotated[str, typer.Option(help="Folder under which runs/demo-<time>/ is made.")] = ".",
    only: Annotated[
        list[str] | None, typer.Option(help="Run only these systems (repeatable).")
    ] = None,
) -> None:
    """A few-minute tour of every system that is built; writes runs/demo-<time>/report.md."""
    from simlab.core.demo import run_demo

    run_demo(out, only=only)


def main() -> None:
    """Console entry point: every user error is one line on stderr and exit code 2."""
    try:
        code = app(prog_name="simlab", standalone_mode=False)
    except UserError as e:
        typer.echo(f"error: {e}", err=True)
        sys.exit(2)
    except typer.exceptions.TyperException as e:  # usage errors from the vendored click
        typer.echo(f"error: {e.format_message()}", err=True)
        sys.exit(getattr(e, "exit_code", 2))
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        typer.echo("Aborted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
