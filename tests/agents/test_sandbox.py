"""The REPL sandbox is a security boundary: hostile cells are stopped, the host stays
healthy, the world's state is untouched, and the REPL keeps working afterwards."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from simlab.agents.world import db
from simlab.agents.world.api import Backend
from simlab.agents.world.generate import World
from simlab.agents.world.sandbox import WORKER, Sandbox, SandboxConfig

CANARY = Path("/tmp/simlab_sandbox_canary")


@pytest.fixture(scope="module")
def repl():
    backend = Backend(World.generate(0).copy(), 0)
    before = db.dump(backend.conn)
    sb = Sandbox(
        backend.call, now="2025-05-01T10:00:00", config=SandboxConfig(timeout_s=1.5, memory_mb=512)
    )
    sb.start()
    sb.run("secret = 42")
    yield sb, backend, before
    sb.close()


HOSTILE = {
    "read file": "open('/etc/passwd').read()",
    "import os": "import os\nos.system('touch /tmp/simlab_sandbox_canary')",
    "import subprocess": "import subprocess",
    "import ctypes": "import ctypes",
    "import socket": "import socket\nsocket.create_connection(('1.1.1.1', 80))",
    "from-import": "from os import path",
    "dunder import": "__import__('os')",
    "import via builtins": "__builtins__['__import__']('os')",
    "class walk": "().__class__.__mro__[1].__subclasses__()",
    "base walk": "x = [].__class__.__base__",
    "function globals": "f = lambda: 0\nf.__globals__",
    "generator frame": "def g():\n    yield 1\nx = g()\nx.gi_frame.f_back",
    "traceback frame": "try:\n    1/0\nexcept Exception as e:\n    e.__traceback__.tb_frame",
    "format trick": "'{0.__class__.__mro__}'.format(1)",
    "format_map trick": "'{x.__class__}'.format_map({'x': 1})",
    "private module attr": "import random\nrandom._os.system('id')",
    "getattr": "getattr(apis, '_app')",
    "eval": "eval('1+1')",
    "exec": "exec('import os')",
    "compile": "compile('1', 'x', 'eval')",
    "globals": "globals()",
    "vars": "vars()",
    "type builtin": "type(1).mro()",
    "proxy internals": "apis.phone._app",
    "fork bomb": "import os\nwhile True:\n    os.fork()",
    "memory bomb": "x = 'x' * 10**10",
    "memory bomb list": "x = [0] * 10**10",
    "string.Formatter": "import string\nstring.Formatter().get_field('0.__class__', [1], {})",
    "from string import Formatter": "from string import Formatter",
    "match class pattern": "match 1:\n    case int(__class__=t):\n        print(t)",
    "match private attr": (
        "import random\nmatch random.random:\n    case object(_os=o):\n        pass"
    ),
    "update_wrapper gadget": (
        "import functools, json\ndef f():\n    pass\n"
        "functools.update_wrapper(f, json.dumps, assigned=(), updated=('__globals__',))"
    ),
    "wraps gadget": "from functools import wraps",
    "rebind builtins": "import math as __builtins__",
    "except-as dunder": "try:\n    1/0\nexcept Exception as __builtins__:\n    pass",
    "global dunder": "def f():\n    global __builtins__",
    "async frame": "async def f():\n    pass",
    "recursion": "def f(n):\n    return f(n + 1)\nf(0)",
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_cell_is_stopped(repl, name):
    sb, backend, before = repl
    r = sb.run(HOSTILE[name])
    assert r.failed and r.output.startswith("Execution failed. Traceback:"), r.output
    assert not CANARY.exists()
    assert db.dump(backend.conn) == before
    # the REPL still works and kept its globals
    assert sb.run("print(secret)").output == "42\n"


def test_infinite_loop_is_killed_and_globals_are_replayed():
    backend = Backend(World.generate(0).copy(), 0)
    sb = Sandbox(backend.call, config=SandboxConfig(timeout_s=1.0))
    try:
        phone = backend.user["phone_number"]
        pw = {
            a["account_name"]: a["password"]
            for a in backend.call("supervisor", "show_account_passwords", {})
        }
        r = sb.run(
            f"t = apis.phone.login(username='{phone}', password='{pw['phone']}')['access_token']\n"
            "apis.phone.send_text_message(access_token=t, phone_number='5550000000', body='hi')\n"
            "n = 7"
        )
        assert not r.failed, r.output
        count = "SELECT COUNT(*) FROM phone_messages WHERE body = 'hi'"
        assert backend.conn.execute(count).fetchone()[0] == 1
        r = sb.run("while True:\n    n += 1")
        assert r.timed_out and "TimeoutError" in r.output
        assert sb.restarts == 1
        # globals restored by replay; the write was served from the log, not repeated
        assert sb.run("print(n, len(t))").output == "7 32\n"
        assert backend.conn.execute(count).fetchone()[0] == 1
    finally:
        sb.close()


def test_huge_output_is_truncated_with_a_note(repl):
    sb, _, _ = repl
    r = sb.run("print('y' * 10_000_000)")
    assert not r.failed
    assert len(r.output) < 200_000 and "[output truncated" in r.output


def test_semantics_errors_and_frozen_time(repl):
    sb, _, _ = repl
    assert sb.run("").output == ""
    assert sb.run("1 + 1").output == "2\n"
    r = sb.run("import datetime\nprint(datetime.datetime.now(), datetime.date.today())")
    assert r.output == "2025-05-01 10:00:00 2025-05-01\n"
    r = sb.run("print('before')\n{}['missing']")
    assert r.output.startswith("before\nExecution failed. Traceback:\n")
    assert r.output.rstrip().endswith("KeyError: 'missing'")
    assert "sandbox_worker" not in r.output  # only agent frames are shown
    r = sb.run("apis.phone.search_contacts(access_token='x')")
    assert r.output.rstrip().endswith(
        "ApiError: 401 access_token is invalid; log in with apis.<app>.login"
    )
    r = sb.run("apis.phone.show_alarms('positional')")
    assert "keyword arguments only" in r.output
    r = sb.run("def f(:\n  pass")
    assert r.failed and "SyntaxError" in r.output


def test_at_most_n_calls_per_cell():
    backend = Backend(World.generate(0).copy(), 0)
    with Sandbox(backend.call, config=SandboxConfig(max_calls_per_cell=5)) as sb:
        r = sb.run("for i in range(10):\n    apis.supervisor.show_profile()")
        assert r.failed and "429 at most 5 API calls per cell" in r.output
        assert len(r.calls) == 6


def test_os_level_lockdown_holds_even_with_real_builtins(tmp_path):
    """Defence in depth: after lock_down, even unrestricted Python cannot open files or
    sockets, write, or fork (the static checks are not the only barrier)."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, os, socket, sys\n"
        f"sys.path.insert(0, {str(WORKER.parent)!r})\n"
        "import sandbox_worker as w\n"
        "chan = w.lock_down({'memory_mb': 512, 'cpu_seconds': 5})\n"
        "res = {}\n"
        "for name, fn in [('open', lambda: open('/etc/hostname').read()),\n"
        f"                 ('write', lambda: open({str(tmp_path / 'x')!r}, 'w')),\n"
        "                 ('socket', lambda: socket.socket()),\n"
        "                 ('fork', lambda: os.fork())]:\n"
        "    try:\n"
        "        fn(); res[name] = 'ALLOWED'\n"
        "    except BaseException as e:\n"
        "        res[name] = type(e).__name__\n"
        "chan.send(res)\n"
    )
    out = subprocess.run(
        [sys.executable, "-I", "-S", str(probe)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=30,
    )
    res = json.loads(out.stdout)
    assert set(res) == {"open", "write", "socket", "fork"}
    assert "ALLOWED" not in res.values(), res
    assert not (tmp_path / "x").exists()


def test_worker_runs_without_environment_or_secrets():
    backend = Backend(World.generate(0).copy(), 0)
    with Sandbox(backend.call) as sb:
        sb.run("1")
        env = Path(f"/proc/{sb.proc.pid}/environ").read_bytes()
        assert env == b""
        assert os.path.realpath(f"/proc/{sb.proc.pid}/cwd") != os.getcwd()


def _children() -> set[int]:
    me, out = str(os.getpid()), set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if f"\nPPid:\t{me}\n" in status:
            out.add(int(pid))
    return out


def test_no_worker_outlives_its_sandbox():
    backend = Backend(World.generate(0).copy(), 0)
    before = _children()
    sb = Sandbox(backend.call, config=SandboxConfig(timeout_s=0.5))
    sb.run("x = 1")
    sb.run("while True: pass")  # killed and restarted
    assert len(_children() - before) == 1
    sb.close()
    assert _children() - before == set()
