"""Token-in/token-out multi-turn rollouts (spec §3.2, §3.6).

An environment is any object with

* ``reset(task) -> list[{"role", "content"}]`` — the opening messages (system, user, ...);
* ``step(assistant_text) -> (observation: str, reward: float, done: bool)`` — run one agent turn;
  ``reward`` is the reward of the state reached so far (the last one counts);
* optionally ``close()``.

A rollout keeps one id sequence: opening messages and observations are rendered per message in
ChatML (``llm_mask`` 0); assistant tokens are appended exactly as sampled (``llm_mask`` 1),
including the stop token the model sampled (switch ``train_sampled_stop_token``). An
``<|im_end|>`` the harness appends after a turn that hit ``max_new_tokens`` and the newline after
each message are context only. Decoded text goes to the environment but is never re-tokenised.

Batching: the K rollouts of one or several tasks step together as one batch with a single
``DynamicCache``. Every forward feeds only new tokens (KV cache reused across turns); rows whose
new chunk is shorter are left-padded *inside* the chunk with masked pads and explicit position
ids, so each row's positions and attention are exactly those of its unpadded sequence. The rows'
common opening (the system prompt; the whole prompt among a task's K rows) is fed once and its
cache copied to every row (``share_prefix``). Finished rows leave the batch
(``batch_select_indices``). Turns are synchronous: after all live rows end
their turn, each is stepped in its environment and rejoins with the observation.

Early stop (§3.5): once every task has at least ``floor(0.75 K)`` finished rollouts and at least
90 % of the batch has finished, the stragglers are dropped (neither scored nor trained) and
counted in the stats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import torch

from simlab.agents.rl.models import Policy

__all__ = ["CollectStats", "Env", "Rollout", "RolloutConfig", "autocast", "collect"]


class Env(Protocol):
    def reset(self, task: Any) -> list[dict[str, str]]: ...

    def step(self, assistant_text: str) -> tuple[str, float, bool]: ...


@dataclass(frozen=True)
class RolloutConfig:
    """Sampling and episode limits (defaults: the spec's ``cpu-smoke`` column)."""

    k: int = 6  # rollouts per task
    temperature: float = 1.0  # 0 = greedy
    max_turns: int = 6
    max_new_tokens: int = 128  # per assistant turn
    max_seq_len: int = 8192  # a turn that could overflow this ends the episode
    early_stop: bool = True
    early_stop_task_frac: float = 0.75
    early_stop_total_frac: float = 0.9
    tasks_per_batch: int = 0  # 0 = all tasks of a collection in one batch
    bf16: bool = True  # bf16 autocast for the forwards
    train_sampled_stop_token: bool = True
    # Feed the rows' common opening once and copy its KV cache to every row (same tokens,
    # positions and attention as feeding it per row; up to B-fold less first-turn prefill).
    share_prefix: bool = True
    # Merge LoRA into the base weights while sampling (measured ~3x faster decoding on CPU);
    # unmerging afterwards leaves fp32 rounding of order 1e-7 relative in the base weights.
    merge_lora: bool = True

    def __post_init__(self):
        if self.k < 1 or self.max_turns < 1 or self.max_new_tokens < 1:
            raise ValueError("k, max_turns and max_new_tokens must be >= 1")
        if self.temperature < 0:
            raise ValueError("temperature must be >= 0")


@dataclass
class Rollout:
    """One episode. ``ids``/``llm_mask``/``sample_logprobs`` have equal length L.

    ``turns[j] = (start, end)``: positions of the tokens sampled in assistant turn j.
    ``sample_logprobs[t]`` is log p(ids[t] | ids[:t]) at the sampling temperature for sampled
    tokens (0 elsewhere), as the sampler computed it (diagnostics only: the trainer recomputes).
    """

    group: int  # index of the task in the collection
    task: Any
    messages: list[dict[str, str]]  # the conversation as text (for metrics and the debug check)
    ids: list[int] = field(default_factory=list)
    llm_mask: list[bool] = field(default_factory=list)
    sample_logprobs: list[float] = field(default_factory=list)
    turns: list[tuple[int, int]] = field(default_factory=list)
    responses: list[str] = field(default_factory=list)  # the environment's answer to each turn
    reward: float = 0.0
    done: bool = False  # the environment ended the episode (else it ran out of turns/window)
    advantage: float = 0.0
    env_success: bool | None = None  # the environment's own verdict, when it gives one

    @property
    def success(self) -> bool:
        if self.env_success is not None:
            return self.env_success
        return self.done and self.reward >= 1.0 - 1e-9

    @property
    def n_llm(self) -> int:
        return sum(self.llm_mask)

    def _extend(self, ids: Sequence[int], llm: bool = False, lps: Sequence[float] = ()) -> None:
        self.ids.extend(int(i) for i in ids)
        self.llm_mask.extend([llm] * len(ids))
        self.sample_logprobs.extend(lps if lps else [0.0] * len(ids))


@dataclass
class CollectStats:
    started: int = 0
    finished: int = 0
    dropped: int = 0  # stragglers cut by the early stop
    generated_tokens: int = 0  # sampled tokens, all rows, dropped ones included
    prefill_tokens: int = 0  # tokens fed outside decoding (a shared prefix counts once)
    seconds: float = 0.0

    def add(self, other: CollectStats) -> None:
        for k in self.__dataclass_fields__:
            setattr(self, k, getattr(self, k) + getattr(other, k))


def autocast(enabled: bool):
    """bf16 autocast on the CPU (a no-op context when disabled)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=enabled)


class _Batch:
    """Rows sharing one KV cache; feeds per-row token chunks with in-chunk left padding."""

    def __init__(self, policy: Policy, pad_id: int):
        from transformers import DynamicCache

        self.lm = policy.lm
        self.pad_id = pad_id
        self.cache = DynamicCache(config=self.lm.config)
        self.attn: torch.Tensor | None = None  # [B, cache length] long, 1 = real token
        self.pos: torch.Tensor | None = None  # [B] next position id of each row

    def share(self, prefix: list[int], b: int) -> None:
        """Feed ``prefix`` once (batch 1) and give each of ``b`` rows a copy of its cache, as
        if every row had fed it: the first ``feed`` then holds only each row's remainder."""
        n = len(prefix)
        self.lm(
            input_ids=torch.tensor([prefix], dtype=torch.long),
            attention_mask=torch.ones((1, n), dtype=torch.long),
            position_ids=torch.arange(n)[None],
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self.cache.batch_repeat_interleave(b)
        self.attn = torch.ones((b, n), dtype=torch.long)
        self.pos = torch.full((b,), n, dtype=torch.long)

    def feed(self, chunks: list[list[int]]) -> torch.Tensor:
        """Append ``chunks[b]`` to row b; return the logits after each row's last real token.

        Rows with an empty chunk get one masked pad (their returned logits are meaningless).
        Returns [B, V] fp32.
        """
        b = len(chunks)
        n = max(1, max(len(c) for c in chunks))
        ids = torch.full((b, n), self.pad_id, dtype=torch.long)
        mask = torch.zeros((b, n), dtype=torch.long)
        for i, c in enumerate(chunks):
            if c:
                ids[i, n - len(c) :] = torch.tensor(c, dtype=torch.long)
                mask[i, n - len(c) :] = 1
        if self.pos is None:
            self.pos = torch.zeros(b, dtype=torch.long)
        # Position of a real token = number of real tokens before it in its row.
        pos = self.pos[:, None] + torch.cumsum(mask, dim=1) - 1
        pos = pos.clamp(min=0)
        self.attn = mask if self.attn is None else torch.cat([self.attn, mask], dim=1)
        out = self.lm(
            input_ids=ids,
            attention_mask=self.attn,
            position_ids=pos,
            cache=self.cache,
            use_cache=True,
            logits_to_keep=1,
        )
        self.pos = self.pos + mask.sum(1)
        return out.logits[:, -1, :].float()

    def keep(self, rows: list[int]) -> None:
        idx = torch.tensor(rows, dtype=torch.long)
        self.cache.batch_select_indices(idx)
        self.attn = self.attn[idx]
        self.pos = self.pos[idx]


def _sample(logits: torch.Tensor, temperature: float, gen: torch.Generator):
    """Pure ancestral sampling from softmax(logits / T) (greedy at T = 0); [B] ids, log-probs."""
    if temperature == 0:
        lp = torch.log_softmax(logits, dim=-1)
        tok = lp.argmax(-1)
    else:
        lp = torch.log_softmax(logits / temperature, dim=-1)
        tok = torch.multinomial(lp.exp(), 1, generator=gen)[:, 0]
    return tok, lp.gather(1, tok[:, None])[:, 0]


def collect(
    policy: Policy,
    tasks: Sequence[Any],
    make_env: Callable[[], Env],
    cfg: RolloutConfig,
    generator: torch.Generator,
) -> tuple[list[Rollout], CollectStats]:
    """``cfg.k`` rollouts of each task from the current policy. Returns (finished rollouts, stats).

    Rollouts are ordered by task then row; stragglers dropped by the early stop are not returned.
    """
    import time

    t0 = time.perf_counter()
    per = cfg.tasks_per_batch or len(tasks)
    out: list[Rollout] = []
    stats = CollectStats()
    was_training = policy.model.training
    policy.model.eval()
    merged = policy.lora and cfg.merge_lora
    if merged:
        policy.model.merge_adapter()
    try:
        with torch.no_grad(), autocast(cfg.bf16):
            for lo in range(0, len(tasks), per):
                rs, st = _collect_batch(
                    policy, tasks, range(lo, min(lo + per, len(tasks))), make_env, cfg, generator
                )
                out.extend(rs)
                stats.add(st)
    finally:
        if merged:
            policy.model.unmerge_adapter()
        policy.model.train(was_training)
    stats.seconds = time.perf_counter() - t0
    return out, stats


def _collect_batch(policy, tasks, groups, make_env, cfg: RolloutConfig, gen):
    chat = policy.chat
    stats = CollectStats()
    rows: list[Rollout] = []
    envs: list[Any] = []
    pending: list[list[int]] = []
    for g in groups:
        for _ in range(cfg.k):
            env = make_env()
            messages = [dict(m) for m in env.reset(tasks[g])]
            r = Rollout(group=g, task=tasks[g], messages=messages)
            for m in messages:
                r._extend(chat.message(m["role"], m["content"]))
            r._extend(chat.assistant_prefix)
            rows.append(r)
            envs.append(env)
            pending.append(list(r.ids))
    stats.started = len(rows)
    batch = _Batch(policy, chat.pad_id)
    live = list(range(len(rows)))  # row index of each batch position
    finished = [False] * len(rows)
    n_turns = [0] * len(rows)
    need = max(min(cfg.k, 2), math.floor(cfg.early_stop_task_frac * cfg.k))
    stop_set = set(chat.stop_ids)
    if cfg.share_prefix and len(rows) > 1:
        # every row keeps at least one token of its own, whose logits start its first turn
        n = min(len(p) for p in pending) - 1
        n = next((i for i in range(n) if len({p[i] for p in pending}) > 1), n)
        if n > 0:
            batch.share(pending[0][:n], len(rows))
            stats.prefill_tokens += n
            pending = [p[n:] for p in pending]
    try:
        while live:
            # ---- one synchronous assistant turn for every live row
            chunks = [pending[i] for i in live]
            stats.prefill_tokens += sum(len(c) for c in chunks)
            logits = batch.feed(chunks)
            gen_ids: list[list[int]] = [[] for _ in live]
            gen_lps: list[list[float]] = [[] for _ in live]
            stopped = [False] * len(live)
            for step in range(cfg.max_new_tokens):
                tok, lp = _sample(logits, cfg.temperature, gen)
                for j in range(len(live)):
                    if not stopped[j]:
                        t = int(tok[j])
                        gen_ids[j].append(t)
                        gen_lps[j].append(float(lp[j]))
                        stats.generated_tokens += 1
                        if t in stop_set:
                            stopped[j] = True
                if all(stopped) or step == cfg.max_new_tokens - 1:
                    break
                # Live rows feed the token just sampled; a row that has stopped feeds a masked
                # pad. The last sampled token of each row is fed with its next chunk.
                step_chunks = [[] if stopped[j] else [gen_ids[j][-1]] for j in range(len(live))]
                logits = batch.feed(step_chunks)
            # ---- bookkeeping and environment steps
            keep: list[int] = []
            for j, i in enumerate(live):
                r = rows[i]
                toks, lps = gen_ids[j], gen_lps[j]
                sampled_stop = bool(toks) and toks[-1] in stop_set
                # Every token but the last was fed during decoding; the last is fed next turn.
                start = len(r.ids)
                train_last = (not sampled_stop) or cfg.train_sampled_stop_token
                r._extend(toks[:-1], llm=True, lps=lps[:-1])
                r._extend(toks[-1:], llm=train_last, lps=lps[-1:] if train_last else ())
                r.turns.append((start, len(r.ids)))
                text = chat.decode(toks[:-1] if sampled_stop else toks)
                r.messages.append({"role": "assistant", "content": text})
                tail = [toks[-1]]  # the last sampled token, not yet in the cache
                closing: list[int] = []
                if not sampled_stop:
                    closing.append(chat.end_id)  # appended by the harness: context only
                closing.extend(chat.newline)
                r._extend(closing)
                tail.extend(closing)
                n_turns[i] += 1
                obs, reward, done = envs[i].step(text)
                r.responses.append(obs)
                r.reward, r.done = float(reward), bool(done)
                r.env_success = getattr(envs[i], "success", None)
                if done or n_turns[i] >= cfg.max_turns:
                    finished[i] = True
                    continue
                nxt = chat.message("user", obs) + list(chat.assistant_prefix)
                if len(r.ids) + len(nxt) + cfg.max_new_tokens > cfg.max_seq_len:
                    finished[i] = True  # the next turn could overflow the window: episode ends
                    continue
                r.messages.append({"role": "user", "content": obs})
                r._extend(nxt)
                pending[i] = tail + nxt
                keep.append(j)
            live = [live[j] for j in keep]
            # ---- early stop: drop stragglers once enough rollouts have finished
            if live and cfg.early_stop:
                done_per = {g: 0 for g in groups}
                for i, f in enumerate(finished):
                    done_per[rows[i].group] += f
                if min(done_per.values()) >= need and sum(
                    finished
                ) >= cfg.early_stop_total_frac * len(rows):
                    stats.dropped += len(live)
                    live = []
            if live and len(keep) < len(gen_ids):
                batch.keep(keep)
    finally:
        for env in envs:
            close = getattr(env, "close", None)
            if close is not None:
                close()
    kept = [r for i, r in enumerate(rows) if finished[i]]
    stats.finished = len(kept)
    return kept, stats
