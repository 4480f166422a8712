"""A counter-based hash RNG for the simulator's hot path.

Keys are uint32 scalars (or arrays of them). Each random number is a hash of (key,
element index) through two rounds of a 32-bit integer finaliser, so generating numbers is a
few integer ops per element and compiles to a tiny graph, unlike threefry on CPU (whose
compile and run time dominated a step). Statistical quality is ample for scenario sampling;
this is not a cryptographic or research-grade generator. Everything is deterministic in the
key, so states remain reproducible.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

__all__ = [
    "bernoulli", "fold_in", "from_key", "hash_state", "hash_uniform", "randint", "split",
    "uniform",
]  # fmt: skip

u32, f32 = jnp.uint32, jnp.float32
_GOLD = 0x9E3779B9


def _mix(h):
    h = h ^ (h >> 16)
    h = h * u32(0x7FEB352D)
    h = h ^ (h >> 15)
    h = h * u32(0x846CA68B)
    return h ^ (h >> 16)


def from_key(key) -> jnp.ndarray:
    """A uint32 seed from a JAX PRNG key (typed or raw uint32 [2]) or an integer."""
    key = jnp.asarray(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    key = key.astype(u32).reshape(-1)
    h = u32(0x12345678)
    for i in range(key.shape[0]):
        h = _mix(h ^ key[i] + u32(_GOLD))
    return h


def fold_in(key, data) -> jnp.ndarray:
    """A new key from key and integer data (broadcasting)."""
    return _mix(jnp.asarray(key, u32) ^ _mix(jnp.asarray(data).astype(u32) + u32(_GOLD)))


def split(key, n: int) -> jnp.ndarray:
    """n independent keys [n] (a scalar key) or [..., n] (a key array)."""
    key = jnp.asarray(key, u32)
    return fold_in(key[..., None], jnp.arange(n, dtype=u32) + u32(1))


def _bits(key, shape) -> jnp.ndarray:
    shape = tuple(shape)
    n = math.prod(shape)
    ctr = jnp.arange(n, dtype=u32).reshape(shape) if n else jnp.zeros(shape, u32)
    k = jnp.asarray(key, u32)
    return _mix(_mix(ctr * u32(0x27D4EB2F) + k) ^ k)


def uniform(key, shape, lo=0.0, hi=1.0) -> jnp.ndarray:
    """float32 uniform on [lo, hi) of ``shape`` (lo, hi broadcast)."""
    u = (_bits(key, shape) >> 8).astype(f32) * f32(1.0 / (1 << 24))
    return jnp.asarray(lo, f32) + (jnp.asarray(hi, f32) - jnp.asarray(lo, f32)) * u


def bernoulli(key, p, shape) -> jnp.ndarray:
    """bool array, True with probability p."""
    return uniform(key, shape) < p


def randint(key, shape, lo, hi) -> jnp.ndarray:
    """int32 uniform on {lo, ..., hi - 1} (lo, hi broadcast)."""
    lo, hi = jnp.asarray(lo, jnp.int32), jnp.asarray(hi, jnp.int32)
    r = lo + (uniform(key, shape) * (hi - lo).astype(f32)).astype(jnp.int32)
    return jnp.minimum(r, hi - 1)


def hash_state(seed, *idx) -> jnp.ndarray:
    """The uint32 hash of a seed and integer index arrays (broadcast together) that
    ``hash_uniform`` converts: ``hash_uniform(hash_state(seed, *a), *b)`` equals
    ``hash_uniform(seed, *a, *b)`` bit for bit, so a per-agent prefix can be computed once
    (and materialised) instead of once per row."""
    h = jnp.asarray(seed, u32)
    for i in idx:
        h = _mix(h ^ (jnp.asarray(i).astype(u32) + u32(_GOLD) + (h << 6) + (h >> 2)))
    return h


def hash_uniform(seed, *idx) -> jnp.ndarray:
    """Uniform [0, 1) floats from a counter hash of a uint32 seed and integer index arrays
    (broadcast together): stateless, so a stored state can redraw the same numbers."""
    return (hash_state(seed, *idx) >> 8).astype(f32) * f32(1.0 / (1 << 24))
