"""Atomic checkpoints for JAX/NumPy pytrees and PyTorch state dicts, with resume.

Every write goes to a temporary file in the same folder, is flushed and fsync'ed, and is then
renamed over the destination (``os.replace`` is atomic on POSIX), so a run killed at any
instant leaves either the previous checkpoint or the new one, never a torn file.

Pytrees are stored as ``.npz`` (one array per leaf, in ``jax.tree_util`` flattening order)
plus a JSON header (step, user metadata, leaf shapes/dtypes). Loading takes a template pytree
``like`` that supplies the structure, as ``equinox.tree_deserialise_leaves`` does, and
checks that every leaf's shape and dtype match.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from simlab.core.errors import DataError

__all__ = ["Checkpointer", "atomic_write", "load_pytree", "save_pytree"]

_STEP_FILE = re.compile(r"^step_(\d{10})\.(npz|pt)$")


def atomic_write(path: str | Path, write: Callable[[io.BufferedWriter], None]) -> Path:
    """Call ``write(f)`` on a temp file beside ``path``, fsync it, then rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    # Make the rename itself durable (the directory entry), where the OS allows it.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _leaves(tree: Any) -> list[Any]:
    import jax

    return jax.tree_util.tree_leaves(tree)


def save_pytree(path: str | Path, tree: Any, step: int = 0, meta: dict | None = None) -> Path:
    """Atomically save the array leaves of ``tree`` with ``step`` and JSON-able ``meta``.

    PRNG keys must be raw ``uint32`` key arrays (``jax.random.key_data``) or legacy keys.
    """
    leaves = [np.asarray(x) for x in _leaves(tree)]
    header = {
        "step": int(step),
        "meta": meta or {},
        "leaves": [[list(x.shape), x.dtype.str] for x in leaves],
    }
    arrays = {f"leaf_{i:05d}": x for i, x in enumerate(leaves)}
    arrays["__header__"] = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    return atomic_write(path, lambda f: np.savez(f, **arrays))


def read_header(path: str | Path) -> dict[str, Any]:
    """The JSON header (step, meta, leaf shapes) of a pytree checkpoint."""
    path = Path(path)
    try:
        with np.load(path) as z:
            return json.loads(z["__header__"].tobytes().decode())
    except (OSError, ValueError, KeyError) as e:
        raise DataError(f"checkpoint {path}: unreadable ({e})") from None


def load_pytree(path: str | Path, like: Any) -> tuple[Any, int, dict]:
    """Load a checkpoint into the structure of ``like``; returns (tree, step, meta).

    Raises DataError naming the file and the first leaf whose count, shape or dtype differs.
    """
    import jax

    path = Path(path)
    header = read_header(path)
    template, treedef = jax.tree_util.tree_flatten(like)
    with np.load(path) as z:
        leaves = [z[f"leaf_{i:05d}"] for i in range(len(header["leaves"]))]
    if len(leaves) != len(template):
        raise DataError(
            f"checkpoint {path}: has {len(leaves)} leaves, the template has {len(template)}"
        )
    for i, (saved, want) in enumerate(zip(leaves, template)):
        want = np.asarray(want)
        if saved.shape != want.shape or saved.dtype != want.dtype:
            raise DataError(
                f"checkpoint {path}: leaf {i} is {saved.dtype}{list(saved.shape)}, "
                f"the template expects {want.dtype}{list(want.shape)}"
            )
    restored = [
        jax.numpy.asarray(x) if isinstance(t, jax.Array) else x for x, t in zip(leaves, template)
    ]
    return jax.tree_util.tree_unflatten(treedef, restored), header["step"], header["meta"]


def save_torch(path: str | Path, state: dict, step: int = 0, meta: dict | None = None) -> Path:
    """Atomically save a torch state dict (or a dict of them) with ``step`` and ``meta``."""
    import torch

    payload = {"state": state, "step": int(step), "meta": meta or {}}
    return atomic_write(path, lambda f: torch.save(payload, f))


def load_torch(path: str | Path) -> tuple[dict, int, dict]:
    """Load a checkpoint written by ``save_torch`` (tensors only; no pickled code)."""
    import torch

    path = Path(path)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises several types for a torn or foreign file
        raise DataError(f"checkpoint {path}: unreadable ({e})") from None
    return payload["state"], payload["step"], payload["meta"]


class Checkpointer:
    """Numbered checkpoints ``step_XXXXXXXXXX.npz|pt`` in one folder, keeping the newest few.

    >>> ckpt = Checkpointer(run.path / "checkpoints", keep=3)
    >>> ckpt.save(step, state)                 # pytree (or torch=True for a state dict)
    >>> state, step, meta = ckpt.restore(like=state)   # newest; None if there is none
    """

    def __init__(self, folder: str | Path, keep: int = 3, torch: bool = False):
        if keep < 1:
            raise ValueError("keep must be >= 1")
        self.folder = Path(folder)
        self.keep = keep
        self.suffix = "pt" if torch else "npz"

    def steps(self) -> list[int]:
        """Steps of the complete checkpoints present, ascending (temp files are ignored)."""
        if not self.folder.is_dir():
            return []
        found = (_STEP_FILE.match(p.name) for p in self.folder.iterdir())
        return sorted(int(m[1]) for m in found if m and m[2] == self.suffix)

    def path(self, step: int) -> Path:
        return self.folder / f"step_{step:010d}.{self.suffix}"

    def save(self, step: int, tree: Any, meta: dict | None = None) -> Path:
        """Write the checkpoint for ``step`` atomically, then delete all but the newest ``keep``."""
        if self.suffix == "pt":
            out = save_torch(self.path(step), tree, step, meta)
        else:
            out = save_pytree(self.path(step), tree, step, meta)
        for old in self.steps()[: -self.keep]:
            self.path(old).unlink(missing_ok=True)
        return out

    def latest(self) -> int | None:
        steps = self.steps()
        return steps[-1] if steps else None

    def restore(self, like: Any = None, step: int | None = None) -> tuple[Any, int, dict] | None:
        """Load checkpoint ``step`` (default: the newest) as (tree, step, meta), or None."""
        step = self.latest() if step is None else step
        if step is None:
            return None
        if self.suffix == "pt":
            return load_torch(self.path(step))
        return load_pytree(self.path(step), like)
