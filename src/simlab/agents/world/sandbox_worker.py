"""The sandboxed REPL worker: runs untrusted code cells in its own locked-down process.

Run as a script by ``sandbox.Sandbox`` (``python -I -S sandbox_worker.py <config json>``); it
imports only the standard library and never imports simlab. Before the first cell it
pre-imports the allowed modules, redirects fds 0-2 to /dev/null (the protocol uses private
duplicates of the original pipes), moves into a fresh network namespace when the kernel
allows it, drops root to ``nobody``, sets ``no_new_privs`` and resource limits (address space,
CPU time, no new processes, file size 0, and an open-files limit equal to the fds already open,
so no file or socket can ever be opened). Each cell is checked statically (allowed imports
only, no dunder or private attributes, no frame/code attributes, no ``format`` traversal, no
dangerous builtins) and executed with restricted builtins and persistent globals. The world's
state lives in the parent; ``apis`` here is a proxy that sends ``(app, api, kwargs)`` as JSON
and receives JSON back.

Protocol (one JSON object per line). Parent -> worker: ``{"op": "exec", "code", "cell"}`` and
replies ``{"ok": true, "result"}`` / ``{"ok": false, "error"}`` to calls. Worker -> parent:
``{"op": "call", "app", "api", "kwargs"}`` and ``{"op": "done", "output", "failed"}``.
"""

import ast
import collections
import collections.abc
import datetime as _dt
import importlib
import io
import json
import linecache
import os
import random
import resource
import sys
import traceback
import types

ALLOWED_MODULES = (
    "math", "re", "json", "datetime", "collections", "itertools", "functools", "statistics",
    "string", "random",
)  # fmt: skip
FORBIDDEN_CALLS = frozenset(
    ("exec", "eval", "compile", "open", "input", "globals", "locals", "vars", "getattr",
     "setattr", "delattr", "breakpoint", "help", "exit", "quit")
)  # fmt: skip
# attribute names that lead from ordinary objects to frames, code, globals or builtins
FORBIDDEN_ATTR_PREFIXES = ("_", "gi_", "cr_", "ag_", "f_", "tb_", "co_", "func_", "im_")
FORBIDDEN_ATTRS = frozenset(("mro", "format", "format_map", "with_traceback"))

SAFE_BUILTINS = [
    "abs",
    "all",
    "any",
    "ascii",
    "bin",
    "bool",
    "bytearray",
    "bytes",
    "callable",
    "chr",
    "complex",
    "dict",
    "divmod",
    "enumerate",
    "filter",
    "float",
    "format",
    "frozenset",
    "hash",
    "hex",
    "id",
    "int",
    "isinstance",
    "issubclass",
    "iter",
    "len",
    "list",
    "map",
    "max",
    "min",
    "next",
    "oct",
    "ord",
    "pow",
    "print",
    "range",
    "repr",
    "reversed",
    "round",
    "set",
    "slice",
    "sorted",
    "str",
    "sum",
    "tuple",
    "zip",
    "property",
    "ArithmeticError",
    "AssertionError",
    "AttributeError",
    "BaseException",
    "Exception",
    "IndexError",
    "KeyError",
    "LookupError",
    "NameError",
    "NotImplementedError",
    "OverflowError",
    "RecursionError",
    "RuntimeError",
    "StopIteration",
    "TimeoutError",
    "TypeError",
    "ValueError",
    "ZeroDivisionError",
    "MemoryError",
]


class SandboxError(Exception):
    """A cell was rejected by the static check."""


class ApiError(Exception):
    """An API call failed; the message is ``"<status> <reason>"``."""


HIDDEN_GETATTR = (
    ("string", "Formatter"),
    ("functools", "update_wrapper"),
    ("functools", "wraps"),
)
# AST fields that bind or name identifiers (variables, functions, arguments, aliases, ...)
IDENT_FIELDS = ("id", "name", "arg", "asname", "rest")
ASYNC_NODES = (ast.AsyncFunctionDef, ast.Await, ast.AsyncFor, ast.AsyncWith)


def _bad_attr(a: str) -> bool:
    return a.startswith(FORBIDDEN_ATTR_PREFIXES) or a in FORBIDDEN_ATTRS


