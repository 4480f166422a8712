"""Scenarios, tasks and state-based evaluation.

A ``Scenario`` subclass is a task template: ``sample`` draws parameters from a seeded
``random.Random`` and a read-only view of the world, ``setup`` may add rows that make the task
well posed, ``instruction`` and ``solution`` render the instruction and the ground-truth program
(code that uses only ``apis``), ``expect`` lists the required state changes and ``answer`` the
expected answer of a question. Variant *v* of a scenario is seeded by ``H(world_seed, name, v)``.

Tests over (start state, end state, answer): one per required change, one "no collateral
changes" (every row added, removed or changed outside bookkeeping tables and ``*_at`` clock
stamps must be explained by an expected change), and one for the answer of a question.
Reward = passed / total; success = all passed and ``complete_task`` was called.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import sqlite3
from dataclasses import dataclass, field
from typing import Any, ClassVar

from simlab.agents.world import db
from simlab.agents.world.db import View

__all__ = [
    "SCENARIOS",
    "Added",
    "Changed",
    "Evaluation",
    "Removed",
    "Scenario",
    "answers_match",
    "difficulty_of",
]

SPLITS = ("train", "dev", "test_normal", "test_challenge")
SCENARIOS: dict[str, type[Scenario]] = {}
NO_QUESTION = object()


def _same(expected: Any, actual: Any) -> bool:
    if callable(expected):
        return bool(expected(actual))
    if isinstance(expected, float) or isinstance(actual, float):
        try:
            return abs(float(expected) - float(actual)) < 0.005  # money to cents
        except (TypeError, ValueError):
            return False
    if isinstance(expected, str) and isinstance(actual, str):
        return expected.strip() == actual.strip()
    return expected == actual


def _show(values: dict[str, Any]) -> str:
    return ", ".join(f"{k}={'<check>' if callable(v) else repr(v)}" for k, v in values.items())


@dataclass
class Added:
    """A row added to ``table`` whose columns match ``values`` (callables are predicates)."""

    table: str
    values: dict[str, Any]

    def __init__(self, table: str, **values: Any):
        self.table, self.values = table, values

    def matches(self, row: dict[str, Any]) -> bool:
        return all(_same(v, row.get(k)) for k, v in self.values.items())

    def satisfied(self, diff: db.Diff) -> bool:
        return any(self.matches(r) for r in diff.get(self.table, db.TableDiff()).added)

    def describe(self) -> str:
        return f"added to {self.table}: {_show(self.values)}"


@dataclass
class Removed:
    """The row of ``table`` with primary key ``key`` is removed."""

    table: str
    key: dict[str, Any]

    def __init__(self, table: str, **key: Any):
        self.table, self.key = table, key

    def matches(self, row: dict[str, Any]) -> bool:
        return all(row.get(k) == v for k, v in self.key.items())

    def satisfied(self, diff: db.Diff) -> bool:
        return any(self.matches(r) for r in diff.get(self.table, db.TableDiff()).removed)

    def describe(self) -> str:
        return f"removed from {self.table}: {_show(self.key)}"


@dataclass
class Changed:
    """The row of ``table`` with key ``key`` now has ``values`` (other columns unchanged)."""

    table: str
    key: dict[str, Any]
    values: dict[str, Any] = field(default_factory=dict)

    def matches(self, before: dict[str, Any], after: dict[str, Any]) -> bool:
        return all(after.get(k) == v for k, v in self.key.items())

    def satisfied(self, diff: db.Diff) -> bool:
        for before, after in diff.get(self.table, db.TableDiff()).changed:
            if self.matches(before, after):
                return all(_same(v, after.get(k)) for k, v in self.values.items())
        return False

    def explains(self, before: dict[str, Any], after: dict[str, Any]) -> bool:
        cols = db.changed_columns(before, after)
        return self.matches(before, after) and set(cols) <= set(self.values)

    def describe(self) -> str:
        return f"changed in {self.table} {_show(self.key)}: {_show(self.values)}"


def collateral(diff: db.Diff, expected: list, whitelist: tuple[str, ...]) -> list[str]:
    """Changes not explained by any expectation (tables in ``whitelist`` are ignored)."""
    out = []
    for table, d in diff.items():
        if table in whitelist:
            continue
        adds = [e for e in expected if isinstance(e, Added) and e.table == table]
        rems = [e for e in expected if isinstance(e, Removed) and e.table == table]
        chs = [e for e in expected if isinstance(e, Changed) and e.table == table]
        out += [f"added {table} {r}" for r in d.added if not any(e.matches(r) for e in adds)]
        out += [f"removed {table} {r}" for r in d.removed if not any(e.matches(r) for e in rems)]
        out += [
            f"changed {table} {b} -> {a}"
            for b, a in d.changed
            if not any(e.explains(b, a) for e in chs)
        ]
    return out


def _norm(v: Any) -> Any:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)):
        return round(float(v), 6)
    if isinstance(v, str):
        s = v.strip().casefold()
        try:
            return round(float(s.replace("$", "").replace(",", "")), 6)
        except ValueError:
            return s
    return v


def answers_match(expected: Any, given: Any, kind: str = "text") -> bool:
    """Normalised answer comparison: strip + casefold, numbers to 1e-6, money to cents, lists
    as multisets (``kind="ordered_list"`` keeps order)."""
    if expected is None:
        return given is None
    if kind in ("list", "ordered_list"):
        if not isinstance(given, (list, tuple)):
            return False
        e, g = [_norm(x) for x in expected], [_norm(x) for x in given]
        if kind == "list":
            e, g = sorted(map(repr, e)), sorted(map(repr, g))
        return e == g
    e, g = _norm(expected), _norm(given)
    if kind == "money" and isinstance(e, float) and isinstance(g, float):
        return abs(e - g) < 0.005
    if isinstance(e, float) and isinstance(g, float):
        return abs(e - g) <= 1e-6 * max(1.0, abs(e))
    return e == g


class Scenario:
    """A task template; subclasses register themselves by ``name`` (see the module doc)."""

    name: ClassVar[str]
    split: ClassVar[str]
    apps: ClassVar[tuple[str, ...]]
    answer_kind: ClassVar[str] = "text"  # text / number / money / list / ordered_list
    whitelist: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.split not in SPLITS:
            raise ValueError(f"scenario {cls.name}: split must be one of {SPLITS}")
        if cls.name in SCENARIOS:
            raise ValueError(f"duplicate scenario {cls.name}")
        SCENARIOS[cls.name] = cls

    def sample(self, r: random.Random, w: View) -> dict[str, Any]:
        return {}

    def setup(self, conn: sqlite3.Connection, p: dict[str, Any]) -> None:
        """Rows that make the task well posed (inserted before the episode)."""

    def instruction(self, p: dict[str, Any]) -> str:
        raise NotImplementedError

    def solution(self, p: dict[str, Any]) -> str:
        raise NotImplementedError

    def expect(self, s: View, p: dict[str, Any]) -> list:
        """Required changes (Added / Removed / Changed), computed from the start state."""
        return []

    def answer(self, s: View, p: dict[str, Any]) -> Any:
        """The expected answer of a question, computed from the start state."""
        return NO_QUESTION


@dataclass
class Evaluation:
    """Test results of one episode: tests are (name, passed, detail)."""

    tests: list[tuple[str, bool, str]]
    completed: bool

    @property
    def passed(self) -> int:
        return sum(ok for _, ok, _ in self.tests)

    @property
    def reward(self) -> float:
        return self.passed / len(self.tests)

    @property
    def success(self) -> bool:
        return self.completed and self.passed == len(self.tests)

    def report(self) -> str:
        lines = [
            f"{'PASS' if ok else 'FAIL'} {name}" + (f" ({detail})" if detail and not ok else "")
            for name, ok, detail in self.tests
        ]
        lines.append(
            f"complete_task called: {self.completed}; reward {self.reward:.3f} "
            f"({self.passed}/{len(self.tests)}); success: {self.success}"
        )
        return "\n".join(lines)


def evaluate(
    scenario: Scenario, p: dict[str, Any], start: sqlite3.Connection, end: sqlite3.Connection
) -> Evaluation:
    """Run the scenario's tests on (start state, end state, recorded answer)."""
    s, e = View(start), View(end)
    diff = db.diff_states(s, e)
    expected = scenario.expect(s, p)
    tests = [(f"required: {x.describe()}", x.satisfied(diff), "") for x in expected]
    extra = collateral(diff, expected, scenario.whitelist)
    tests.append(("no collateral changes", not extra, "; ".join(extra[:3])[:500]))
    meta = e.one("SELECT completed, answer FROM meta_task WHERE id = 1") or {}
    given = json.loads(meta["answer"]) if meta.get("answer") else None
    want = scenario.answer(s, p)
    if want is not NO_QUESTION:
        ok = answers_match(want, given, scenario.answer_kind)
        tests.append(("answer is correct", ok, f"expected {want!r}, got {given!r}"))
    return Evaluation(tests, bool(meta.get("completed")))


