"""Tasks: scenario variants with instructions, start states, ground truth and tests.

>>> tasks = load_tasks(seed=0, split="train")
>>> t = tasks[0]; t.instruction, t.difficulty
>>> start = t.start_state()       # a fresh SQLite copy: world + setup + frozen clock
>>> t.evaluate(start, end)        # Evaluation(tests, completed) after an episode
"""

from __future__ import annotations

import functools
import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from simlab.agents.world.api import ApiError, Backend
from simlab.agents.world.db import View
from simlab.agents.world.generate import World
from simlab.agents.world.rng import rng, stable_int
from simlab.agents.world.tasks import base
from simlab.agents.world.tasks.base import SCENARIOS, SPLITS, Evaluation, Scenario

__all__ = [
    "SPLITS",
    "Evaluation",
    "Task",
    "get_task",
    "load_tasks",
    "run_direct",
    "scenarios",
]

N_VARIANTS = 3
USER_APPS_EXCLUDED = ("supervisor", "api_docs")


def _register() -> None:
    # importing the modules registers their Scenario subclasses
    from simlab.agents.world.tasks import (  # noqa: F401
        dev,
        test_challenge,
        test_normal,
        train,
    )


def scenarios(split: str | None = None) -> list[Scenario]:
    """Scenario instances (all, or one split's), in registration order."""
    _register()
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    return [cls() for cls in SCENARIOS.values() if split is None or cls.split == split]


@dataclass
class Task:
    """One variant of a scenario in the world of ``seed``."""

    id: str
    scenario: Scenario
    variant: int
    seed: int
    params: dict[str, Any]
    now: str

    @property
    def split(self) -> str:
        return self.scenario.split

    @property
    def apps(self) -> tuple[str, ...]:
        return self.scenario.apps

    @property
    def instruction(self) -> str:
        return self.scenario.instruction(self.params)

    def solution(self) -> str:
        """The ground-truth program (Python using only ``apis``)."""
        return self.scenario.solution(self.params)

    def start_state(self) -> sqlite3.Connection:
        """A fresh copy of the task's start state (world + setup + clock + active task)."""
        conn = World.generate(self.seed).copy()
        conn.execute("UPDATE meta_clock SET now = ? WHERE id = 1", (self.now,))
        self.scenario.setup(conn, self.params)
        conn.execute(
            "INSERT INTO meta_task (id, task_id, instruction, completed, answer) "
            "VALUES (1, ?, ?, 0, NULL)",
            (self.id, self.instruction),
        )
        return conn

    def backend(self, conn: sqlite3.Connection) -> Backend:
        return Backend(conn, self.seed)

    def evaluate(self, start: sqlite3.Connection, end: sqlite3.Connection) -> Evaluation:
        """Run this task's tests on (start, end); the answer is read from the end state."""
        return base.evaluate(self.scenario, self.params, start, end)

    @functools.cached_property
    def ground_truth_calls(self) -> list[tuple[str, str]]:
        """(app, api) of every call the ground truth makes (run in-process on a copy)."""
        b = self.backend(self.start_state())
        run_direct(self.solution(), b)
        return [(c.app, c.api) for c in b.log]

    @property
    def difficulty(self) -> int:
        """1-3 from the ground truth's user-app API calls (logins counted)."""
        n = sum(app not in USER_APPS_EXCLUDED for app, _ in self.ground_truth_calls)
        return base.difficulty_of(n)

    def context(self) -> dict[str, str]:
        """The task context shown to an agent: date-time, user, e-mail, phone, instruction."""
        u = View(World.generate(self.seed).conn).one(
            "SELECT first_name, last_name, email, phone_number FROM supervisor_people WHERE id = 1"
        )
        return {
            "datetime": self.now,
            "name": f"{u['first_name']} {u['last_name']}",
            "email": u["email"],
            "phone_number": u["phone_number"],
            "instruction": self.instruction,
        }


class _DirectApis:
    """In-process ``apis`` for trusted code (ground truths): calls go straight to a backend."""

    def __init__(self, backend: Backend, app: str | None = None):
        self._b, self._app = backend, app

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        if self._app is None:
            return _DirectApis(self._b, name)
        return lambda **kw: self._b.call(self._app, name, json.loads(json.dumps(kw)))


def run_direct(code: str, backend: Backend) -> None:
    """Execute trusted code (a ground truth) in-process against ``backend``. Never for agents.

    ``datetime`` is frozen at the backend's clock, as in the sandbox.
    """
    import builtins

    from simlab.agents.world.sandbox_worker import frozen_datetime_module

    frozen = frozen_datetime_module(backend.now())

    def imp(name, globals=None, locals=None, fromlist=(), level=0):
        if name == "datetime":
            return frozen
        return builtins.__import__(name, globals, locals, fromlist, level)

    env = {
        "__builtins__": {**vars(builtins), "__import__": imp},
        "apis": _DirectApis(backend),
        "ApiError": ApiError,
    }
    exec(compile(code, "<ground truth>", "exec"), env)


@functools.lru_cache(maxsize=4)
def _tasks(seed: int) -> tuple[Task, ...]:
    world = World.generate(seed)
    view = View(world.conn)
    out = []
    for sc in scenarios():
        seen: list[dict] = []
        for v in range(N_VARIANTS):
            for attempt in range(20):  # distinct parameters per variant when possible
                params = sc.sample(rng(seed, "task", sc.name, v, attempt), view)
                if params not in seen:
                    break
            seen.append(params)
            hours = 1 + stable_int(seed, "now", sc.name, v) % 10
            out.append(
                Task(f"{sc.name}_{v + 1}", sc, v, seed, params, base.shift_iso(world.now, hours))
            )
    return tuple(out)


def load_tasks(seed: int = 0, split: str | None = None) -> list[Task]:
    """Every task (or one split's) of the world of ``seed``, in a fixed order."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; splits: {', '.join(SPLITS)}")
    return [t for t in _tasks(seed) if split is None or t.split == split]


def get_task(task_id: str, seed: int = 0) -> Task:
    """The task with this id, e.g. ``"phone_send_text_1"``; ValueError if unknown."""
    for t in _tasks(seed):
        if t.id == task_id:
            return t
    raise ValueError(f"unknown task {task_id!r}; list them with `simlab agents world tasks`")
