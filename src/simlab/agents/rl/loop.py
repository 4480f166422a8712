"""LOOP's update (spec §3.3–3.5, §3.7): advantages, filtering, clipped surrogate, optimiser steps.

One code path serves LOOP and its ablations:

* advantages: leave-one-out ``A_k = K/(K-1)·(R_k − mean R)`` (``baseline="loo"``) or ``R − mean``
  (``"mean"``), optionally divided by the group's population std (``adv_std_norm``); a learned
  critic (``critic=True``) replaces them by per-token ``A_t = R − clip(V_t, 0, 1)``;
* importance weights per ``token`` / ``turn`` / ``trajectory`` (``importance_level``), clipped to
  ``[1/(1+ε), 1+ε]`` (``clip_mode="asymmetric"``) or ``[1−ε, 1+ε]``; ``ppo_clip=False`` gives
  REINFORCE ``−A·mean_t ℓ_t``;
* ``strictly_on_policy``: one epoch, one optimiser step over all kept rollouts;
* ``kl_coef > 0``: ``+β·mean_t[exp(ℓref−ℓ) − (ℓref−ℓ) − 1]`` to a frozen reference (LoRA: the
  base with adapters disabled, no extra copy; full fine-tuning: a frozen deep copy).

Shapes: per trajectory, ``n`` = number of LLM tokens (``llm_mask`` true, after truncation to
``max_seq_len``); log-probs are fp32 ``[n]``. Losses are per trajectory and divided by the
configured minibatch size M (gradient accumulation, one unpadded forward per trajectory).
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch

from simlab.agents.rl.models import Policy
from simlab.agents.rl.rollout import Rollout, autocast

__all__ = [
    "PRESETS",
    "Critic",
    "Learner",
    "LoopConfig",
    "assign_advantages",
    "clip_range",
    "group_advantages",
    "preset",
    "surrogate_loss",
    "token_logprobs",
]


@dataclass(frozen=True)
class LoopConfig:
    """Update hyper-parameters (defaults: spec §3.5 ``cpu-smoke``) and ablation switches (§3.7)."""

    lr: float = 5e-5
    weight_decay: float = 0.01
    epochs: int = 2
    minibatch: int = 8  # M trajectories per optimiser step
    clip_eps: float = 0.1
    clip_mode: Literal["asymmetric", "symmetric"] = "asymmetric"
    adv_min: float = 0.01  # drop rollouts with |A| below this
    max_grad_norm: float = 1.0
    max_seq_len: int = 8192  # loss truncation
    kl_guard: float = 20.0  # skip the step and end the iteration if |KL-hat| exceeds this
    bf16: bool = True  # autocast for old log-probs and training
    importance_level: Literal["token", "turn", "trajectory"] = "token"
    strictly_on_policy: bool = False
    adv_std_norm: bool = False
    baseline: Literal["loo", "mean"] = "loo"
    ppo_clip: bool = True
    kl_coef: float = 0.0
    critic: bool = False
    critic_lr: float = 1e-4
    critic_l2_start: float = 0.1
    critic_l2_end: float = 0.001
    critic_l2_iters: int = 200
    critic_warmup_iters: int = 10

    def __post_init__(self):
        if self.minibatch < 1 or self.epochs < 1:
            raise ValueError("minibatch and epochs must be >= 1")
        if not self.clip_eps > 0:
            raise ValueError("clip_eps must be > 0")
        if self.critic and self.importance_level != "token":
            raise ValueError("critic needs importance_level='token' (per-token advantages)")


PRESETS: dict[str, dict] = {
    "loop": {},
    "loop_turn": {"importance_level": "turn"},
    "loop_bandit": {"importance_level": "trajectory"},
    "loop_rwnorm": {"adv_std_norm": True},
    "rloo": {"importance_level": "trajectory", "strictly_on_policy": True},
    "grpo": {"strictly_on_policy": True, "adv_std_norm": True, "kl_coef": 0.05},
    "grpo_no_kl": {"strictly_on_policy": True, "adv_std_norm": True},
    "ppo_critic": {"critic": True},
}


def preset(name: str, **overrides) -> LoopConfig:
    """A named preset of §3.7 (``kl_coef`` of ``grpo`` is our choice, 0.05: β is unreported)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r} (valid: {', '.join(PRESETS)})")
    return LoopConfig(**{**PRESETS[name], **overrides})


# ----------------------------------------------------------------------------- advantages


