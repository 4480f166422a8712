"""Nearest-partner selection per world without sorting (spec §2.3 "Partners").

For each agent: if A - 1 <= N every other present agent within the radius is taken.
Otherwise the largest of 16 geometric radii (2 m … ``radius``) whose disc holds at most N
partners is found by a 5-step binary search over counts, those partners are taken, and the
remaining slots are filled from the next ring in slot order (a running-count rank). Selected
indices are compacted into N slots by a scatter; unused slots are -1. Slot order carries no
meaning (the policy max-pools over partners).

That is the spec's CPU path and the default. ``method="top_k"`` (spec: "an optional GPU
path") selects exactly the N nearest by ``lax.top_k`` over the [W, A, A] distances. On this
CPU, alone, it took 55–69 ms per call at 256 worlds × 150 slots (30 % present, N = 20)
against 209–241 ms for the rings (106–110 vs 133–136 ms at 4096 × 32); but a whole
``observe`` call cost the same with either (450–570 CPU ms at load 5), so the rings stay
the default (``bench/drive/NOTES.md``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["select_partners"]

i32 = jnp.int32
N_RADII = 16


def _count_upto(mask, extra=0) -> jnp.ndarray:
    """``jnp.cumsum(mask + extra, -1)`` as int32 for a bool mask [..., A] (and small integer
    ``extra`` of its shape), by a matmul with a triangular 0/1 matrix: exact in float32 while
    the sums stay below 2^24, and on CPU far faster than XLA's cumsum, a reduce-window that
    costs O(A) per element (O(A^2) per row)."""
    a = mask.shape[-1]
    tri = jnp.asarray(np.triu(np.ones((a, a), np.float32)))  # tri[k, j] = 1 for k <= j
    vals = mask.astype(jnp.float32) + jnp.asarray(extra, jnp.float32)
    return jnp.matmul(vals, tri).astype(i32)


def select_partners(
    x, y, present, n: int, radius: float = 200.0, method: str = "rings"
) -> jnp.ndarray:
    """Partner indices [W, A, n] (-1 = empty) of every slot among present agents.

    x, y, present: [W, A] (m). Self is never a partner. Absent slots still get partners (the
    result is masked by the caller). method: "rings" (the spec's) or "top_k" (exactly the n
    nearest within ``radius``)."""
    if method not in ("rings", "top_k"):
        raise ValueError(f"partner selection method must be rings or top_k, not {method!r}")
    w, a = x.shape
    dx = x[:, :, None] - x[:, None, :]
    dy = y[:, :, None] - y[:, None, :]
    d2 = dx * dx + dy * dy
    eye = jnp.eye(a, dtype=bool)[None]
    ok = present[:, None, :] & ~eye & (d2 <= radius * radius)
    d2 = jnp.where(ok, d2, jnp.inf)
    if a <= n:
        idx = jnp.where(ok, jnp.arange(a, dtype=i32)[None, None, :], -1)
        return jnp.pad(idx, ((0, 0), (0, 0), (0, n - a)), constant_values=-1)
    if method == "top_k":
        # ties (equal distances) go to the lower slot index, as lax.top_k orders them
        neg, idx = jax.lax.top_k(-d2, n)
        return jnp.where(jnp.isfinite(neg), idx.astype(i32), -1)
    r2 = jnp.asarray(
        np.concatenate([[0.0], np.geomspace(2.0, radius, N_RADII) ** 2, [np.inf]]), jnp.float32
    )  # r2[k + 1] is the k-th radius; r2[0] = 0 (empty disc), r2[-1] = beyond

    def count(k):  # partners strictly inside radius index k (k in -1..15)
        return jnp.sum(d2 < r2[k + 1][..., None], axis=-1)

    lo = jnp.full((w, a), -1, i32)
    hi = jnp.full((w, a), N_RADII - 1, i32)
    for _ in range(5):  # largest k with count(k) <= n
        mid = (lo + hi + 1) // 2
        fits = count(mid) <= n
        lo = jnp.where(fits & (lo < hi), mid, lo)
        hi = jnp.where(~fits & (lo < hi), mid - 1, hi)
    inner_r2 = r2[lo + 1][..., None]
    outer_r2 = r2[jnp.minimum(lo + 2, N_RADII)][..., None]
    inner = d2 < inner_r2
    ring = (d2 >= inner_r2) & (d2 < outer_r2)
    n_inner = jnp.sum(inner, -1, keepdims=True)
    # running counts of inner and ring members in one matmul (two counts <= A packed in one
    # exact float32 as inner + (A + 1)·ring); the selected ring members are the first
    # n - n_inner of the ring, so a member's slot is inner_upto + min(ring_upto, n - n_inner)
    base = a + 1
    assert a + base * a < 2**24, "too many agent slots for exact float32 counts"
    both = _count_upto(inner, ring * base)
    inner_upto, ring_upto = both % base, both // base
    sel = inner | (ring & (n_inner + ring_upto <= n))
    slot = jnp.where(sel, inner_upto + jnp.minimum(ring_upto, n - n_inner) - 1, n)
    wi = jnp.arange(w)[:, None, None]
    ai = jnp.arange(a)[None, :, None]
    j = jnp.broadcast_to(jnp.arange(a, dtype=i32)[None, None, :], (w, a, a))
    out = jnp.full((w, a, n + 1), -1, i32).at[wi, ai, slot].set(j, mode="drop")
    return out[..., :n]
