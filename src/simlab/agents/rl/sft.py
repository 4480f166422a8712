"""Supervised warm start on ground-truth conversations (spec §2.8 "SFT baselines", [P] App. C.1).

A small model that never writes ``apis.<app>.<api>`` calls gets reward-equal groups, so LOOP's
leave-one-out advantages vanish. A short SFT on *train* tasks' ground truths gives it the API
habits; LOOP then starts from a policy whose K rollouts sometimes, not always, succeed.

Token layout and loss mask match the rollouts of ``rollout.py`` exactly, so SFT trains the same
tokens LOOP would: non-assistant messages are rendered per message in ChatML (mask 0); an
assistant message is ``<|im_start|>assistant\\n`` (mask 0), its content encoded on its own, as the
sampler would emit it, then ``<|im_end|>`` (mask 1, the stop token a sampler emits) and the
template's newline (mask 0). The loss is the mean negative log-likelihood over masked tokens of
a minibatch (token-weighted), computed per conversation without padding.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from simlab.agents.rl.loop import token_logprobs
from simlab.agents.rl.models import ChatFormat, Policy
from simlab.agents.rl.rollout import autocast

__all__ = ["SftConfig", "ground_truth_conversation", "sft_example", "sft_loss", "sft_train"]


@dataclass(frozen=True)
class SftConfig:
    lr: float = 3e-4  # LoRA adapters; a warm start, not the paper's RL learning rate
    weight_decay: float = 0.0
    epochs: int = 1
    minibatch: int = 4  # conversations per optimiser step
    max_grad_norm: float = 1.0
    max_seq_len: int = 8192
    bf16: bool = True
    seed: int = 0

    def __post_init__(self):
        if self.epochs < 1 or self.minibatch < 1:
            raise ValueError("epochs and minibatch must be >= 1")
        if not self.lr > 0:
            raise ValueError("lr must be > 0")


def sft_example(
    chat: ChatFormat, messages: Sequence[dict[str, str]]
) -> tuple[list[int], list[bool]]:
    """Ids [L] and loss mask [L] (True = assistant token that gets gradient) of a conversation.

    ``messages``: ``{"role", "content"}`` dicts; at least one must be ``assistant``.
    """
    ids: list[int] = []
    mask: list[bool] = []
    for i, m in enumerate(messages):
        role, content = m.get("role"), m.get("content")
        if not isinstance(role, str) or not isinstance(content, str):
            raise ValueError(f"message {i}: needs string 'role' and 'content', got {m!r}")
        if role == "assistant":
            body = [*chat.encode(content), chat.end_id]
            ids += chat.assistant_prefix + body + chat.newline
            mask += [False] * len(chat.assistant_prefix) + [True] * len(body)
            mask += [False] * len(chat.newline)
        else:
            part = chat.message(role, content)
            ids += part
            mask += [False] * len(part)
    if not any(mask):
        raise ValueError("conversation has no assistant message to train on")
    return ids, mask


def sft_loss(lm, ids: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed NLL (nats) over positions where ``mask`` [L] is true, and their count.

    ``ids`` [L] long. Position 0 has no prediction and is never trained.
    """
    m = mask.clone()
    m[0] = False
    pos = m.nonzero()[:, 0]
    lp = token_logprobs(lm, ids, pos)
    return -lp.sum(), int(pos.numel())


def sft_train(
    policy: Policy,
    conversations: Sequence[Sequence[dict[str, str]]],
    cfg: SftConfig = SftConfig(),
    log=None,
) -> dict[str, float | list[float]]:
    """Fine-tune the policy's trainable weights on ``conversations`` (assistant tokens only).

    One unpadded forward/backward per conversation; each minibatch's loss is the token mean over
    its assistant tokens. ``log(step, metrics)`` is called after every optimiser step if given.
    Returns per-step losses (nats/token), trained tokens (all positions forwarded) per second,
    steps and seconds.
    """
    if not conversations:
        raise ValueError("sft_train needs at least one conversation")
    examples = []
    for c in conversations:
        ids, mask = sft_example(policy.chat, c)
        n = min(len(ids), cfg.max_seq_len)
        examples.append(
            (torch.tensor(ids[:n], dtype=torch.long), torch.tensor(mask[:n], dtype=torch.bool))
        )
    params = policy.trainable_parameters()
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    rng = random.Random(cfg.seed)
    policy.model.eval()  # no dropout: LoRA dropout is 0 anyway; matches LOOP's updates
    losses: list[float] = []
    tokens, t0, step = 0, time.perf_counter(), 0
    for _ in range(cfg.epochs):
        order = list(range(len(examples)))
        rng.shuffle(order)
        for lo in range(0, len(order), cfg.minibatch):
            mb = [examples[i] for i in order[lo : lo + cfg.minibatch]]
            n_tok = sum(int(m[1:].sum()) for _, m in mb)
            if n_tok == 0:
                continue
            opt.zero_grad(set_to_none=True)
            total = 0.0
            for ids, mask in mb:
                with autocast(cfg.bf16):
                    nll, _ = sft_loss(policy.lm, ids, mask)
                (nll / n_tok).backward()
                total += float(nll.detach())
                tokens += len(ids)
            if not math.isfinite(total):
                continue
            torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            opt.step()
            step += 1
            losses.append(total / n_tok)
            if log is not None:
                log(step, {"loss": losses[-1], "seconds": time.perf_counter() - t0})
    opt.zero_grad(set_to_none=True)
    dt = time.perf_counter() - t0
    return {
        "losses": losses,
        "steps": float(step),
        "seconds": dt,
        "tokens_per_s": tokens / dt if dt > 0 else float("nan"),
    }


def ground_truth_conversation(task, **env_kwargs) -> list[dict[str, str]]:
    """The task's ground truth played in the world (one assistant turn per top-level statement)
    with the environment's *real* observations, as rollouts see them (output + task reminder);
    the observation after ``complete_task`` is dropped. Raises if the ground truth fails.

    ``episodes.sft_conversation`` is the paper's variant with every observation replaced by
    ``Execution successful.``; real observations match what the policy conditions on in LOOP.
    """
    from simlab.agents.episodes import run_episode, scripted_agent

    ep = run_episode(scripted_agent(task), task, **env_kwargs)
    if not ep.success:
        raise ValueError(f"task {task.id}: ground truth did not succeed ({ep.evaluation})")
    return ep.messages[:-1]