def group_advantages(
    rewards: torch.Tensor, baseline: str = "loo", std_norm: bool = False
) -> torch.Tensor:
    """Advantages of one group of K' rewards [K'] (fp64 inside). K' = 1 gives 0."""
    r = rewards.double()
    k = r.numel()
    if k < 2:
        return torch.zeros_like(r)
    a = r - r.mean()
    if baseline == "loo":
        a = a * (k / (k - 1))  # = R_k − mean of the others
    elif baseline != "mean":
        raise ValueError(f"unknown baseline {baseline!r}")
    if std_norm:
        a = a / max(float(r.std(unbiased=False)), 1e-7)
    return a


def assign_advantages(rollouts: Sequence[Rollout], cfg: LoopConfig) -> None:
    """Set ``r.advantage`` per task group (groups by ``r.group``; K' = rollouts kept)."""
    groups: dict[int, list[Rollout]] = {}
    for r in rollouts:
        groups.setdefault(r.group, []).append(r)
    for rs in groups.values():
        a = group_advantages(torch.tensor([r.reward for r in rs]), cfg.baseline, cfg.adv_std_norm)
        for r, ak in zip(rs, a.tolist()):
            r.advantage = ak


# ----------------------------------------------------------------------------- log-probs


def clip_range(eps: float, mode: str = "asymmetric") -> tuple[float, float]:
    if mode == "asymmetric":
        return 1.0 / (1.0 + eps), 1.0 + eps
    if mode == "symmetric":
        return 1.0 - eps, 1.0 + eps
    raise ValueError(f"unknown clip_mode {mode!r}")


def token_logprobs(
    lm, ids: torch.Tensor, positions: torch.Tensor, temperature: float = 1.0, hidden: bool = False
):
    """log p(ids[t] | ids[:t]) at ``positions`` [n] (all ≥ 1) of one sequence ``ids`` [L].

    One unpadded forward through the decoder; the LM head runs only on the n rows that predict
    the LLM tokens (a full [L, vocab] logits tensor is never built). Returns fp32 [n], and with
    ``hidden`` also the final hidden states [n, d] that predict them.
    """
    h = lm.get_decoder()(input_ids=ids[None]).last_hidden_state[0]  # [L, d]
    h = h[positions - 1]
    logits = lm.get_output_embeddings()(h).float()
    if temperature not in (0.0, 1.0):
        logits = logits / temperature
    lp = torch.log_softmax(logits, dim=-1).gather(1, ids[positions][:, None])[:, 0]
    return (lp, h) if hidden else lp


