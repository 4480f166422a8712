"""`simlab agents ...`: the API world (apps, APIs, tasks, solutions, REPL, evaluation).

Only typer, the standard library and simlab.core are imported at module level.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from simlab.agents.rl.cli import app as loop_app
from simlab.core.errors import UserError

app = typer.Typer(
    help="LOOP: RL for LLM agents in a stateful multi-app API world.", no_args_is_help=True
)
world = typer.Typer(
    help="The API world: list apps, APIs and tasks; run a solution, a code file or an "
    "interactive REPL against a task; TGC/SGC of an agent over a split.",
    no_args_is_help=True,
)
app.add_typer(world, name="world")
app.add_typer(loop_app)  # train, eval (LOOP)

Seed = Annotated[int, typer.Option(help="World seed.")]
SPLIT_NAMES = ("train", "dev", "test_normal", "test_challenge")


def _task(task_id: str, seed: int):
    from simlab.agents.world.tasks import get_task

    try:
        return get_task(task_id, seed)
    except ValueError as e:
        raise UserError(str(e)) from None


def _split(split: str | None) -> str | None:
    if split is not None and split not in SPLIT_NAMES:
        raise UserError(f"unknown split {split!r}; splits: {', '.join(SPLIT_NAMES)}")
    return split


@world.command("apps")
def apps_cmd() -> None:
    """List the apps with their number of APIs."""
    from simlab.agents.world.api import specs_of
    from simlab.agents.world.apps import APP_CLASSES

    total = 0
    for cls in APP_CLASSES:
        n = len(specs_of(cls.name))
        total += n
        typer.echo(f"{cls.name:<11} {n:>3} APIs  {cls.description}")
    typer.echo(f"{len(APP_CLASSES)} apps, {total} APIs")


@world.command("apis")
def apis_cmd(
    app_name: Annotated[str | None, typer.Argument(help="App (all apps if omitted).")] = None,
    doc: Annotated[str | None, typer.Option(help="Print the full doc of this API.")] = None,
) -> None:
    """List APIs (method, name, description), or print one API's full documentation."""
    from simlab.agents.world.api import specs_of
    from simlab.agents.world.apps import APP_CLASSES

    names = [c.name for c in APP_CLASSES]
    if app_name is not None and app_name not in names:
        raise UserError(f"unknown app {app_name!r}; apps: {', '.join(names)}")
    if doc is not None:
        if app_name is None:
            raise UserError("--doc needs an APP argument")
        specs = specs_of(app_name)
        if doc not in specs:
            raise UserError(f"app {app_name} has no API {doc!r}; APIs: {', '.join(specs)}")
        typer.echo(json.dumps(specs[doc].doc(), indent=2))
        return
    for name in [app_name] if app_name else names:
        for s in specs_of(name).values():
            typer.echo(f"{s.method:<6} {name}.{s.name:<32} {s.description}")


@world.command("tasks")
def tasks_cmd(
    split: Annotated[str | None, typer.Option(help="Only this split.")] = None,
    seed: Seed = 0,
) -> None:
    """List tasks: id, split, difficulty, apps and instruction."""
    from simlab.agents.world.tasks import load_tasks

    tasks = load_tasks(seed, _split(split))
    for t in tasks:
        typer.echo(
            f"{t.id:<34} {t.split:<14} d{t.difficulty} {','.join(t.apps):<12} {t.instruction}"
        )
    typer.echo(f"{len(tasks)} tasks")


@world.command("show")
def show_cmd(task_id: str, seed: Seed = 0) -> None:
    """Show a task: context, difficulty, ground-truth solution and required changes."""
    from simlab.agents.env import render_context
    from simlab.agents.world.db import View

    t = _task(task_id, seed)
    typer.echo(f"task {t.id} (scenario {t.scenario.name}, split {t.split}, d{t.difficulty})")
    typer.echo(render_context(t.context()))
    typer.echo("\n# ground-truth solution\n" + t.solution())
    start = View(t.start_state())
    typer.echo("# required changes")
    for x in t.scenario.expect(start, t.params):
        typer.echo(f"- {x.describe()}")
    answer = t.scenario.answer(start, t.params)
    from simlab.agents.world.tasks.base import NO_QUESTION

    if answer is not NO_QUESTION:
        typer.echo(f"# expected answer: {answer!r}")


