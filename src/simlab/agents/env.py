"""The episode interface: ``AgentEnv`` runs one task in a fresh state and sandboxed REPL.

>>> env = AgentEnv(task, max_turns=8)
>>> obs = env.reset()                           # the task context (a user message)
>>> obs, reward, done, info = env.step(text)    # text = the assistant's message
>>> env.evaluate().report()

``step`` runs every ```python / ```py block of the message (plus an unterminated trailing
block) as one cell; the observation is the (truncated) output followed by a reminder of the
task. ``done`` once ``complete_task`` ran or ``max_turns`` is reached; ``reward`` is 0 until
done, then the fraction of the task's tests passed (given even when out of turns, as in
training; ``info["evaluation"].success`` also requires ``complete_task``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from simlab.agents.world.api import Backend
from simlab.agents.world.db import copy_db
from simlab.agents.world.rng import stable_int
from simlab.agents.world.sandbox import Sandbox, SandboxConfig
from simlab.agents.world.tasks import Evaluation, Task

__all__ = [
    "NO_CODE",
    "AgentEnv",
    "approx_tokens",
    "extract_code",
    "render_context",
    "truncate_output",
]

NO_CODE = "No code found."
_OPEN = re.compile(r"```(?:python|py)[ \t]*\n")


def extract_code(text: str) -> str | None:
    """All ```python / ```py blocks joined by newlines (a trailing unclosed block counts)."""
    blocks, pos = [], 0
    while (m := _OPEN.search(text, pos)) is not None:
        end = text.find("```", m.end())
        if end < 0:
            blocks.append(text[m.end() :])
            break
        blocks.append(text[m.end() : end])
        pos = end + 3
    code = "\n".join(b.strip("\n") for b in blocks)
    return code if code.strip() else None


def approx_tokens(text: str) -> int:
    """A tokenizer-free token count: about 4 characters per token."""
    return math.ceil(len(text) / 4)


def truncate_output(text: str, max_tokens: int, count: Callable[[str], int] = approx_tokens) -> str:
    """``text`` cut at the last newline before ``max_tokens`` tokens, with a note."""
    total = count(text)
    if total <= max_tokens:
        return text
    lines = text.split("\n")
    lo, hi = 0, len(lines)  # largest k with count(first k lines) <= max_tokens
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count("\n".join(lines[:mid])) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    kept = "\n".join(lines[:lo])
    if lo == 0:  # one enormous line: cut by characters instead
        kept = text[: max(0, max_tokens * 4 - 1)]
    return f"{kept}\n[output truncated: showing about {count(kept)} of {total} tokens]"


def render_context(ctx: dict[str, str]) -> str:
    """The task context as text (first user message, and the reminder after each output)."""
    return (
        f"Date and time: {ctx['datetime']}\n"
        f"I am {ctx['name']} (e-mail {ctx['email']}, phone {ctx['phone_number']}).\n"
        f"Task: {ctx['instruction']}"
    )


class AgentEnv:
    """One task episode at a time. max_output_tokens: output kept per observation;
    count_tokens: the tokenizer's counter (default ~4 chars per token); raw_code: ``step``
    receives a bare code cell instead of an assistant message with ```python blocks;
    no_code_penalty: subtracted from the final reward per turn without code (default 0, as
    the reference; the reward is floored at 0)."""

    def __init__(
        self,
        task: Task | None = None,
        *,
        max_turns: int = 50,
        max_output_tokens: int = 3000,
        count_tokens: Callable[[str], int] = approx_tokens,
        sandbox: SandboxConfig | None = None,
        raw_code: bool = False,
        no_code_penalty: float = 0.0,
    ):
        self.task = task
        self.raw_code = raw_code
        self.no_code_penalty = no_code_penalty
        self.no_code_turns = 0
        self.max_turns = max_turns
        self.max_output_tokens = max_output_tokens
        self.count_tokens = count_tokens
        self.sandbox_config = sandbox or SandboxConfig()
        self.sandbox: Sandbox | None = None
        self.turns = 0
        self._evaluation: Evaluation | None = None

    def reset(self, task: Task | None = None) -> str:
        """Start an episode (on ``task`` or the one given at construction); returns the context."""
        self.close()
        if task is not None:
            self.task = task
        if self.task is None:
            raise ValueError("AgentEnv.reset needs a task")
        t = self.task
        self.start = t.start_state()
        self.state = copy_db(self.start)
        self.backend = Backend(self.state, t.seed)
        self.sandbox = Sandbox(
            self.backend.call,
            seed=stable_int(t.seed, "repl", t.id),
            now=t.now,
            config=self.sandbox_config,
        )
        self.sandbox.start()
        self.turns = 0
        self.no_code_turns = 0
        self._evaluation = None
        self.context = t.context()
        return render_context(self.context)

    @property
    def completed(self) -> bool:
        return self.backend.completed

    def step(self, assistant_text: str) -> tuple[str, float, bool, dict[str, Any]]:
        """Run the message's code; returns (observation, reward, done, info)."""
        if self.sandbox is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over; call reset()")
        self.turns += 1
        code = assistant_text if self.raw_code else extract_code(assistant_text)
        if code is not None and not code.strip():
            code = None
        if code is None:
            output, failed, seconds = NO_CODE, False, 0.0
            self.no_code_turns += 1
        else:
            r = self.sandbox.run(code)
            output, failed, seconds = r.output or "Execution successful.", r.failed, r.seconds
        output = truncate_output(output, self.max_output_tokens, self.count_tokens)
        done = self.done
        info: dict[str, Any] = {
            "output": output,
            "failed": failed,
            "code": code,
            "seconds": seconds,
            "turns": self.turns,
            "completed": self.completed,
        }
        reward = 0.0
        if done:
            ev = self.evaluate()
            info["evaluation"] = ev
            reward = max(0.0, ev.reward - self.no_code_penalty * self.no_code_turns)
            self.sandbox.close()
        observation = f"{output}\n\n{render_context(self.context)}"
        return observation, reward, done, info

    @property
    def done(self) -> bool:
        return self.completed or self.turns >= self.max_turns

    def evaluate(self) -> Evaluation:
        """The task's tests on the current state (cached once the episode is done)."""
        if self._evaluation is not None:
            return self._evaluation
        ev = self.task.evaluate(self.start, self.state)
        if self.done:
            self._evaluation = ev
        return ev

    def close(self) -> None:
        if self.sandbox is not None:
            self.sandbox.close()
            self.sandbox = None

    def __enter__(self) -> AgentEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
