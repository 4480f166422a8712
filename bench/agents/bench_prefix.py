"""First-turn cost of a rollout batch in the real world, with and without the shared prefix.

    nice -n 5 .venv/bin/python bench/agents/bench_prefix.py --tasks 2 --k 4 --repeats 2

SmolLM2-135M-Instruct (fp32, 1 thread), ``tasks`` difficulty-1 train tasks × ``k`` rows in one
batch, one greedy turn of ``new_tokens`` tokens (``RolloutConfig.share_prefix`` off / on,
alternating). Prints one JSON line per run (seconds, prefill tokens fed, generated tokens)
and whether both give the same token ids.
"""

from __future__ import annotations

import argparse
import json
import os
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--new-tokens", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    import torch

    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.rollout import RolloutConfig, collect
    from simlab.agents.rl.world import WorldEnv, world_tasks

    torch.set_num_threads(1)
    policy = load_policy(args.model, lora=True, seed=0)
    tok = policy.chat.tokenizer
    tasks = world_tasks("train", seed=0, max_difficulty=1)[:: 30 // max(1, args.tasks)]
    tasks = tasks[: args.tasks]

    def make_env():
        return WorldEnv(count_tokens=lambda s: len(tok.encode(s, add_special_tokens=False)))

    ids = {}
    for rep in range(args.repeats):
        for share in (False, True):
            cfg = RolloutConfig(
                k=args.k, temperature=0.0, max_turns=1, max_new_tokens=args.new_tokens,
                bf16=False, early_stop=False, share_prefix=share,
            )  # fmt: skip
            t0 = time.perf_counter()
            rs, st = collect(policy, tasks, make_env, cfg, torch.Generator().manual_seed(0))
            dt = time.perf_counter() - t0
            ids[share] = [r.ids for r in rs]
            rec = dict(share_prefix=share, repeat=rep, seconds=round(dt, 2),
                       prefill_tokens=st.prefill_tokens, generated_tokens=st.generated_tokens,
                       rows=len(rs), loadavg_1min=os.getloadavg()[0])  # fmt: skip
            print(json.dumps(rec), flush=True)
    print(json.dumps({"same_ids": ids[False] == ids[True]}))


if __name__ == "__main__":
    main()