def difficulty_of(user_app_calls: int) -> int:
    """AppWorld's thresholds on ground-truth user-app API calls: 1-3 / 4-7 / >= 8."""
    return 1 if user_app_calls <= 3 else 2 if user_app_calls <= 7 else 3


def shift_iso(now: str, hours: int) -> str:
    return (dt.datetime.fromisoformat(now) + dt.timedelta(hours=hours)).isoformat()


def login(*apps: str) -> str:
    """Ground-truth preamble: read passwords and log in to ``apps`` (``<app>_token`` vars)."""
    lines = [
        "passwords = {a['account_name']: a['password'] for a in "
        "apis.supervisor.show_account_passwords()}",
        "me = apis.supervisor.show_profile()",
    ]
    for app in apps:
        user = "phone_number" if app == "phone" else "email"
        lines.append(
            f"{app}_token = apis.{app}.login(username=me['{user}'], "
            f"password=passwords['{app}'])['access_token']"
        )
    return "\n".join(lines) + "\n"


def pages(var: str, call: str) -> str:
    """Ground-truth code collecting every page of ``call`` (a call string without paging)."""
    head = call[:-1]  # drop the closing parenthesis
    sep = "" if head.endswith("(") else ", "
    return (
        f"{var} = []\n"
        "page = 0\n"
        "while True:\n"
        f"    batch = {head}{sep}page_index=page, page_limit=20)\n"
        f"    {var} += batch\n"
        "    if len(batch) < 20:\n"
        "        break\n"
        "    page += 1\n"
    )