@world.command("run")
def run_cmd(
    task_id: str,
    solution: Annotated[bool, typer.Option(help="Run the ground-truth solution.")] = False,
    code: Annotated[Path | None, typer.Option(help="Run this Python file as one cell.")] = None,
    seed: Seed = 0,
    timeout: Annotated[float, typer.Option(help="Seconds per cell.")] = 10.0,
) -> None:
    """Run the solution, a code file, or (default) an interactive REPL; print the evaluation.

    Interactive: type a cell, end it with an empty line; Ctrl-D ends the episode.
    """
    from simlab.agents.env import AgentEnv
    from simlab.agents.world.sandbox import SandboxConfig

    t = _task(task_id, seed)
    env = AgentEnv(t, max_turns=1000, sandbox=SandboxConfig(timeout_s=timeout))
    typer.echo(env.reset())
    try:
        if solution or code is not None:
            if code is not None:
                if not code.is_file():
                    raise UserError(f"{code}: no such file")
                text = code.read_text()
            else:
                text = t.solution()
            _, _, _, info = env.step(f"```python\n{text}\n```")
            typer.echo(f"\n{info['output']}")
        else:
            _repl(env)
        typer.echo("\n# evaluation\n" + env.evaluate().report())
    finally:
        env.close()


def _repl(env) -> None:
    lines: list[str] = []
    typer.echo("Type code; an empty line runs the cell; Ctrl-D ends.", err=True)
    while not env.done:
        typer.echo("... " if lines else ">>> ", nl=False, err=True)
        line = sys.stdin.readline()
        if not line:
            break
        if line.strip() or not lines:
            if line.strip():
                lines.append(line.rstrip("\n"))
            continue
        _, _, _, info = env.step("```python\n" + "\n".join(lines) + "\n```")
        typer.echo(info["output"])
        lines = []


@world.command("eval")
def eval_cmd(
    split: Annotated[str, typer.Option(help="Split to evaluate.")] = "dev",
    agent: Annotated[str, typer.Option(help="scripted or noop.")] = "scripted",
    skip_prob: Annotated[
        float, typer.Option(help="Scripted agent: drop each statement with this probability.")
    ] = 0.0,
    runs: Annotated[int, typer.Option(help="Evaluation runs (agent seeds 0..runs-1).")] = 1,
    max_turns: Annotated[int, typer.Option(help="Turns per episode.")] = 50,
    seed: Seed = 0,
) -> None:
    """TGC and SGC (mean ± std over runs) of a reference agent over a split."""
    import statistics

    from simlab.agents.episodes import evaluate_agent, noop_agent, scripted_agent
    from simlab.agents.world.tasks import load_tasks
    from simlab.core.progress import progress

    if agent not in ("scripted", "noop"):
        raise UserError(f"unknown agent {agent!r}; agents: scripted, noop")
    tasks = load_tasks(seed, _split(split))
    tgcs, sgcs, rewards = [], [], []
    for run in progress(range(runs), total=runs, description=f"eval {split}", unit="run"):
        if agent == "noop":
            make = noop_agent
        else:

            def make(t, run=run):
                return scripted_agent(t, skip_prob=skip_prob, seed=run)

        r = evaluate_agent(make, tasks, max_turns=max_turns)
        tgcs.append(r["tgc"])
        sgcs.append(r["sgc"])
        rewards.append(r["mean_reward"])

    def ms(xs: list[float]) -> str:
        sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
        return f"{statistics.mean(xs):.1f} ± {sd:.1f}"

    typer.echo(
        f"split {split}: {len(tasks)} tasks, agent {agent}, {runs} run(s): "
        f"TGC {ms(tgcs)}  SGC {ms(sgcs)}  mean reward {statistics.mean(rewards):.3f}"
    )
