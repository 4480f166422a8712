"""Controls over XLA's CPU work that leave values unchanged (used by ``observe``, ``env``
and ``scenario``): store a value once instead of recomputing it inside its consumers, build
wide stacks that still fuse, and pick the few rows that need an expensive pass. Each was
measured on the observation, collision or association passes; see their docstrings."""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["MAX_CONCAT", "few_rows", "fused_stack", "materialise"]


def materialise(x, token):
    """x unchanged, but computed once and stored rather than fused into its consumers.

    XLA's CPU loop fusion evaluates a fused producer once per element of the consumer, so
    per-agent values (trig of the heading, hashes) feeding a [W, A, K, F] block would be
    recomputed K·F times, and per-row masks F times. ``optimization_barrier`` does not stop
    this on CPU (it is removed before fusion), but a conditional's result is always stored:
    ``token`` is an integer converted to float32, so always finite (the compiler does not
    prove it): the identity branch is the one taken, and the other only exists."""
    zeros = lambda v: jax.tree_util.tree_map(jnp.zeros_like, v)  # noqa: E731
    return jax.lax.cond(jnp.isfinite(token), lambda v: v, zeros, x)


MAX_CONCAT = 8  # XLA's CPU fusion leaves a concatenate of more operands unfused


def fused_stack(cols: list) -> jnp.ndarray:
    """``jnp.stack(cols, -1)`` built so that XLA fuses it with its producers and consumers.

    A concatenate of more than ``MAX_CONCAT`` operands is not fused on CPU: each column is
    stored, copied into the stack and the stack read again (4x the block's memory traffic).
    Groups of at most ``MAX_CONCAT`` columns, zero-padded to the full width and summed,
    give the same values (x + 0 = x) as one fused loop."""
    if len(cols) <= MAX_CONCAT:
        return jnp.stack(cols, -1)
    n, out, start = len(cols), None, 0
    nd = jnp.ndim(cols[0]) + 1
    while start < n:
        group = cols[start : start + MAX_CONCAT]
        pad = [(0, 0)] * (nd - 1) + [(start, n - start - len(group))]
        part = jnp.pad(jnp.stack(group, -1), pad)
        out = part if out is None else out + part
        start += len(group)
    return out


def few_rows(mask, cap: int):
    """The first ``cap`` True positions of a flat bool ``mask`` [n], for gathering the few
    rows that need an expensive pass and scattering the results back (a fixed ``cap``, so
    one compilation; the caller checks ``sum(mask) <= cap`` or takes another branch).

    Returns (rows, r), both [cap] int: ``rows`` is padded with n, so ``x.at[rows].set(v,
    mode="drop")`` writes only real rows; ``r`` is ``rows`` clamped to n - 1, safe to gather
    with (padding rows read row n - 1: mask their results)."""
    n = mask.shape[0]
    (rows,) = jnp.nonzero(mask, size=cap, fill_value=n)
    return rows, jnp.minimum(rows, n - 1)