def check(tree: ast.AST) -> None:
    """Reject forbidden constructs; raises SandboxError naming the construct and line."""
    allowed = ", ".join(ALLOWED_MODULES)
    for node in ast.walk(tree):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name not in ALLOWED_MODULES and a.name != "collections.abc":
                    raise SandboxError(
                        f"line {line}: import of {a.name!r} is not allowed; allowed modules: "
                        + allowed
                    )
        elif isinstance(node, ast.ImportFrom):
            if node.level or node.module not in (*ALLOWED_MODULES, "collections.abc"):
                raise SandboxError(
                    f"line {line}: import from {node.module!r} is not allowed; allowed "
                    "modules: " + allowed
                )
            for a in node.names:
                if a.name.startswith("_"):
                    raise SandboxError(f"line {line}: importing private name {a.name!r}")
        elif isinstance(node, ASYNC_NODES):
            raise SandboxError(f"line {line}: async code is not supported")
        # attribute names: obj.attr, and class patterns `case C(attr=...)` (a hidden getattr)
        attrs = [node.attr] if isinstance(node, ast.Attribute) else []
        if isinstance(node, ast.MatchClass):
            attrs += node.kwd_attrs
        for a in attrs:
            if _bad_attr(a):
                hint = " (use an f-string)" if a in ("format", "format_map") else ""
                raise SandboxError(f"line {line}: access to attribute {a!r} is not allowed{hint}")
        # identifiers: no dunder names anywhere (they reach __builtins__, __class__, ...)
        names = [getattr(node, f, None) for f in IDENT_FIELDS]
        if isinstance(node, (ast.Global, ast.Nonlocal)):
            names += node.names
        for n in names:
            if isinstance(n, str) and n.startswith("__") and not isinstance(node, ast.alias):
                raise SandboxError(f"line {line}: the name {n!r} is not allowed")
        if isinstance(node, ast.alias) and (node.asname or "").startswith("__"):
            raise SandboxError(f"line {line}: the name {node.asname!r} is not allowed")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_CALLS:
            raise SandboxError(f"line {line}: {node.id!r} is not available in this sandbox")
        if isinstance(node, ast.keyword) and node.arg is not None and node.arg.startswith("__"):
            raise SandboxError(f"line {line}: the name {node.arg!r} is not allowed")


def frozen_datetime_module(now_iso: str) -> types.ModuleType:
    """A ``datetime`` module whose ``now``/``today``/``utcnow`` return the frozen time."""
    frozen = _dt.datetime.fromisoformat(now_iso)

    class datetime(_dt.datetime):
        @classmethod
        def now(cls, tz=None):
            t = cls.combine(frozen.date(), frozen.time())
            return t if tz is None else t.replace(tzinfo=tz)

        @classmethod
        def today(cls):
            return cls.now()

        @classmethod
        def utcnow(cls):
            return cls.now()

    class date(_dt.date):
        @classmethod
        def today(cls):
            return cls(frozen.year, frozen.month, frozen.day)

    mod = public_module(_dt)
    mod.datetime, mod.date = datetime, date
    return mod


def public_module(mod: types.ModuleType) -> types.ModuleType:
    """A namespace with a module's public, non-module attributes (no path to ``sys``/``os``)."""
    ns = types.ModuleType(mod.__name__)
    for name in dir(mod):
        v = getattr(mod, name)
        if not name.startswith("_") and not isinstance(v, types.ModuleType):
            setattr(ns, name, v)
    return ns


class CappedWriter(io.TextIOBase):
    """A text sink keeping at most ``limit`` characters."""

    def __init__(self, limit: int):
        self.limit, self.parts, self.size, self.truncated = limit, [], 0, False

    def write(self, s):
        s = str(s)
        room = self.limit - self.size
        if len(s) > room:
            s, self.truncated = s[: max(room, 0)], True
        self.parts.append(s)
        self.size += len(s)
        return len(s)

    def getvalue(self) -> str:
        return "".join(self.parts)


class Channel:
    def __init__(self, rfd: int, wfd: int):
        self.r = os.fdopen(rfd, "rb")
        self.w = os.fdopen(wfd, "wb")

    def send(self, msg) -> None:
        self.w.write(json.dumps(msg).encode() + b"\n")
        self.w.flush()

    def recv(self):
        line = self.r.readline()
        if not line:
            os._exit(0)  # the parent went away
        return json.loads(line)


def make_apis(chan: Channel):
    """The ``apis`` proxy: ``apis.<app>.<api>(**kwargs)`` -> a JSON round trip to the parent."""

    def call(app: str, name: str, kwargs: dict):
        try:
            payload = json.dumps({"op": "call", "app": app, "api": name, "kwargs": kwargs})
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"API arguments must be JSON values (str, number, bool, list, dict, None): {e}"
            ) from None
        chan.w.write(payload.encode() + b"\n")
        chan.w.flush()
        reply = chan.recv()
        if reply["ok"]:
            return reply["result"]
        raise ApiError(reply["error"])

    class Api:
        __slots__ = ("_app", "_name")

        def __init__(self, app, name):
            self._app, self._name = app, name

        def __call__(self, *args, **kwargs):
            if args:
                raise TypeError(f"apis.{self._app}.{self._name} takes keyword arguments only")
            return call(self._app, self._name, kwargs)

        def __repr__(self):
            return f"<api apis.{self._app}.{self._name}>"

    class AppProxy:
        __slots__ = ("_app",)

        def __init__(self, app):
            self._app = app

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            return Api(self._app, name)

        def __repr__(self):
            return f"<app apis.{self._app}>"

    class Apis:
        __slots__ = ()

        def __getattr__(self, name):
            if name.startswith("_"):
                raise AttributeError(name)
            return AppProxy(name)

        def __repr__(self):
            return "<apis: use apis.<app>.<api>(**kwargs); see apis.api_docs>"

    return Apis()


