"""Adapter from the API world's ``AgentEnv`` (simlab.agents.env) to the rollout protocol."""

from __future__ import annotations

from typing import Any

__all__ = ["WorldEnv", "world_tasks"]


def world_tasks(split: str, seed: int = 0, max_difficulty: int = 3) -> list[Any]:
    """Tasks of ``split`` (train/dev/test_normal/test_challenge) up to ``max_difficulty``."""
    from simlab.agents.world.tasks import load_tasks

    return [t for t in load_tasks(seed=seed, split=split) if t.difficulty <= max_difficulty]


class WorldEnv:
    """``reset(task)`` -> [system prompt, task context]; ``step(text)`` -> (obs, reward, done).

    ``success`` (after the episode) is the world's own: all tests passed and ``complete_task``
    was called within the turn budget.
    """

    def __init__(
        self,
        max_turns: int = 8,
        max_output_tokens: int = 384,
        count_tokens=None,
        example: bool = True,
    ):
        self.kwargs: dict[str, Any] = {
            "max_turns": max_turns,
            "max_output_tokens": max_output_tokens,
        }
        if count_tokens is not None:
            self.kwargs["count_tokens"] = count_tokens
        self.example = example
        self.env = None
        self.success: bool | None = None

    def reset(self, task: Any) -> list[dict[str, str]]:
        from simlab.agents.env import AgentEnv
        from simlab.agents.prompts import system_prompt

        self.close()
        self.env = AgentEnv(task, **self.kwargs)
        self.success = None
        ctx = self.env.reset()
        return [
            {"role": "system", "content": system_prompt(self.example)},
            {"role": "user", "content": ctx},
        ]

    def step(self, assistant_text: str) -> tuple[str, float, bool]:
        obs, reward, done, info = self.env.step(assistant_text)
        if done:
            self.success = bool(info["evaluation"].success)
        return obs, float(reward), bool(done)

    def close(self) -> None:
        if self.env is not None:
            self.env.close()
            self.env = None
