"""`simlab demo` section for agents: the API world, its sandbox and reference agents.

Runs in about 20-40 s on 2 cores: counts apps/APIs/tasks, shows hostile cells being stopped,
and evaluates the scripted reference agent (with statements dropped at several rates) and a
do-nothing baseline on the dev split, plotting TGC, SGC and mean reward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["run_demo"]

HOSTILE = {
    "read a file": "open('/etc/passwd').read()",
    "import os": "import os",
    "walk to object": "().__class__.__mro__",
    "format trick": "'{0.__class__}'.format(1)",
    "memory bomb": "x = 'x' * 10**10",
    "infinite loop": "while True: pass",
}


def run_demo(report: Any, workdir: Path) -> None:
    from collections import Counter

    from simlab.agents.episodes import evaluate_agent, noop_agent, scripted_agent
    from simlab.agents.world import db
    from simlab.agents.world.api import Backend, specs_of
    from simlab.agents.world.apps import APP_CLASSES
    from simlab.agents.world.generate import World
    from simlab.agents.world.sandbox import Sandbox, SandboxConfig
    from simlab.agents.world.tasks import SPLITS, load_tasks, scenarios
    from simlab.core.report import line_plot

    n_apis = {c.name: len(specs_of(c.name)) for c in APP_CLASSES}
    report.text(
        f"A seeded world of 100 people and {len(n_apis)} apps with {sum(n_apis.values())} "
        "typed APIs over one in-memory SQLite state, a sandboxed REPL (separate locked-down "
        "process, the state stays in the parent) and tasks judged by state-based tests "
        "(required changes, no collateral changes, answer)."
    )
    report.table(["app", "APIs"], [[a, n] for a, n in n_apis.items()])
    rows = []
    for s in SPLITS:
        tasks = load_tasks(0, s)
        d = Counter(t.difficulty for t in tasks)
        rows.append([s, len(scenarios(s)), len(tasks), d[1], d[2], d[3]])
    report.table(["split", "scenarios", "tasks", "d1", "d2", "d3"], rows)

    backend = Backend(World.generate(0).copy(), 0)
    before = db.dump(backend.conn)
    hostile_rows = []
    with Sandbox(backend.call, config=SandboxConfig(timeout_s=1.0)) as sb:
        sb.run("kept = 'still here'")
        for name, code in HOSTILE.items():
            r = sb.run(code)
            hostile_rows.append([name, f"`{code}`", r.output.splitlines()[-1][:90]])
        alive = sb.run("print(kept)").output.strip()
    report.text(
        "Hostile cells (each stopped; afterwards the REPL still answers "
        f"`print(kept)` -> `{alive}`, world state unchanged: {db.dump(backend.conn) == before}):"
    )
    report.table(["attack", "cell", "last line of the output"], hostile_rows)

    dev = load_tasks(0, "dev")
    skips = [0.0, 0.1, 0.2, 0.4]
    tgc, sgc, reward = [], [], []
    for p in skips:
        r = evaluate_agent(lambda t, p=p: scripted_agent(t, skip_prob=p), dev, max_turns=30)
        tgc.append(r["tgc"])
        sgc.append(r["sgc"])
        reward.append(100 * r["mean_reward"])
    noop = evaluate_agent(noop_agent, dev)
    report.table(
        ["agent", "TGC %", "SGC %", "mean reward %"],
        [[f"scripted, skip {p}", a, b, c] for p, a, b, c in zip(skips, tgc, sgc, reward)]
        + [["do nothing", noop["tgc"], noop["sgc"], 100 * noop["mean_reward"]]],
    )
    fig = line_plot(
        {"TGC": (skips, tgc), "SGC": (skips, sgc), "mean reward": (skips, reward)},
        "probability of dropping each ground-truth statement",
        "% on the dev split",
        title="Scripted reference agent on the dev split",
    )
    report.figure(
        fig,
        "agents_scripted_dev",
        "The ground truth played one statement per turn succeeds on every task; dropping "
        "statements lowers task and scenario goal completion, while partial credit decays "
        "more slowly.",
    )
