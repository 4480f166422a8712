"""LOOP throughput and memory on SmolLM2-135M-Instruct (CPU). Prints one JSON object.

    .venv/bin/python bench/agents/bench_loop.py [--model smollm2-135m] [--kl]

Measures, on the scripted two-turn toy environment (simlab.agents.rl.toy):
* load time (first load dequantises the GGUF and caches safetensors; later loads read the copy);
* rollout generation: sampled tokens per second for K rollouts of a few tasks in one batch
  (bf16 autocast, KV cache across turns);
* update: sequence tokens (forward + backward) per second of LOOP's update, LoRA r=16;
* peak RSS (ru_maxrss) and the model's own parameter bytes; with --kl, the extra RSS of a
  KL-to-reference run with full fine-tuning (a frozen second copy) versus LoRA (adapters off).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--k", type=int, default=6)
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--new-tokens", type=int, default=48)
    ap.add_argument("--kl", action="store_true", help="also measure KL-to-reference memory")
    args = ap.parse_args()

    import torch

    from simlab.agents.rl.loop import Learner, LoopConfig, assign_advantages
    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.rollout import RolloutConfig, collect
    from simlab.agents.rl.toy import ToyEnv, toy_tasks

    out: dict = {
        "model": args.model,
        "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(),
        "rss_start_mb": rss_mb(),
    }
    t = time.perf_counter()
    policy = load_policy(args.model, lora=True)
    out["load_seconds"] = time.perf_counter() - t
    out["rss_after_load_mb"] = rss_mb()
    out["model_param_mb"] = (
        sum(p.numel() * p.element_size() for p in policy.lm.parameters()) / 2**20
    )
    out["trainable_params"] = sum(p.numel() for p in policy.trainable_parameters())

    rc = RolloutConfig(k=args.k, max_new_tokens=args.new_tokens, max_turns=2, bf16=True)
    gen = torch.Generator().manual_seed(0)
    rs, st = collect(policy, toy_tasks(args.tasks), lambda: ToyEnv(), rc, gen)
    out["rollouts"] = len(rs)
    out["gen_tokens"] = st.generated_tokens
    out["prefill_tokens"] = st.prefill_tokens
    out["collect_seconds"] = st.seconds
    out["gen_tokens_per_s"] = st.generated_tokens / st.seconds
    out["rss_after_collect_mb"] = rss_mb()

    for i, r in enumerate(rs):  # a non-degenerate advantage for every rollout
        r.reward = float(i % 2)
    cfg = LoopConfig(epochs=1, minibatch=4)
    assign_advantages(rs, cfg)
    learner = Learner(policy, cfg)
    m = learner.update(rs, 0)
    out["update_seconds"] = m["update_seconds"]
    out["update_seq_tokens"] = sum(len(r.ids) for r in rs)
    out["update_tokens_per_s"] = m["update_tokens_per_s"]
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    if args.kl:
        # KL with LoRA: reference = adapters disabled (no copy). Full FT: frozen deep copy.
        before = rss_mb()
        Learner(policy, LoopConfig(kl_coef=0.05))
        out["kl_lora_extra_mb"] = rss_mb() - before
        full = load_policy(args.model, lora=False)
        before = rss_mb()
        ref_learner = Learner(full, LoopConfig(kl_coef=0.05, lr=0.0))
        out["kl_full_ft_reference_extra_mb"] = rss_mb() - before
        del ref_learner
        out["peak_rss_mb_with_kl"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out["loadavg_1min"] = os.getloadavg()[0]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
