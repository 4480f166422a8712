"""Stable seeded randomness: every generator is ``random.Random`` seeded by SHA-256.

Never ``hash()`` (salted per process), the wall clock or set order: the same seed must give a
byte-identical world in every process on every machine.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["rng", "stable_int", "token_for"]


def stable_int(*parts: object) -> int:
    """A 64-bit integer from SHA-256 of ``"p0:p1:..."``."""
    text = ":".join(str(p) for p in parts)
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def rng(*parts: object) -> random.Random:
    """A ``random.Random`` seeded by SHA-256 of ``"seed:purpose:..."``."""
    return random.Random(stable_int(*parts))


def token_for(seed: int, app: str, username: str) -> str:
    """The deterministic access token of ``username`` on ``app`` in the world of ``seed``."""
    return hashlib.sha256(f"{seed}:token:{app}:{username}".encode()).hexdigest()[:32]
