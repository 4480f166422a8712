"""The API contract: declaring, validating and dispatching ``apis.<app>.<api>(**kwargs)`` calls.

An API is a method of an ``App`` subclass decorated with ``@api(...)``; its type-annotated
parameters (``Annotated[int, Range(1, 20)]`` for constraints) and docstring (a summary line,
then one ``name: description`` line per parameter, then optionally ``Returns: ...``) are the
single source of both validation and the ``api_docs`` documentation.

``Backend`` owns one state (a SQLite connection) and dispatches calls: it validates every
argument before touching state, checks the access token of ``auth`` APIs, slices paginated
results, runs each mutating call in a savepoint (a failed call changes nothing), stamps writes
with the frozen clock and advances it by one second per successful write.
"""

from __future__ import annotations

import datetime as dt
import inspect
import json
import sqlite3
import types
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any

from simlab.agents.world.rng import token_for

__all__ = [
    "MAX_CALLS_PER_CELL",
    "Annotated",
    "ApiError",
    "ApiSpec",
    "App",
    "Backend",
    "IsoDate",
    "IsoTime",
    "Length",
    "OneOf",
    "Param",
    "Range",
    "api",
]

MAX_CALLS_PER_CELL = 1000
PAGE_LIMIT_MAX = 20
MAX_STRING = 100_000  # characters in any string argument (keeps states small)
MAX_STATE_BYTES = 64 * 2**20  # the parent's copy of a state may not grow beyond this


