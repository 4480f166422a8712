"""Where TRL's GRPO update spends its extra time on CPU: one trajectory, forward + backward.

    nice -n 10 .venv/bin/python bench/agents/diag_trl_update.py [--prompt 680 --completion 240
        --llm 128 --reps 3]

SmolLM2-135M-Instruct, fp32, LoRA r = 16, one thread. One sequence shaped like a
bench_trl.py trajectory (prompt, completion with ``--llm`` sampled tokens in two turns and
environment tokens between them), random ids. Timed, alternating, after one warm-up each:

* ``ours``: ``simlab.agents.rl.loop.token_logprobs`` (decoder forward, LM head on the LLM
  positions only), loss = −mean log-prob, backward;
* ``trl``: the model patched with ``trl.trainer.utils.add_fused_lm_head`` (outputs log-probs and
  entropy, as GRPOTrainer does) called as GRPOTrainer calls it (attention mask, labels = the
  completion, ``fused_lm_head=True``), loss = −mean log-prob over the LLM positions, backward.
  Without Triton (CPU), TRL's fused head scores every position of the sequence;
* ``backbone``: the decoder alone (sum of the last hidden state), backward.

Prints one JSON: median seconds per variant and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--prompt", type=int, default=680)
    ap.add_argument("--completion", type=int, default=240)
    ap.add_argument("--llm", type=int, default=128, help="sampled tokens in the completion")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()

    import torch
    from trl.trainer.utils import add_fused_lm_head

    from simlab.agents.rl.loop import token_logprobs
    from simlab.agents.rl.models import load_policy

    torch.set_num_threads(args.threads)
    policy = load_policy("smollm2-135m", lora=True, seed=0)
    lm = policy.lm
    add_fused_lm_head(lm, outputs=("log_probs", "entropy"))
    model = policy.model
    model.eval()
    g = torch.Generator().manual_seed(0)
    p, c = args.prompt, args.completion
    ids = torch.randint(3, lm.config.vocab_size, (p + c,), generator=g)
    half = args.llm // 2
    llm = torch.zeros(c, dtype=torch.bool)  # turn 1, environment tokens, turn 2
    llm[:half] = True
    llm[c - (args.llm - half) :] = True
    pos = p + llm.nonzero()[:, 0]
    labels = ids[None].clone()
    labels[:, :p] = -100
    params = [q for q in model.parameters() if q.requires_grad]

    def ours():
        lp = token_logprobs(lm, ids, pos)
        (-lp.mean()).backward()

    def trl():
        out = model(
            input_ids=ids[None],
            attention_mask=torch.ones_like(ids)[None],
            labels=labels,
            fused_lm_head=True,
        )
        lp = out.log_probs[0, -c:][llm]
        (-lp.mean()).backward()

    def backbone():
        h = lm.get_decoder()(input_ids=ids[None]).last_hidden_state
        h.sum().backward()

    fns = {"ours": ours, "trl": trl, "backbone": backbone}
    times: dict[str, list[float]] = {k: [] for k in fns}
    for rep in range(args.reps + 1):
        for name, fn in fns.items():
            for q in params:
                q.grad = None
            t = time.perf_counter()
            fn()
            dt = time.perf_counter() - t
            if rep:  # rep 0 is the warm-up
                times[name].append(dt)
    print(
        json.dumps(
            {
                "shape": {"prompt": p, "completion": c, "llm_tokens": args.llm},
                "median_s": {k: statistics.median(v) for k, v in times.items()},
                "all_s": times,
                "threads": torch.get_num_threads(),
                "loadavg_1min": os.getloadavg()[0],
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()
