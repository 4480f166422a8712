"""Agents, episodes and split metrics.

An *agent* is a function from the conversation so far (a list of ``{"role", "content"}``
messages: system, user, assistant, ...) to the next assistant message, whose code blocks are
run. ``run_episode`` plays one task; ``evaluate_agent`` plays many and reports TGC (% tasks
succeeded) and SGC (% scenarios whose tasks all succeeded) [LOOP §5.1].
"""

from __future__ import annotations

import ast
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from simlab.agents.env import AgentEnv
from simlab.agents.prompts import system_prompt
from simlab.agents.world.rng import stable_int
from simlab.agents.world.tasks import Evaluation, Task

__all__ = [
    "Agent",
    "Episode",
    "evaluate_agent",
    "noop_agent",
    "run_episode",
    "scripted_agent",
    "sft_conversation",
    "solution_cells",
    "tgc_sgc",
]

Message = dict[str, str]
Agent = Callable[[list[Message]], str]
AgentFactory = Callable[[Task], Agent]


@dataclass
class Episode:
    """A played task: the conversation, per-turn infos and the final evaluation."""

    task_id: str
    scenario: str
    messages: list[Message]
    evaluation: Evaluation
    turns: int
    infos: list[dict[str, Any]] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return self.evaluation.success


def run_episode(agent: Agent, task: Task, **env_kwargs: Any) -> Episode:
    """Play ``task`` with ``agent`` until it completes the task or runs out of turns."""
    with AgentEnv(task, **env_kwargs) as env:
        messages = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": env.reset()},
        ]
        infos = []
        done = False
        while not done:
            text = agent(messages)
            obs, _, done, info = env.step(text)
            messages += [{"role": "assistant", "content": text}, {"role": "user", "content": obs}]
            infos.append({k: v for k, v in info.items() if k != "evaluation"})
        return Episode(task.id, task.scenario.name, messages, env.evaluate(), env.turns, infos)


def tgc_sgc(episodes: Sequence[Episode]) -> tuple[float, float]:
    """(TGC, SGC) in percent."""
    if not episodes:
        return 0.0, 0.0
    tgc = 100.0 * sum(e.success for e in episodes) / len(episodes)
    by_scenario: dict[str, list[bool]] = {}
    for e in episodes:
        by_scenario.setdefault(e.scenario, []).append(e.success)
    sgc = 100.0 * sum(all(v) for v in by_scenario.values()) / len(by_scenario)
    return tgc, sgc


def evaluate_agent(
    make_agent: AgentFactory, tasks: Sequence[Task], **env_kwargs: Any
) -> dict[str, Any]:
    """Play every task with ``make_agent(task)``; returns TGC, SGC, mean reward and episodes."""
    episodes = [run_episode(make_agent(t), t, **env_kwargs) for t in tasks]
    tgc, sgc = tgc_sgc(episodes)
    return {
        "tasks": len(episodes),
        "tgc": tgc,
        "sgc": sgc,
        "mean_reward": sum(e.evaluation.reward for e in episodes) / max(1, len(episodes)),
        "episodes": episodes,
    }


# --- reference agents ---------------------------------------------------------------------


def solution_cells(code: str) -> list[str]:
    """A program split into its top-level statements (one code cell each)."""
    tree = ast.parse(code)
    return [ast.get_source_segment(code, node) for node in tree.body]


def scripted_agent(task: Task, skip_prob: float = 0.0, seed: int = 0) -> Agent:
    """A scripted reference agent: plays the task's ground truth one statement per turn.

    With ``skip_prob`` > 0 it drops each statement (except the final ``complete_task``) with
    that probability, a cheap way to get imperfect but deterministic behaviour.
    """
    r = random.Random(stable_int(seed, "scripted", task.id))
    cells = solution_cells(task.solution())
    keep = [c for i, c in enumerate(cells) if i == len(cells) - 1 or r.random() >= skip_prob]
    it = iter(keep)

    def act(messages: list[Message]) -> str:
        cell = next(it, "apis.supervisor.complete_task()")
        return f"```python\n{cell}\n```"

    return act


def sft_conversation(task: Task) -> list[Message]:
    """The ground truth as a conversation for SFT baselines: one assistant turn per top-level
    statement, each answered ``Execution successful.`` [LOOP App. C.1]."""
    from simlab.agents.env import render_context

    messages = [
        {"role": "system", "content": system_prompt()},
        {"role": "user", "content": render_context(task.context())},
    ]
    for cell in solution_cells(task.solution()):
        messages.append({"role": "assistant", "content": f"```python\n{cell}\n```"})
        messages.append({"role": "user", "content": "Execution successful."})
    return messages[:-1]  # the conversation ends with the final complete_task call


def noop_agent(task: Task) -> Agent:
    """A baseline that completes the task at once without doing anything."""
    return lambda messages: "```python\napis.supervisor.complete_task()\n```"
