"""Benchmark of the API world: scale (apps, APIs, scenarios, tasks per split, difficulty),
REPL cost (worker start, trivial cell, API round trip, timeout kill + replay) and per-task
costs (start state, evaluation, a full ground-truth episode). Prints one JSON object.

    PYTHONPATH=src .venv/bin/python bench/agents/bench_world.py [--seed 0] [--repeats 300]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from collections import Counter


def timed(fn, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def summary_ms(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "median_ms": round(1e3 * statistics.median(xs), 3),
        "p90_ms": round(1e3 * xs[int(0.9 * (len(xs) - 1))], 3),
        "n": len(xs),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=300)
    args = ap.parse_args()

    from simlab.agents.env import AgentEnv
    from simlab.agents.world.api import Backend, specs_of
    from simlab.agents.world.apps import APP_CLASSES
    from simlab.agents.world.db import copy_db
    from simlab.agents.world.generate import _generate
    from simlab.agents.world.sandbox import Sandbox, SandboxConfig
    from simlab.agents.world.tasks import SPLITS, load_tasks, scenarios

    out: dict = {"machine": platform.machine(), "python": platform.python_version()}

    # scale
    specs = {c.name: specs_of(c.name) for c in APP_CLASSES}
    out["apps"] = len(specs)
    out["user_apps"] = len(specs) - 2
    out["apis"] = sum(len(s) for s in specs.values())
    out["apis_per_app"] = {a: len(s) for a, s in specs.items()}
    out["parameters"] = sum(len(x.params) for s in specs.values() for x in s.values())
    out["max_parameters_per_api"] = max(len(x.params) for s in specs.values() for x in s.values())
    out["mutating_apis"] = sum(x.mutates for s in specs.values() for x in s.values())
    t0 = time.perf_counter()
    world = _generate.__wrapped__(args.seed, 100)
    out["world_generation_s"] = round(time.perf_counter() - t0, 3)
    out["world_rows"] = sum(
        world.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
        for (t,) in world.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
    )
    out["scenarios"] = {s: len(scenarios(s)) for s in SPLITS}
    out["scenarios_total"] = sum(out["scenarios"].values())
    out["tasks"] = {s: len(load_tasks(args.seed, s)) for s in SPLITS}
    out["tasks_total"] = sum(out["tasks"].values())
    out["difficulty"] = {
        s: dict(sorted(Counter(t.difficulty for t in load_tasks(args.seed, s)).items()))
        for s in SPLITS
    }

    # REPL costs
    backend = Backend(world.copy(), args.seed)
    starts = []
    for _ in range(20):
        sb = Sandbox(backend.call)
        t0 = time.perf_counter()
        sb.run("1")  # spawn + lock-down + first cell
        starts.append(time.perf_counter() - t0)
        sb.close()
    out["worker_start_plus_first_cell"] = summary_ms(starts)
    with Sandbox(backend.call) as sb:
        sb.run("x = 0")
        out["trivial_cell"] = summary_ms(timed(lambda: sb.run("x += 1"), args.repeats))
        # the cells really ran: x was incremented once per trivial cell
        out["trivial_cells_all_ran"] = sb.run("print(x)").output == f"{args.repeats}\n"
        out["cell_with_one_api_call"] = summary_ms(
            timed(lambda: sb.run("apis.supervisor.show_profile()"), args.repeats)
        )
        out["cell_with_100_api_calls"] = summary_ms(
            timed(lambda: sb.run("for i in range(100):\n    apis.supervisor.show_profile()"), 20)
        )
    with Sandbox(backend.call, config=SandboxConfig(timeout_s=1.0)) as sb:
        for i in range(20):
            sb.run(f"v{i} = {i}")
        t0 = time.perf_counter()
        r = sb.run("while True: pass")
        out["timeout_1s_kill_and_replay_20_cells_s"] = round(time.perf_counter() - t0, 3)
        out["replay_restored_globals"] = sb.run("print(v19)").output == "19\n" and r.timed_out

    # per-task costs over every task
    tasks = load_tasks(args.seed)
    start_t, eval_t, episode_t, ok = [], [], [], 0
    for t in tasks:
        t0 = time.perf_counter()
        start = t.start_state()
        start_t.append(time.perf_counter() - t0)
        end = copy_db(start)
        t0 = time.perf_counter()
        t.evaluate(start, end)
        eval_t.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with AgentEnv(t, max_turns=1) as env:
            env.reset()
            _, _, _, info = env.step(f"```python\n{t.solution()}\n```")
        episode_t.append(time.perf_counter() - t0)
        ok += info["evaluation"].success
    out["task_start_state"] = summary_ms(start_t)
    out["evaluation_per_task"] = summary_ms(eval_t)
    out["ground_truth_episode_per_task"] = summary_ms(episode_t)
    out["ground_truths_succeeding"] = f"{ok}/{len(tasks)}"
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
