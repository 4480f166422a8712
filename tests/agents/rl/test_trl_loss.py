"""LOOP's per-token clipped loss equals TRL's GRPO loss when TRL is configured like LOOP.

An independent implementation as oracle (bench/agents/bench_trl.py relies on this equivalence):
TRL ``GRPOTrainer.compute_loss`` with ``beta=0``, ``loss_type="grpo"``, token-level ratios and
the clip range [1/(1+ε), 1+ε] (``epsilon=1-1/(1+ε)``, ``epsilon_high=ε``), against
``simlab.agents.rl.loop.surrogate_loss`` averaged over the trajectories, on one hand-made batch
of a tiny random LoRA model: left-padded prompts of different lengths, right-padded completions
with environment tokens masked out (TRL's ``tool_mask`` = our ``llm_mask``), and old log-probs
set so the ratios straddle both clip bounds for positive and negative advantages. Loss values
and LoRA gradients must agree. CI does not install TRL, so the test is skipped there.
"""

import math

import pytest
import torch

trl = pytest.importorskip("trl")

from simlab.agents.rl.loop import surrogate_loss, token_logprobs  # noqa: E402
from simlab.agents.rl.models import load_policy  # noqa: E402

EPS = 0.1


def _trainer(policy, tmp_path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    tok = policy.chat.tokenizer
    tok.padding_side = "left"
    cfg = GRPOConfig(
        output_dir=str(tmp_path),
        report_to="none",
        use_cpu=True,
        bf16=False,
        gradient_checkpointing=False,
        per_device_train_batch_size=4,
        num_generations=2,
        beta=0.0,
        loss_type="grpo",
        scale_rewards="none",
        importance_sampling_level="token",
        epsilon=1.0 - 1.0 / (1.0 + EPS),
        epsilon_high=EPS,
    )
    data = Dataset.from_dict({"prompt": ["a", "b"]})
    return GRPOTrainer(
        model=policy.model,
        reward_funcs=lambda prompts, completions, **kw: [0.0] * len(prompts),
        args=cfg,
        train_dataset=data,
        processing_class=tok,
    )


def test_loop_token_loss_equals_trl_grpo_loss(tmp_path):
    torch.manual_seed(0)
    policy = load_policy("tiny-random", lora=True, seed=0)
    with torch.no_grad():  # non-zero adapters, so the LoRA gradients are not degenerate
        for name, p in policy.model.named_parameters():
            if "lora_B" in name:
                p.normal_(0.0, 0.05)
    trainer = _trainer(policy, tmp_path)
    model = trainer.model
    model.eval()  # eval: TRL divides by no accumulation steps, and dropout is off
    vocab = policy.lm.config.vocab_size
    g = torch.Generator().manual_seed(1)
    # (prompt length, completion length, environment span inside the completion)
    shapes = [(5, 7, (2, 4)), (3, 9, (3, 6)), (6, 4, None)]
    adv = torch.tensor([1.5, -0.7, 0.4])
    ratios = torch.tensor([0.8, 0.905, 1.0, 1.05, 1.3, 0.88, 1.12, 1.09, 0.92])
    P = max(s[0] for s in shapes)
    C = max(s[1] for s in shapes)
    B = len(shapes)
    prompt_ids = torch.full((B, P), policy.chat.pad_id, dtype=torch.long)
    prompt_mask = torch.zeros((B, P), dtype=torch.long)
    comp_ids = torch.full((B, C), policy.chat.pad_id, dtype=torch.long)
    comp_mask = torch.zeros((B, C), dtype=torch.long)
    tool_mask = torch.ones((B, C), dtype=torch.long)
    old = torch.zeros((B, C))
    ours = []  # per trajectory: (ids, positions of LLM tokens, old log-probs)
    for b, (p, c, env) in enumerate(shapes):
        pr = torch.randint(3, vocab, (p,), generator=g)
        co = torch.randint(3, vocab, (c,), generator=g)
        prompt_ids[b, P - p :], prompt_mask[b, P - p :] = pr, 1
        comp_ids[b, :c], comp_mask[b, :c] = co, 1
        llm = torch.ones(c, dtype=torch.bool)
        if env is not None:
            llm[env[0] : env[1]] = False
            tool_mask[b, env[0] : env[1]] = 0
        ids = torch.cat([pr, co])
        pos = p + llm.nonzero()[:, 0]
        with torch.no_grad():
            lp = token_logprobs(policy.lm, ids, pos)
        r = ratios[: len(pos)]
        old_b = lp - torch.log(r)  # ratio at the current weights = r
        old[b, llm.nonzero()[:, 0]] = old_b
        ours.append((ids, pos, old_b))
    inputs = {
        "prompt_ids": prompt_ids,
        "prompt_mask": prompt_mask,
        "completion_ids": comp_ids,
        "completion_mask": comp_mask,
        "tool_mask": tool_mask,
        "advantages": adv,
        "old_per_token_logps": old,
        "num_items_in_batch": (comp_mask * tool_mask).sum(),
    }
    params = [p for p in model.parameters() if p.requires_grad]

    model.zero_grad(set_to_none=True)
    trl_loss = trainer.compute_loss(model, inputs)
    trl_loss.backward()
    trl_grads = [p.grad.clone() for p in params]

    model.zero_grad(set_to_none=True)
    total = 0.0
    clipped_any = 0.0
    for (ids, pos, old_b), a in zip(ours, adv.tolist()):
        lp = token_logprobs(policy.lm, ids, pos)
        loss, clipped = surrogate_loss(lp, old_b, a, eps=EPS)
        (loss / B).backward()
        total += float(loss.detach()) / B
        clipped_any += float(clipped)
    our_grads = [p.grad.clone() for p in params]

    assert clipped_any > 0  # the batch exercises the clip on both sides
    assert math.isfinite(total) and abs(total) > 1e-3
    assert float(trl_loss) == pytest.approx(total, rel=1e-4, abs=1e-6)
    num = sum(float((a - b).norm() ** 2) for a, b in zip(trl_grads, our_grads)) ** 0.5
    den = sum(float(b.norm() ** 2) for b in our_grads) ** 0.5
    assert den > 0
    assert num / den < 1e-4
