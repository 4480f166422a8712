"""A scripted two-turn environment whose reward needs multi-turn interaction.

Task ``n`` hides a number ``N = n mod choices``. The opening message asks the agent to look it
up; whatever the agent says in turn 1, the environment answers ``secret: N``. In turn 2 the
agent answers; the answer is the code point of its first character modulo ``choices``
(an empty answer is wrong). Reward 1 if the answer equals N, else 0; the episode then ends.

The rule is arbitrary on purpose: a tiny random model has never seen digits, but every reply
has a first character, so chance is about ``1/choices`` and an untrained policy already earns
some reward; to beat chance it must condition turn 2 on the observation of turn 1.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ToyEnv", "toy_tasks"]


@dataclass(frozen=True)
class ToyTask:
    index: int
    secret: int


def toy_tasks(n: int, choices: int = 2, offset: int = 0) -> list[ToyTask]:
    """Tasks ``offset .. offset+n-1``; secrets cycle through ``0..choices-1``."""
    return [ToyTask(i, i % choices) for i in range(offset, offset + n)]


class ToyEnv:
    """``reset(task) -> messages``; ``step(text) -> (observation, reward, done)``."""

    def __init__(self, choices: int = 2):
        self.choices = choices
        self.task: ToyTask | None = None
        self.turn = 0

    def reset(self, task: ToyTask) -> list[dict[str, str]]:
        self.task, self.turn = task, 0
        return [
            {"role": "system", "content": "Two-step game."},
            {"role": "user", "content": f"Game {task.index}: look up the secret."},
        ]

    def step(self, assistant_text: str) -> tuple[str, float, bool]:
        assert self.task is not None, "reset() first"
        self.turn += 1
        if self.turn == 1:
            return f"secret: {self.task.secret}", 0.0, False
        ok = bool(assistant_text) and ord(assistant_text[0]) % self.choices == self.task.secret
        return "", float(ok), True
