"""How reliably LOOP learns the toy tasks of tests/agents/rl/test_learning.py. Prints JSON.

    nice -n 10 .venv/bin/python bench/agents/toy_learning.py [--seeds 8]

For each seed, the exact recipes of the two learning tests (tiny-random model, one torch
thread): the LoRA bandit (5 iterations, lr 1e-2) and the full-fine-tuning two-turn lookup
(16 iterations, lr 3e-3, success measured on 16 held-out tasks × 4 samples), plus the same
runs with lr = 0 as a control (which must stay where they started). Reports success before
and after per seed and how many seeds pass the tests' thresholds (bandit > 0.85, lookup > 0.75).
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=8)
    args = ap.parse_args()

    import torch

    from simlab.agents.rl.loop import Learner, LoopConfig
    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.rollout import RolloutConfig, collect
    from simlab.agents.rl.toy import BanditEnv, ToyEnv, toy_tasks
    from simlab.agents.rl.trainer import loop_iteration

    torch.set_num_threads(1)

    def success(policy, tasks, make_env, k):
        rc = RolloutConfig(k=k, max_new_tokens=1, max_turns=2, bf16=False, early_stop=False)
        rs, _ = collect(policy, tasks, make_env, rc, torch.Generator().manual_seed(100))
        return sum(r.reward for r in rs) / len(rs)

    def bandit(seed, lr):
        policy = load_policy("tiny-random", lora=True, seed=seed)
        env = BanditEnv(choices=2, target=0)
        before = success(policy, [None] * 4, lambda: env, 16)
        learner = Learner(policy, LoopConfig(lr=lr, bf16=False, minibatch=8), seed=seed)
        rc = RolloutConfig(k=8, max_new_tokens=1, max_turns=1, bf16=False, early_stop=False)
        gen = torch.Generator().manual_seed(seed + 1)
        for it in range(5):
            loop_iteration(policy, learner, [None] * 4, lambda: env, rc, gen, it)
        return before, success(policy, [None] * 4, lambda: env, 16)

    def lookup(seed, lr):
        policy = load_policy("tiny-random", lora=False, seed=seed)
        train, held_out = toy_tasks(32), toy_tasks(16, offset=1000)
        before = success(policy, held_out, ToyEnv, 4)
        learner = Learner(policy, LoopConfig(lr=lr, bf16=False, minibatch=8), seed=seed)
        rc = RolloutConfig(k=4, max_new_tokens=1, max_turns=2, bf16=False, early_stop=False)
        gen = torch.Generator().manual_seed(seed + 1)
        for it in range(16):
            loop_iteration(policy, learner, train[(8 * it) % 32 :][:8], ToyEnv, rc, gen, it)
        return before, success(policy, held_out, ToyEnv, 4)

    t0 = time.perf_counter()
    out: dict = {"seeds": args.seeds}
    recipes = (("bandit_lora", bandit, 1e-2, 0.85), ("lookup_full", lookup, 3e-3, 0.75))
    for name, fn, lr, thr in recipes:
        runs = [fn(s, lr) for s in range(args.seeds)]
        control = [fn(s, 0.0) for s in range(min(3, args.seeds))]
        out[name] = {
            "before": [round(b, 3) for b, _ in runs],
            "after": [round(a, 3) for _, a in runs],
            "seeds_passing": sum(a > thr for _, a in runs),
            "threshold": thr,
            "lr0_control_before_after": [[round(b, 3), round(a, 3)] for b, a in control],
        }
    out["seconds"] = time.perf_counter() - t0
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
