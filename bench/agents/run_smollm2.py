"""LOOP on SmolLM2-135M-Instruct (LoRA) in the API world, within a CPU budget. Prints JSON.

    nice -n 10 .venv/bin/python bench/agents/run_smollm2.py --budget-min 70 --out runs/smollm2

1. Evaluate the untrained policy on the first ``--dev-tasks`` dev tasks (greedy, one run).
2. Train with LOOP (defaults of spec §3.5, lr 5e-5, K = ``--k``) on a fixed subset of
   ``--train-tasks`` difficulty-1 train tasks, ``--tasks-per-iter`` per iteration, until
   ``--iterations`` or the time budget (minus the expected final evaluation) is spent.
3. Evaluate the trained policy on the same dev tasks with the same sampling seed.

Writes ``episodes_before.json`` / ``episodes_after.json`` (every conversation), ``curve.json``
(per-iteration metrics) and ``result.json`` under ``--out``; ``--metrics-only`` recomputes the
behavioural metrics from saved episodes. TGC/SGC are on the evaluated subset only; mean
reward (fraction of tests passed) is reported because TGC of a 135M model is near 0.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path


def episodes_json(rs) -> list[dict]:
    return [
        {
            "task": r.task.id,
            "scenario": r.task.scenario.name,
            "reward": r.reward,
            "success": bool(r.success),
            "messages": r.messages,
            "responses": r.responses,
            "generated_tokens": r.n_llm,
        }
        for r in rs
    ]


def summarise(eps: list[dict]) -> dict:
    from simlab.agents.rl.metrics import behaviour, episode_turns

    n = max(1, len(eps))
    tgc = 100.0 * sum(e["success"] for e in eps) / n
    by: dict[str, list[bool]] = {}
    for e in eps:
        by.setdefault(e["scenario"], []).append(e["success"])
    sgc = 100.0 * sum(all(v) for v in by.values()) / max(1, len(by))
    return {
        "episodes": len(eps),
        "tgc": tgc,
        "sgc": sgc,
        "mean_reward": sum(e["reward"] for e in eps) / n,
        "behaviour": behaviour([episode_turns(e["messages"], e["responses"]) for e in eps]),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--out", default="runs/smollm2")
    ap.add_argument("--budget-min", type=float, default=70.0)
    ap.add_argument("--iterations", type=int, default=10)
    ap.add_argument("--train-tasks", type=int, default=12)
    ap.add_argument("--tasks-per-iter", type=int, default=4)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--dev-tasks", type=int, default=12)
    ap.add_argument("--max-turns", type=int, default=3)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--max-output-tokens", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch threads (0 = torch's default); 1 wastes "
        "less on a box oversubscribed by other jobs",
    )
    ap.add_argument("--metrics-only", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.metrics_only:
        res = json.loads((out / "result.json").read_text())
        for tag in ("before", "after"):
            eps = json.loads((out / f"episodes_{tag}.json").read_text())
            res[tag] = summarise(eps)
        (out / "result.json").write_text(json.dumps(res, indent=1))
        print(json.dumps(res, indent=1))
        return

    import random

    import torch

    from simlab.agents.rl.loop import Learner, LoopConfig
    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.rollout import RolloutConfig, collect
    from simlab.agents.rl.trainer import loop_iteration
    from simlab.agents.rl.world import WorldEnv, world_tasks

    t_start = time.perf_counter()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    policy = load_policy(args.model, lora=True, seed=args.seed)
    tok = policy.chat.tokenizer

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False))

    def make_env():
        return WorldEnv(
            max_turns=args.max_turns, max_output_tokens=args.max_output_tokens, count_tokens=count
        )

    rng = random.Random(args.seed)
    pool = world_tasks("train", seed=0, max_difficulty=1)
    train = rng.sample(pool, min(args.train_tasks, len(pool)))
    dev = world_tasks("dev", seed=0)[: args.dev_tasks]
    common = dict(max_turns=args.max_turns, max_new_tokens=args.max_new_tokens, bf16=True)
    eval_rc = RolloutConfig(k=1, temperature=0.0, early_stop=False, **common)
    train_rc = RolloutConfig(k=args.k, temperature=1.0, **common)

    def evaluate(tag: str) -> tuple[dict, float]:
        t = time.perf_counter()
        rs, st = collect(policy, dev, make_env, eval_rc, torch.Generator().manual_seed(1234))
        eps = episodes_json(rs)
        (out / f"episodes_{tag}.json").write_text(json.dumps(eps))
        s = summarise(eps)
        s["gen_tokens_per_s"] = st.generated_tokens / max(st.seconds, 1e-9)
        s["seconds"] = time.perf_counter() - t
        return s, s["seconds"]

    result: dict = {
        "config": vars(args),
        "train_tasks": [t.id for t in train],
        "dev_tasks": [t.id for t in dev],
        "load_seconds": time.perf_counter() - t_start,
    }
    result["before"], eval_s = evaluate("before")
    print(json.dumps({"before": result["before"]}), flush=True)
    learner = Learner(policy, LoopConfig(lr=args.lr), temperature=1.0, seed=args.seed)
    gen = torch.Generator().manual_seed(args.seed + 17)
    curve = []
    budget = 60 * args.budget_min
    for it in range(args.iterations):
        elapsed = time.perf_counter() - t_start
        per_iter = (elapsed - eval_s) / it if it else 0.0
        if elapsed + per_iter + 1.2 * eval_s > budget:
            break
        tasks = rng.sample(train, min(args.tasks_per_iter, len(train)))
        rs, st, m = loop_iteration(policy, learner, tasks, make_env, train_rc, gen, it)
        rec = {
            "iteration": it + 1,
            "train_reward": sum(r.reward for r in rs) / max(1, len(rs)),
            "train_success": sum(r.success for r in rs) / max(1, len(rs)),
            "rollouts": len(rs),
            "dropped_frac": st.dropped / max(1, st.started),
            "gen_tokens": st.generated_tokens,
            "gen_tokens_per_s": st.generated_tokens / max(st.seconds, 1e-9),
            "collect_seconds": st.seconds,
            "rewards": [r.reward for r in rs],
            **m,
            "elapsed_s": time.perf_counter() - t_start,
        }
        curve.append(rec)
        (out / "curve.json").write_text(json.dumps(curve, indent=1))
        print(json.dumps({k: v for k, v in rec.items() if k != "rewards"}), flush=True)
    torch.save(policy.trainable_state(), out / "lora_final.pt")
    result["after"], _ = evaluate("after")
    result["iterations_done"] = len(curve)
    result["updates_done"] = sum(int(c.get("steps", 0)) for c in curve)
    result["curve"] = [
        {k: c.get(k) for k in ("iteration", "train_reward", "kept", "steps", "loss")} for c in curve
    ]
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["model_param_mb"] = (
        sum(p.numel() * p.element_size() for p in policy.lm.parameters()) / 2**20
    )
    result["total_seconds"] = time.perf_counter() - t_start
    result["loadavg_1min_end"] = os.getloadavg()[0]
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
