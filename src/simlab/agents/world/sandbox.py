"""The REPL sandbox, parent side: one locked-down worker process per episode.

The worker (``sandbox_worker.py``, stdlib only) runs the model's code; this side owns the
world's state and answers the worker's ``apis`` calls through ``handler(app, api, kwargs)``,
so hostile code never holds a database handle or any parent object. The parent enforces the
per-cell wall-clock limit by killing the worker, caps every message it reads, caps API calls
per cell, and after a kill restarts the worker and replays the earlier cells with their API
responses served from the call log (no write is repeated), so globals survive (spec §2.6).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from simlab.agents.world.api import MAX_CALLS_PER_CELL, ApiError

__all__ = ["CellResult", "Sandbox", "SandboxConfig"]

WORKER = Path(__file__).with_name("sandbox_worker.py")
MAX_MESSAGE_BYTES = 4 * 2**20

Handler = Callable[[str, str, dict[str, Any]], Any]


@dataclass(frozen=True)
class SandboxConfig:
    """Limits of one REPL. timeout_s: wall clock per cell (s); memory_mb: address space (MiB);
    cpu_seconds: total CPU of one worker (s); max_chars: captured output kept per cell."""

    timeout_s: float = 10.0
    memory_mb: int = 1024
    cpu_seconds: int = 600
    max_chars: int = 100_000
    max_calls_per_cell: int = MAX_CALLS_PER_CELL


@dataclass
class CellResult:
    """The outcome of one cell: output text (``Execution failed. ...`` on error)."""

    output: str
    failed: bool
    timed_out: bool = False
    seconds: float = 0.0
    calls: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)


class _WorkerDied(Exception):
    pass


class Sandbox:
    """A persistent sandboxed Python REPL whose ``apis`` calls go to ``handler``.

    seed: seeds the worker's ``random``; now: ISO datetime returned by ``datetime.now()``.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        seed: int = 0,
        now: str = "2025-01-01T09:00:00",
        config: SandboxConfig | None = None,
    ):
        self.handler = handler
        self.seed, self.now = seed, now
        self.config = config or SandboxConfig()
        self.history: list[tuple[str, list]] = []  # (code, call log) of cells to replay
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self._scratch = tempfile.TemporaryDirectory(prefix="simlab-sandbox-")
        os.chmod(self._scratch.name, 0o755)
        self._buf = b""
        self._cell = 0

    # --- process management ---------------------------------------------------------------
    def start(self) -> None:
        cfg = {
            "seed": self.seed,
            "now": self.now,
            "memory_mb": self.config.memory_mb,
            "cpu_seconds": self.config.cpu_seconds,
            "max_chars": self.config.max_chars,
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-B", str(WORKER), json.dumps(cfg)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=self._scratch.name,
            env={},
            close_fds=True,
            start_new_session=True,
        )
        self._buf = b""

    def close(self) -> None:
        """Kill the worker (if any) and remove the scratch directory."""
        self._kill()
        self._scratch.cleanup()

    def _kill(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                f.close()
            self.proc = None

    def __del__(self) -> None:  # a forgotten sandbox must not leave a worker behind
        with contextlib.suppress(Exception):
            self._kill()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    # --- messaging ------------------------------------------------------------------------
    def _send(self, msg: dict[str, Any]) -> None:
        try:
            self.proc.stdin.write(json.dumps(msg).encode() + b"\n")
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as e:
            raise _WorkerDied(str(e)) from None

    def _recv(self, deadline: float) -> dict[str, Any] | None:
        """The next message, or None when the deadline passes; _WorkerDied on EOF/garbage."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                raise _WorkerDied("the worker exited")
            self._buf += chunk
            if len(self._buf) > MAX_MESSAGE_BYTES and b"\n" not in self._buf:
                raise _WorkerDied("the worker sent an oversized message")
        line, self._buf = self._buf.split(b"\n", 1)
        try:
            msg = json.loads(line)
        except (ValueError, RecursionError):
            raise _WorkerDied("the worker sent a malformed message") from None
        if not isinstance(msg, dict):
            raise _WorkerDied("the worker sent a malformed message")
        return msg

    # --- running cells --------------------------------------------------------------------
    def run(self, code: str) -> CellResult:
        """Run one cell; globals persist across cells. Never raises for anything the code does."""
        if self.proc is None and not self.history:
            self.start()  # first use
        elif not self.alive:
            self._restart()
        self._cell += 1
        t0 = time.monotonic()
        try:
            result = self._exec(code, self._cell, replay=None)
        except _WorkerDied as e:
            self._kill()
            self._restart()
            result = CellResult(
                "Execution failed. Traceback:\nSandboxError: the REPL process died "
                f"({e}); it was restarted and earlier cells replayed",
                failed=True,
            )
        if result.timed_out:
            self._kill()
            self._restart()
        else:
            self.history.append((code, result.calls))
        result.seconds = time.monotonic() - t0
        return result

    def _restart(self) -> None:
        """A fresh worker with earlier cells replayed from the call log (no writes repeated)."""
        self.restarts += 1
        self.start()
        for i, (code, calls) in enumerate(list(self.history), start=1):
            try:
                r = self._exec(code, i, replay=list(calls))
            except _WorkerDied:
                r = CellResult("", True, timed_out=True)
            if r.timed_out:  # cannot replay: drop this and later cells, start clean from here
                self._kill()
                self.history = self.history[: i - 1]
                self.start()
                return

    def _exec(self, code: str, cell: int, replay: list | None) -> CellResult:
        self._send({"op": "exec", "code": code, "cell": cell})
        deadline = time.monotonic() + self.config.timeout_s
        calls: list = []
        while True:
            msg = self._recv(deadline)
            if msg is None:
                return CellResult(
                    "Execution failed. Traceback:\nTimeoutError: the cell ran longer than "
                    f"{self.config.timeout_s:g} s and was stopped; the REPL was restarted and "
                    "earlier cells were replayed",
                    failed=True,
                    timed_out=True,
                    calls=calls,
                )
            if msg.get("op") == "done":
                out = msg.get("output")
                if not isinstance(out, str):
                    raise _WorkerDied("the worker sent a malformed message")
                return CellResult(
                    out[: self.config.max_chars + 200], bool(msg.get("failed")), calls=calls
                )
            if msg.get("op") != "call":
                raise _WorkerDied("the worker sent an unknown message")
            reply = self._answer(msg, calls, replay)
            self._send(reply)

    def _answer(self, msg: dict[str, Any], calls: list, replay: list | None) -> dict[str, Any]:
        app, name, kwargs = msg.get("app"), msg.get("api"), msg.get("kwargs")
        if not (isinstance(app, str) and isinstance(name, str) and isinstance(kwargs, dict)):
            return {"ok": False, "error": "400 malformed API call"}
        if replay is not None:
            if not replay:
                reply = {"ok": False, "error": "409 replay diverged: an unrecorded API call"}
            else:
                r_app, r_name, r_kwargs, reply = replay.pop(0)
                if (r_app, r_name, r_kwargs) != (app, name, kwargs):
                    reply = {"ok": False, "error": "409 replay diverged from the recorded call"}
            calls.append((app, name, kwargs, reply))
            return reply
        if len(calls) >= self.config.max_calls_per_cell:
            reply = {
                "ok": False,
                "error": f"429 at most {self.config.max_calls_per_cell} API calls per cell",
            }
        else:
            try:
                reply = {"ok": True, "result": self.handler(app, name, kwargs)}
            except ApiError as e:
                reply = {"ok": False, "error": str(e)}
        calls.append((app, name, kwargs, reply))
        return reply
