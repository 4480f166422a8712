"""Scripted environments for tests, demos and benchmarks (no API world, no sandbox).

``ToyEnv`` — a two-turn game whose reward needs multi-turn interaction. Task ``n`` hides a
secret ``N ∈ {0..choices-1}`` (balanced blocks, order drawn by hashing, see ``toy_secret``),
so nothing in the opening messages reveals it. Whatever the agent says in turn 1, the
environment answers ``secret: N``; in turn 2 the agent answers, and the answer is the code
point of its first character modulo ``choices`` (an empty or undecodable answer is wrong).
Reward 1 if the answer equals N, else 0; the episode then ends. The rule is arbitrary on
purpose: a tiny random model has never seen digits, but every reply has a first character, so
chance is about ``1/choices`` and an untrained policy already earns some reward; to beat
chance it must condition turn 2 on the observation of turn 1.

``BanditEnv`` — the simplest learnable task: one turn, reward 1 if the first character's code
point modulo ``choices`` equals ``target`` (chance ≈ 1/choices). No conditioning needed.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

__all__ = ["BanditEnv", "ToyEnv", "ToyTask", "answer_of", "toy_secret", "toy_tasks"]


@dataclass(frozen=True)
class ToyTask:
    index: int
    secret: int


def toy_secret(index: int, choices: int) -> int:
    """The hidden secret of task ``index``.

    Tasks come in blocks of ``choices`` consecutive indices; each block holds every secret
    once, in an order drawn from SHA-256 of ``toy:block``. Balanced blocks keep a batch from
    rewarding one answer for all tasks (which a policy can learn without reading anything).
    """
    block, slot = divmod(index, choices)
    digest = hashlib.sha256(f"toy:{block}".encode()).digest()
    rng = random.Random(int.from_bytes(digest[:8], "big"))
    order = list(range(choices))
    rng.shuffle(order)
    return order[slot]


def toy_tasks(n: int, choices: int = 2, offset: int = 0) -> list[ToyTask]:
    """Tasks ``offset .. offset+n-1`` with hashed secrets in ``0..choices-1``."""
    return [ToyTask(i, toy_secret(i, choices)) for i in range(offset, offset + n)]


def answer_of(text: str, choices: int) -> int | None:
    """The answer a reply encodes: first code point modulo ``choices``.

    None (always wrong) for an empty reply or one starting with U+FFFD: a lone byte ≥ 0x80
    decodes to it, and counting it would hand one answer half of a byte vocabulary.
    """
    if not text or text[0] == "\ufffd":
        return None
    return ord(text[0]) % choices


class ToyEnv:
    """``reset(task) -> messages``; ``step(text) -> (observation, reward, done)``."""

    def __init__(self, choices: int = 2):
        self.choices = choices
        self.task: ToyTask | None = None
        self.turn = 0

    def reset(self, task: ToyTask) -> list[dict[str, str]]:
        self.task, self.turn = task, 0
        # Short on purpose: with byte tokens every character is a position the tiny model's
        # attention must learn to look past.
        return [{"role": "user", "content": f"Game {task.index}"}]

    def step(self, assistant_text: str) -> tuple[str, float, bool]:
        assert self.task is not None, "reset() first"
        self.turn += 1
        if self.turn == 1:
            return f"secret: {self.task.secret}", 0.0, False
        ok = answer_of(assistant_text, self.choices) == self.task.secret
        return "", float(ok), True


class BanditEnv:
    """One turn; reward 1 iff ``answer_of(reply) == target``. Tasks are ignored (any object)."""

    def __init__(self, choices: int = 2, target: int = 0):
        self.choices, self.target = choices, target

    def reset(self, task: object) -> list[dict[str, str]]:
        return [{"role": "user", "content": "Pick."}]

    def step(self, assistant_text: str) -> tuple[str, float, bool]:
        return "", float(answer_of(assistant_text, self.choices) == self.target), True