class ApiError(Exception):
    """An API failure with an HTTP-like status; ``str`` is ``"<status> <message>"``."""

    def __init__(self, status: int, message: str):
        super().__init__(status, message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return f"{self.status} {self.message}"


# --- parameter constraints (used inside typing.Annotated) ---------------------------------


@dataclass(frozen=True)
class Range:
    """Inclusive numeric bounds; ``None`` = unbounded."""

    lo: float | None = None
    hi: float | None = None

    def check(self, name: str, v: Any) -> None:
        if (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            if self.hi is None:
                raise ApiError(422, f"{name} must be at least {self.lo}, got {v}")
            if self.lo is None:
                raise ApiError(422, f"{name} must be at most {self.hi}, got {v}")
            raise ApiError(422, f"{name} must be between {self.lo} and {self.hi}, got {v}")

    def describe(self) -> str:
        if self.hi is None:
            return f">= {self.lo}"
        if self.lo is None:
            return f"<= {self.hi}"
        return f"between {self.lo} and {self.hi}"


@dataclass(frozen=True)
class Length:
    """Inclusive bounds on the length of a string or list."""

    lo: int = 0
    hi: int | None = None

    def check(self, name: str, v: Any) -> None:
        n = len(v)
        if n < self.lo or (self.hi is not None and n > self.hi):
            hi = "" if self.hi is None else f" and at most {self.hi}"
            raise ApiError(422, f"{name} must have length at least {self.lo}{hi}, got {n}")

    def describe(self) -> str:
        return f"length {self.lo}..{'' if self.hi is None else self.hi}"


class OneOf:
    """The value must be one of a fixed set."""

    def __init__(self, *values: Any):
        self.values = values

    def check(self, name: str, v: Any) -> None:
        if v not in self.values:
            raise ApiError(422, f"{name} must be one of {list(self.values)}, got {v!r}")

    def describe(self) -> str:
        return f"one of {list(self.values)}"


class IsoDate:
    """An ISO date ``YYYY-MM-DD``."""

    def check(self, name: str, v: Any) -> None:
        try:
            dt.date.fromisoformat(v)
            ok = len(v) == 10
        except ValueError:
            ok = False
        if not ok:
            raise ApiError(422, f"{name} must be an ISO date YYYY-MM-DD, got {v!r}")

    def describe(self) -> str:
        return "ISO date YYYY-MM-DD"


class IsoTime:
    """A 24-hour time ``HH:MM``."""

    def check(self, name: str, v: Any) -> None:
        try:
            dt.time.fromisoformat(v)
            ok = len(v) == 5
        except ValueError:
            ok = False
        if not ok:
            raise ApiError(422, f"{name} must be a time HH:MM, got {v!r}")

    def describe(self) -> str:
        return "time HH:MM"


# --- declarations -------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One declared parameter (the ``api_docs`` parameter record)."""

    name: str
    type: str  # "int", "float", "str", "bool", "list[str]", "list[int]", optionally "| None"
    required: bool
    default: Any
    description: str
    constraints: tuple = ()

    def doc(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": None if self.required else self.default,
            "description": self.description,
            "constraints": [c.describe() for c in self.constraints],
        }


@dataclass(frozen=True)
class ApiSpec:
    """One declared API."""

    app: str
    name: str
    method: str
    auth: bool
    paginated: bool
    mutates: bool
    description: str
    returns: str
    params: tuple[Param, ...]

    @property
    def path(self) -> str:
        return f"/{self.app}/{self.name}"

    def doc(self) -> dict[str, Any]:
        return {
            "app_name": self.app,
            "api_name": self.name,
            "method": self.method,
            "path": self.path,
            "description": self.description,
            "parameters": [p.doc() for p in self.params],
            "response": {
                "success": self.returns,
                "failure": "ApiError(status, message) naming the parameter and what was expected",
            },
        }


def api(
    method: str = "GET", auth: bool = True, paginated: bool = False, mutates: bool | None = None
):
    """Mark an ``App`` method as an API (``method`` one of GET/POST/PUT/DELETE).

    ``mutates`` defaults to ``method != "GET"`` (``login`` is a POST that changes nothing).
    """
    assert method in ("GET", "POST", "PUT", "DELETE"), method

    def mark(fn):
        fn._api = (method, auth, paginated, method != "GET" if mutates is None else mutates)
        return fn

    return mark


_TYPE_NAMES = {int: "int", float: "float", str: "str", bool: "bool", list: "list"}


def _type_name(tp: Any) -> tuple[str, Any, bool]:
    """(display name, checker type, optional) of an annotation (without Annotated extras)."""
    if tp is Any:
        return "any", Any, True
    optional = False
    args = typing.get_args(tp)
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        optional = len(rest) < len(args)
        tp = rest[0]
    if typing.get_origin(tp) is list:
        (inner,) = typing.get_args(tp)
        name = f"list[{_TYPE_NAMES[inner]}]"
        return (name + (" | None" if optional else "")), (list, inner), optional
    return _TYPE_NAMES[tp] + (" | None" if optional else ""), tp, optional


def _parse_doc(fn) -> tuple[str, dict[str, str], str]:
    doc = inspect.getdoc(fn) or ""
    lines = [ln.strip() for ln in doc.splitlines()]
    summary = lines[0] if lines else ""
    params, returns = {}, ""
    for ln in lines[1:]:
        if ln.startswith("Returns:"):
            returns = ln[len("Returns:") :].strip()
        elif ":" in ln and ln.split(":", 1)[0].isidentifier():
            name, text = ln.split(":", 1)
            params[name] = text.strip()
    return summary, params, returns


def build_spec(app: str, fn) -> ApiSpec:
    """The ``ApiSpec`` of one decorated method (signature + docstring)."""
    method, auth, paginated, mutates = fn._api
    summary, pdocs, returns = _parse_doc(fn)
    hints = typing.get_type_hints(fn, include_extras=True)
    params: list[Param] = []
    if auth:
        params.append(
            Param("access_token", "str", True, None, "Access token from this app's login.")
        )
    for name, p in inspect.signature(fn).parameters.items():
        if name == "self":
            continue
        if p.kind is not p.KEYWORD_ONLY:
            raise TypeError(f"{app}.{fn.__name__}: parameter {name} must be keyword-only")
        hint = hints[name]
        constraints: tuple = ()
        if typing.get_origin(hint) is Annotated:
            hint, *extra = typing.get_args(hint)
            constraints = tuple(extra)
        tname, _, _ = _type_name(hint)
        if name not in pdocs:
            raise TypeError(f"{app}.{fn.__name__}: parameter {name} lacks a docstring line")
        required = p.default is inspect.Parameter.empty
        params.append(
            Param(name, tname, required, None if required else p.default, pdocs[name], constraints)
        )
    if paginated:
        params.append(
            Param("page_index", "int", False, 0, "Page to return (0-based).", (Range(0),))
        )
        params.append(
            Param(
                "page_limit",
                "int",
                False,
                5,
                "Results per page.",
                (Range(1, PAGE_LIMIT_MAX),),
            )
        )
    if not summary:
        raise TypeError(f"{app}.{fn.__name__} lacks a docstring")
    return ApiSpec(
        app, fn.__name__, method, auth, paginated, mutates, summary, returns, tuple(params)
    )


def _check_type(name: str, tname: str, v: Any) -> Any:
    """Validate ``v`` against a display type name; only int -> float is coerced."""
    base = tname.removesuffix(" | None")
    if base == "any":
        if not _is_answer(v):
            raise ApiError(422, f"{name} must be a string, number, list of those, or None")
        return v
    if v is None:
        if tname.endswith("| None"):
            return None
        raise ApiError(422, f"{name} must be of type {base}, got None")
    ok: bool
    if base == "int":
        ok = isinstance(v, int) and not isinstance(v, bool)
    elif base == "float":
        ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        if ok:
            v = float(v)
    elif base == "str":
        ok = isinstance(v, str)
        if ok and len(v) > MAX_STRING:
            raise ApiError(422, f"{name} must be at most {MAX_STRING} characters, got {len(v)}")
    elif base == "bool":
        ok = isinstance(v, bool)
    elif base.startswith("list["):
        inner = base[5:-1]
        ok = isinstance(v, list) and all(
            isinstance(x, str)
            if inner == "str"
            else (isinstance(x, int) and not isinstance(x, bool))
            for x in v
        )
    else:  # pragma: no cover - declarations use only the types above
        raise TypeError(base)
    if not ok:
        raise ApiError(422, f"{name} must be of type {base}, got {type(v).__name__} {v!r:.60}")
    return v


def _is_answer(v: Any) -> bool:
    if v is None or isinstance(v, (str, int, float, bool)):
        return True
    return isinstance(v, list) and all(
        x is None or isinstance(x, (str, int, float, bool)) for x in v
    )


class App:
    """Base class of an app: subclasses set ``name``, ``description`` and declare ``@api``s.

    Helpers run SQL on the backend's connection; ``stamp()`` is the frozen clock's now.
    """

    name: str = ""
    description: str = ""
    username_kind: str = "email"  # the login username: the user's "email" or "phone_number"

    def __init__(self, backend: Backend):
        self.backend = backend
        self.db = backend.conn

    # read helpers
    def rows(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(sql, args).fetchall()]

    def row(self, table: str, id_: int, what: str | None = None) -> dict[str, Any]:
        r = self.db.execute(f"SELECT * FROM {table} WHERE id = ?", (id_,)).fetchone()
        if r is None:
            raise ApiError(404, f"no {what or table.split('_', 1)[1].rstrip('s')} with id {id_}")
        return dict(r)

    def scalar(self, sql: str, *args: Any) -> Any:
        r = self.db.execute(sql, args).fetchone()
        return None if r is None else r[0]

    # write helpers (only inside mutating APIs)
    def insert(self, table: str, **values: Any) -> int:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        cur = self.db.execute(
            f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values())
        )
        return cur.lastrowid

    def update(self, table: str, where: dict[str, Any], **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        cond = " AND ".join(f"{k} = ?" for k in where)
        self.db.execute(
            f"UPDATE {table} SET {sets} WHERE {cond}", (*values.values(), *where.values())
        )

    def delete(self, table: str, **where: Any) -> int:
        cond = " AND ".join(f"{k} = ?" for k in where)
        return self.db.execute(f"DELETE FROM {table} WHERE {cond}", tuple(where.values())).rowcount

    def stamp(self) -> str:
        """The frozen "now" as ISO text (advanced by the backend after each write)."""
        return self.backend.now()

    @property
    def user(self) -> dict[str, Any]:
        return self.backend.user


@dataclass
class CallRecord:
    """One dispatched call: app, api, arguments, whether it succeeded, and the response."""

    app: str
    api: str
    kwargs: dict[str, Any]
    ok: bool
    response: Any


@dataclass
class Backend:
    """Dispatches API calls against one state. ``apps`` are instantiated per backend.

    conn: the state (SQLite, in memory). seed: the world seed (tokens derive from it).
    """

    conn: sqlite3.Connection
    seed: int
    log: list[CallRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        from simlab.agents.world.apps import APP_CLASSES

        self.apps: dict[str, App] = {cls.name: cls(self) for cls in APP_CLASSES}
        self.specs: dict[str, dict[str, ApiSpec]] = {a: specs_of(a) for a in self.apps}
        self.user = dict(
            self.conn.execute(
                "SELECT first_name, last_name, email, phone_number FROM supervisor_people "
                "WHERE id = 1"
            ).fetchone()
        )
        self.tokens: dict[str, tuple[str, str]] = {}
        for name, app in self.apps.items():
            if any(s.auth for s in self.specs[name].values()):
                username = self.user[app.username_kind]
                self.tokens[token_for(self.seed, name, username)] = (name, username)

    def _state_bytes(self) -> int:
        pages = self.conn.execute("PRAGMA page_count").fetchone()[0]
        return pages * self.conn.execute("PRAGMA page_size").fetchone()[0]

    # clock
    def now(self) -> str:
        return self.conn.execute("SELECT now FROM meta_clock WHERE id = 1").fetchone()[0]

    def _advance(self) -> None:
        t = dt.datetime.fromisoformat(self.now()) + dt.timedelta(seconds=1)
        self.conn.execute("UPDATE meta_clock SET now = ? WHERE id = 1", (t.isoformat(),))

    @property
    def completed(self) -> bool:
        r = self.conn.execute("SELECT completed FROM meta_task WHERE id = 1").fetchone()
        return bool(r and r[0])

    def call(self, app: str, name: str, kwargs: dict[str, Any]) -> Any:
        """Validate and run one call; returns a fresh JSON-compatible value or raises ApiError."""
        try:
            result = self._call(app, name, kwargs)
        except ApiError as e:
            self.log.append(CallRecord(app, name, kwargs, False, str(e)))
            raise
        self.log.append(CallRecord(app, name, kwargs, True, result))
        return result

    def _call(self, app: str, name: str, kwargs: dict[str, Any]) -> Any:
        if app not in self.apps:
            raise ApiError(404, f"no app named {app!r}; apps: {sorted(self.apps)}")
        specs = self.specs[app]
        if name not in specs:
            raise ApiError(404, f"app {app!r} has no API {name!r}; see apis.api_docs")
        if self.completed and not (app == "supervisor" and name == "show_active_task"):
            raise ApiError(409, "the task is already completed; no further calls are allowed")
        spec = specs[name]
        if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
            raise ApiError(422, "arguments must be keywords")
        clean = validate(spec, kwargs)
        if spec.auth:
            token = clean.pop("access_token")
            owner = self.tokens.get(token)
            if owner is None:
                raise ApiError(401, "access_token is invalid; log in with apis.<app>.login")
            if owner[0] != app:
                raise ApiError(401, f"access_token belongs to app {owner[0]!r}, not {app!r}")
        page = (clean.pop("page_index", 0), clean.pop("page_limit", 5)) if spec.paginated else None
        method = getattr(self.apps[app], name)
        if spec.mutates:
            self.conn.execute("SAVEPOINT api_call")
            try:
                result = method(**clean)
                if self._state_bytes() > MAX_STATE_BYTES:
                    raise ApiError(507, f"storage quota of {MAX_STATE_BYTES >> 20} MiB exceeded")
            except BaseException:
                self.conn.execute("ROLLBACK TO api_call")
                self.conn.execute("RELEASE api_call")
                raise
            self._advance()
            self.conn.execute("RELEASE api_call")
        else:
            result = method(**clean)
        if page is not None:
            result = result[page[0] * page[1] : (page[0] + 1) * page[1]]
        return json.loads(json.dumps(result))  # deep copy, JSON-compatible by construction


def validate(spec: ApiSpec, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Arguments checked and defaulted; raises ApiError(422/400) naming the parameter."""
    known = {p.name: p for p in spec.params}
    for k in kwargs:
        if k not in known:
            raise ApiError(
                422,
                f"unknown parameter {k!r} for {spec.app}.{spec.name}; "
                f"parameters: {', '.join(known) or 'none'}",
            )
    out: dict[str, Any] = {}
    for p in spec.params:
        if p.name not in kwargs:
            if p.required:
                raise ApiError(
                    422,
                    f"missing required parameter {p.name!r} ({p.type}) of {spec.app}.{spec.name}",
                )
            out[p.name] = p.default
            continue
        v = _check_type(p.name, p.type, kwargs[p.name])
        if v is not None:
            for c in p.constraints:
                c.check(p.name, v)
        out[p.name] = v
    return out


_SPEC_CACHE: dict[str, dict[str, ApiSpec]] = {}


def specs_of(app: str) -> dict[str, ApiSpec]:
    """The declared APIs of ``app`` by name, in declaration order (cached)."""
    if app not in _SPEC_CACHE:
        from simlab.agents.world.apps import APP_CLASSES

        (cls,) = [c for c in APP_CLASSES if c.name == app]
        fns = {}
        for klass in reversed(cls.__mro__):  # inherited APIs (login) come first
            fns.update({k: f for k, f in vars(klass).items() if hasattr(f, "_api")})
        _SPEC_CACHE[app] = {name: build_spec(app, fn) for name, fn in fns.items()}
    return _SPEC_CACHE[app]