def surrogate_loss(
    lp: torch.Tensor,
    old_lp: torch.Tensor,
    adv: torch.Tensor | float,
    *,
    eps: float = 0.1,
    clip_mode: str = "asymmetric",
    level: str = "token",
    turn_index: torch.Tensor | None = None,
    ppo_clip: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One trajectory's policy loss and the fraction of clipped ratios.

    ``lp``, ``old_lp``: [n] log-probs of its LLM tokens (current, old); ``adv``: a scalar or
    per-token [n] advantages; ``turn_index``: [n] turn of each token (level ``turn``).

    * token: ``−(1/n) Σ_t min(r_t A, clip(r_t) A)``, ``r_t = exp(ℓ_t − ℓ°_t)``
    * turn: ``−mean_j min(r_j A, clip(r_j) A)``, ``r_j = exp(Σ_{t∈j}(ℓ_t − ℓ°_t))``
    * trajectory: ``−min(r A, clip(r) A)``, ``r = exp(Σ_t(ℓ_t − ℓ°_t))`` (no length normalisation)
    * ``ppo_clip=False``: REINFORCE ``−A · mean_t ℓ_t`` (per-token A allowed)
    """
    adv = torch.as_tensor(adv, dtype=lp.dtype)
    if not ppo_clip:
        return -(adv * lp).mean(), lp.new_zeros(())
    lo, hi = clip_range(eps, clip_mode)
    diff = lp - old_lp
    if level == "token":
        logr = diff
    elif level == "turn":
        if turn_index is None:
            raise ValueError("level='turn' needs turn_index")
        n_turns = int(turn_index.max()) + 1
        logr = torch.zeros(n_turns, dtype=lp.dtype).index_add(0, turn_index, diff)
        # Empty turns (no LLM token) cannot occur: every turn samples at least one token.
    elif level == "trajectory":
        logr = diff.sum()[None]
    else:
        raise ValueError(f"unknown importance level {level!r}")
    if adv.ndim and level != "token":
        raise ValueError("per-token advantages need level='token'")
    ratio = torch.exp(logr)
    obj = torch.minimum(ratio * adv, ratio.clamp(lo, hi) * adv)
    clipped = ((ratio < lo) | (ratio > hi)).float().mean()
    return -obj.mean(), clipped


# ----------------------------------------------------------------------------- critic


class Critic(torch.nn.Module):
    """ReLU MLP d → 0.6d → 0.4d → 1 on the detached last hidden state (spec §3.7)."""

    def __init__(self, d: int):
        super().__init__()
        h1, h2 = max(1, round(0.6 * d)), max(1, round(0.4 * d))
        self.net = torch.nn.Sequential(
            torch.nn.Linear(d, h1),
            torch.nn.ReLU(),
            torch.nn.Linear(h1, h2),
            torch.nn.ReLU(),
            torch.nn.Linear(h2, 1),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.net(h.float())[..., 0]


# ----------------------------------------------------------------------------- learner


@dataclass
class _Item:
    rollout: Rollout
    ids: torch.Tensor  # [L] (truncated)
    pos: torch.Tensor  # [n] positions of LLM tokens (≥ 1)
    turn: torch.Tensor  # [n] turn index of each
    old_lp: torch.Tensor | None = None  # [n]
    ref_lp: torch.Tensor | None = None  # [n]


class Learner:
    """Holds the optimiser (state persists across iterations), optional reference and critic."""

    def __init__(self, policy: Policy, cfg: LoopConfig, temperature: float = 1.0, seed: int = 0):
        self.policy, self.cfg, self.temperature = policy, cfg, temperature
        self.params = policy.trainable_parameters()
        if not self.params:
            raise ValueError("the policy has no trainable parameters")
        self.opt = torch.optim.AdamW(self.params, lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.gen = torch.Generator().manual_seed(seed)
        self.ref = None
        if cfg.kl_coef > 0 and not policy.lora:
            # Full fine-tuning: the reference is a second, frozen copy of the model.
            self.ref = copy.deepcopy(policy.lm).eval().requires_grad_(False)
        self.critic = None
        if cfg.critic:
            self.critic = Critic(policy.lm.config.hidden_size)
            self.critic_opt = torch.optim.AdamW(
                self.critic.parameters(), lr=cfg.critic_lr, weight_decay=0.0
            )

    # -- state for checkpoints
    def state_dict(self) -> dict:
        out = {
            "policy": self.policy.trainable_state(),
            "opt": self.opt.state_dict(),
            "gen": self.gen.get_state(),
        }
        if self.critic is not None:
            out["critic"] = self.critic.state_dict()
            out["critic_opt"] = self.critic_opt.state_dict()
        return out

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_trainable_state(state["policy"])
        self.opt.load_state_dict(state["opt"])
        self.gen.set_state(state["gen"])
        if self.critic is not None:
            self.critic.load_state_dict(state["critic"])
            self.critic_opt.load_state_dict(state["critic_opt"])

    # -- pieces
    def _item(self, r: Rollout) -> _Item | None:
        n = min(len(r.ids), self.cfg.max_seq_len)
        mask = torch.tensor(r.llm_mask[:n], dtype=torch.bool)
        mask[0] = False  # the first token has no prediction
        pos = mask.nonzero()[:, 0]
        if pos.numel() == 0:
            return None
        turn = torch.zeros(len(r.ids), dtype=torch.long)
        for j, (a, b) in enumerate(r.turns):
            turn[a:b] = j
        return _Item(r, torch.tensor(r.ids[:n], dtype=torch.long), pos, turn[pos])

    def _logprobs(self, lm, it: _Item, hidden: bool = False):
        with autocast(self.cfg.bf16):
            return token_logprobs(lm, it.ids, it.pos, self.temperature, hidden=hidden)

    @torch.no_grad()
    def _prepare(self, items: list[_Item]) -> None:
        """Recompute old log-probs (and reference log-probs) with the current weights."""
        for it in items:
            it.old_lp = self._logprobs(self.policy.lm, it).detach()
            if self.cfg.kl_coef > 0:
                if self.ref is not None:
                    it.ref_lp = self._logprobs(self.ref, it).detach()
                else:
                    with self.policy.reference():
                        it.ref_lp = self._logprobs(self.policy.lm, it).detach()

    def critic_l2(self, iteration: int) -> float:
        c = self.cfg
        f = min(1.0, iteration / max(1, c.critic_l2_iters))
        return c.critic_l2_start + f * (c.critic_l2_end - c.critic_l2_start)

    def update(self, rollouts: Sequence[Rollout], iteration: int = 0) -> dict[str, float]:
        """Algorithm 1's inner loop on one iteration's rollouts (advantages must be assigned).

        Returns metrics: kept/dropped counts, mean loss, clip fraction, KL-hat, grad norm, steps,
        trained tokens per second.
        """
        cfg = self.cfg
        t0 = time.perf_counter()
        if self.critic is None:
            kept = [r for r in rollouts if abs(r.advantage) >= cfg.adv_min]
        else:
            kept = list(rollouts)
        items = [it for it in map(self._item, kept) if it is not None]
        info = {"kept": float(len(items)), "filtered": float(len(rollouts) - len(items))}
        if not items:
            return {**info, "steps": 0.0, "skipped": 1.0}
        # The model stays in eval mode (dropout off) so sampling, old log-probs and the
        # ratios agree; gradients flow regardless.
        self.policy.model.eval()
        self._prepare(items)
        warmup = self.critic is not None and iteration < cfg.critic_warmup_iters
        if cfg.strictly_on_policy:
            epochs, size, divisor = 1, len(items), len(items)
        else:
            epochs, size, divisor = cfg.epochs, cfg.minibatch, cfg.minibatch
        losses, clips, kls, norms, tokens = [], [], [], [], 0
        steps, stop = 0, False
        for _ in range(epochs):
            order = torch.randperm(len(items), generator=self.gen).tolist()
            for lo in range(0, len(order), size):
                mb = [items[i] for i in order[lo : lo + size]]
                loss_sum, kl_hat, clip_sum = 0.0, 0.0, 0.0
                self.opt.zero_grad(set_to_none=True)
                if self.critic is not None:
                    self.critic_opt.zero_grad(set_to_none=True)
                for it in mb:
                    lp, h = self._logprobs(self.policy.lm, it, hidden=True)
                    adv: torch.Tensor | float = it.rollout.advantage
                    if self.critic is not None:
                        v = self.critic(h.detach())
                        ret = torch.full_like(v, it.rollout.reward)
                        closs = ((v - ret) ** 2).mean() / divisor
                        closs.backward()
                        adv = ret - v.detach().clamp(0.0, 1.0)
                    loss, clipped = surrogate_loss(
                        lp,
                        it.old_lp,
                        adv,
                        eps=cfg.clip_eps,
                        clip_mode=cfg.clip_mode,
                        level=cfg.importance_level,
                        turn_index=it.turn,
                        ppo_clip=cfg.ppo_clip,
                    )
                    if cfg.kl_coef > 0:
                        d = it.ref_lp - lp
                        loss = loss + cfg.kl_coef * (torch.exp(d) - d - 1).mean()
                    if not warmup:
                        (loss / divisor).backward()
                    loss_sum += float(loss.detach())
                    clip_sum += float(clipped)
                    kl_hat += float(-(lp.detach() - it.old_lp).sum())
                    tokens += len(it.ids)
                kl_hat /= len(mb)
                kls.append(kl_hat)
                if self.critic is not None:
                    with torch.no_grad():
                        l2 = self.critic_l2(iteration)
                        for p in self.critic.parameters():
                            if p.grad is not None:
                                p.grad.add_(p, alpha=2 * l2)
                    self.critic_opt.step()
                if warmup:
                    continue
                if not math.isfinite(loss_sum):
                    continue  # NaN loss: skip this step
                if abs(kl_hat) > cfg.kl_guard:
                    stop = True  # the policy moved too far: end this iteration's updates
                    break
                norm = torch.nn.utils.clip_grad_norm_(self.params, cfg.max_grad_norm)
                self.opt.step()
                steps += 1
                losses.append(loss_sum / len(mb))
                clips.append(clip_sum / len(mb))
                norms.append(float(norm))
            if stop:
                break
        self.opt.zero_grad(set_to_none=True)
        self.policy.model.eval()
        dt = time.perf_counter() - t0

        def mean(x):
            return sum(x) / len(x) if x else float("nan")

        return {
            **info,
            "steps": float(steps),
            "loss": mean(losses),
            "clip_frac": mean(clips),
            "kl_hat": mean(kls),
            "grad_norm": mean(norms),
            "kl_guard_stop": float(stop),
            "update_seconds": dt,
            "update_tokens_per_s": tokens / dt if dt > 0 else float("nan"),
        }
