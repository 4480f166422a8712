"""Advantage filtering (Gigaflow Alg. 1, spec §9) and fixed-capacity compaction.

At iteration k, with A_max = max |Â| over the learnable samples of the rollout:

    Ā_max ← A_max                         if k = 0
    Ā_max ← β·A_max + (1 − β)·Ā_max       otherwise        (β = 0.25)
    η     = s·Ā_max                                          (s = 0.01)

and PPO trains, policy and value loss alike, only on samples with |Â| ≥ η. The kept samples
are compacted into the front of a buffer of fixed capacity N (cumsum + scatter, no sort), so
the number of minibatches, and with it the update's compute, shrinks with the filter while
every array keeps a static shape.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["compact", "filter_threshold"]


def filter_threshold(
    adv: jax.Array,
    mask: jax.Array,
    ewma: jax.Array,
    first: jax.Array,
    beta: float = 0.25,
    scale: float = 0.01,
) -> tuple[jax.Array, jax.Array]:
    """(η, new Ā_max) for advantages ``adv`` [...] over samples with ``mask`` [...] (bool).

    ``ewma`` is the previous Ā_max (scalar float32) and ``first`` (scalar bool) marks k = 0.
    """
    a_max = jnp.max(jnp.where(mask, jnp.abs(adv), 0.0))
    new = jnp.where(first, a_max, beta * a_max + (1.0 - beta) * ewma)
    return scale * new, new


def compact(keep: jax.Array, order: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """Indices of the kept samples, packed at the front of a fixed-capacity buffer.

    ``keep`` [N] bool. ``order`` [N] int32 is a permutation visiting the samples (e.g. a
    random shuffle per epoch; identity if None). Returns (idx [N] int32, n_kept int32): the
    first n_kept entries of idx are the kept samples in the order they appear in ``order``;
    the rest are 0 (padding, to be masked out by position).
    """
    n = keep.shape[0]
    if order is None:
        order = jnp.arange(n, dtype=jnp.int32)
    k = keep[order]
    pos = jnp.cumsum(k.astype(jnp.int32)) - 1
    # Dropped samples scatter to slot n, which is out of range and therefore discarded.
    idx = jnp.zeros((n,), jnp.int32).at[jnp.where(k, pos, n)].set(order, mode="drop")
    return idx, jnp.sum(k.astype(jnp.int32))
