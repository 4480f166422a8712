"""`simlab demo` section for agents: the API world, its sandbox, reference agents and LOOP.

Runs in about 30-50 s on 2 cores: counts apps/APIs/tasks, shows hostile cells being stopped,
and evaluates the scripted reference agent (with statements dropped at several rates) and a
do-nothing baseline on the dev split, plotting TGC, SGC and mean reward; then shows one LOOP
iteration of a tiny random model on the two-turn toy game (rollouts, rewards, leave-one-out
advantages, the update's numbers) and its learning curve over 16 iterations (about 10 s).
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
    _loop_section(report)


def _loop_section(report: Any) -> None:
    """One LOOP iteration in detail, then a short run, with a tiny random model (full FT)."""
    import torch

    from simlab.agents.rl.loop import Learner, LoopConfig
    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.rollout import RolloutConfig, collect
    from simlab.agents.rl.toy import ToyEnv, toy_tasks
    from simlab.agents.rl.trainer import loop_iteration
    from simlab.core.report import line_plot

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a 2-layer, 64-wide model: more threads only add overhead
    try:
        seed = 2
        policy = load_policy("tiny-random", lora=False, seed=seed)
        learner = Learner(policy, LoopConfig(lr=3e-3, bf16=False, minibatch=8), seed=seed)
        rc = RolloutConfig(k=4, max_new_tokens=1, max_turns=2, bf16=False, early_stop=False)
        train, held_out = toy_tasks(32), toy_tasks(16, offset=1000)
        gen = torch.Generator().manual_seed(seed + 1)

        def held_out_success() -> float:
            rs, _ = collect(policy, held_out, ToyEnv, rc, torch.Generator().manual_seed(100))
            return sum(r.reward for r in rs) / len(rs)

        curve = [(0, held_out_success())]
        train_curve, first = [], None
        for it in range(16):
            batch = train[(8 * it) % 32 :][:8]
            rs, _, m = loop_iteration(policy, learner, batch, ToyEnv, rc, gen, it)
            first = first or (rs, m)
            train_curve.append((it + 1, sum(r.reward for r in rs) / len(rs)))
            if it % 2 == 1:
                curve.append((it + 1, held_out_success()))
    finally:
        torch.set_num_threads(threads)

    rs, m = first
    report.section("LOOP on a tiny model", level=3)
    report.text(
        "A seeded random 2-layer Llama (64 wide, byte tokens) plays a two-turn game: task *n* "
        "hides a secret bit that nothing in its opening message reveals; whatever the agent "
        "says first, the game answers `secret: N`; the agent's second reply is right when the "
        "code point of its first character has parity N. Each iteration samples K = 4 "
        "rollouts of 8 tasks (T = 1), gives each rollout its leave-one-out advantage "
        "A = R − mean of the other three, drops |A| < 0.01 (groups that all scored alike), "
        "and takes clipped per-token PPO steps (ε = 0.1, 2 epochs, minibatches of 8, full "
        "fine-tuning, lr 3e-3). The first iteration's rollouts of two tasks (`�` is a lone byte "
        "≥ 0x80, which decodes to U+FFFD and counts as a wrong answer):"
    )
    rows = []
    for r in [r for r in rs if r.group < 2]:
        replies = [
            repr(msg["content"][:1]) if msg["content"] else "(stop)"
            for msg in r.messages
            if msg["role"] == "assistant"
        ]
        rows.append(
            [r.task.index, r.task.secret, " / ".join(replies), r.reward, f"{r.advantage:+.3f}"]
        )
    report.table(["task", "secret", "replies (turn 1 / turn 2)", "reward", "LOO advantage"], rows)
    report.table(
        ["kept rollouts", "dropped", "optimiser steps", "mean loss", "clipped ratios", "KL-hat"],
        [
            [
                int(m["kept"]),
                int(m["filtered"]),
                int(m["steps"]),
                f"{m['loss']:.4f}",
                f"{m['clip_frac']:.3f}",
                f"{m['kl_hat']:.4f}",
            ]
        ],
    )
    fig = line_plot(
        {
            "held-out tasks, success of sampled answers": tuple(zip(*curve)),
            "training batch (before its update), mean reward": tuple(zip(*train_curve)),
        },
        "LOOP iteration",
        "success rate",
        title="A tiny random model learns to read the observation",
    )
    report.figure(
        fig,
        "agents_loop_toy",
        f"Success on 16 held-out tasks (4 samples each) rises from {curve[0][1]:.2f} "
        f"(untrained) to {curve[-1][1]:.2f} after 16 iterations: the policy conditions its "
        "second reply on the environment's answer to its first. The 32 training tasks recur "
        "every 4 iterations, so the training reward can also rise by memorising task "
        "indices; held-out tasks can only be solved by reading the observation. The same "
        "recipe over 8 seeds (`bench/agents/toy_learning.py`) does not always succeed.",
    )