def lock_down(cfg: dict) -> Channel:
    """Move the protocol to private fds, drop privileges and set resource limits."""
    chan = Channel(os.dup(0), os.dup(1))
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    try:  # a private, empty network namespace (no interfaces): best effort
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        clone_newnet, clone_newuser = 0x40000000, 0x10000000
        flags = clone_newnet if os.geteuid() == 0 else clone_newnet | clone_newuser
        libc.unshare(flags)
        libc.prctl(38, 1, 0, 0, 0)  # PR_SET_NO_NEW_PRIVS
    except Exception:
        pass
    if os.geteuid() == 0:  # root ignores RLIMIT_NPROC: become nobody
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    keep = max(chan.r.fileno(), chan.w.fileno())
    os.closerange(keep + 1, 65536)
    mem = int(cfg["memory_mb"]) * 2**20
    cpu = int(cfg["cpu_seconds"])
    limits = [
        (resource.RLIMIT_AS, mem),
        (resource.RLIMIT_CPU, cpu),
        (resource.RLIMIT_NPROC, 0),
        (resource.RLIMIT_FSIZE, 0),
        (resource.RLIMIT_CORE, 0),
        (resource.RLIMIT_NOFILE, keep + 1),  # every fd below is taken: nothing new can open
    ]
    for what, value in limits:
        resource.setrlimit(what, (value, value))
    return chan


def format_failure(e: BaseException) -> str:
    """``Execution failed. Traceback:`` + agent frames only + ``ExcType: message``."""
    te = traceback.TracebackException(type(e), e, e.__traceback__, limit=50)
    te.stack = traceback.StackSummary.from_list(
        [f for f in te.stack if f.filename.startswith("<cell")]
    )
    te.__cause__ = te.__context__ = None
    text = "".join(te.format()).replace("Traceback (most recent call last):\n", "")
    return "Execution failed. Traceback:\n" + text.rstrip("\n")


def main() -> None:
    cfg = json.loads(sys.argv[1])
    random.seed(cfg["seed"])
    # imported here, before the lock-down, because importing needs new file descriptors
    modules = {m: public_module(importlib.import_module(m)) for m in ALLOWED_MODULES}
    modules["datetime"] = frozen_datetime_module(cfg["now"])
    modules["collections.abc"] = public_module(collections.abc)
    # gadgets that look attributes up by a string the cell controls (a hidden getattr):
    # string.Formatter resolves "{0.attr}" fields to objects; functools.update_wrapper/wraps
    # copy or merge arbitrary named attributes (e.g. a function's __globals__)
    for mod, name in HIDDEN_GETATTR:
        delattr(modules[mod], name)
    modules["collections"].abc = modules["collections.abc"]

    def safe_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level or name not in modules:
            raise ImportError(f"import of {name!r} is not allowed")
        return modules[name] if fromlist or "." not in name else modules[name.split(".")[0]]

    import builtins

    safe = {k: getattr(builtins, k) for k in SAFE_BUILTINS}
    safe["__import__"] = safe_import
    safe["ApiError"] = ApiError
    chan = lock_down(cfg)
    env = {"__builtins__": safe, "__name__": "__main__", "apis": make_apis(chan)}
    # touch lazily-initialised machinery once while allowed, so cells never need new fds
    format_failure(ValueError("warm-up"))
    while True:
        msg = chan.recv()
        out = CappedWriter(int(cfg["max_chars"]))
        sys.stdout = sys.stderr = out
        failed = False
        name = f"<cell {msg['cell']}>"
        try:
            code = msg["code"]
            linecache.cache[name] = (len(code), None, code.splitlines(True), name)
            tree = ast.parse(code, name)
            check(tree)
            last = None
            if tree.body and isinstance(tree.body[-1], ast.Expr):
                last = ast.Expression(tree.body.pop().value)
            exec(compile(tree, name, "exec"), env)
            if last is not None:
                value = eval(compile(last, name, "eval"), env)
                if value is not None:
                    print(repr(value))
        except SandboxError as e:
            failed = True
            out.write(f'Execution failed. Traceback:\n  File "{name}"\nSandboxError: {e}')
        except BaseException as e:  # everything the cell raises is reported, never fatal
            failed = True
            try:
                sep = "\n" if out.size and not out.getvalue().endswith("\n") else ""
                out.write(sep + format_failure(e))
            except BaseException:
                out.write(f"Execution failed. Traceback:\n{type(e).__name__}: (unprintable)")
        finally:
            sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__
        text = out.getvalue()
        if out.truncated:
            text += f"\n[output truncated: more than {cfg['max_chars']} characters]"
        chan.send({"op": "done", "output": text, "failed": failed})


if __name__ == "__main__":
    main()
