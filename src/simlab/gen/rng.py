"""PRNG keys for generative functions.

Every stochastic function takes a ``jax.random`` key first. Inside the particle-batched
inference routines the key may instead be a :class:`ParticleKey`: a *shared* base key plus this
particle's index. Drawing noise from a ``ParticleKey`` draws one array for all particles from
the shared key (outside ``vmap``) and takes this particle's entry, which is why a vmapped model
costs the same random-bit work as a hand-written batched ``jnp`` program.

Distributions use the helpers here (:func:`normal`, :func:`uniform`) and never call
``jax.random`` on a key they did not convert with :func:`raw`. Custom generative functions
receive ordinary keys unless they set ``accepts_particle_keys = True``.
"""

from __future__ import annotations

import zlib

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "ParticleKey",
    "addr_key",
    "fold_in",
    "normal",
    "particle_keys",
    "raw",
    "split",
    "to_numpy",
    "uniform",
]


@jax.tree_util.register_pytree_node_class
class ParticleKey:
    """Key of one particle among ``shape`` particles sharing ``base``.

    ``base``: an unbatched ``jax.random`` key. ``index``: tuple of int32 scalars, one per axis of
    ``shape`` (batched under ``vmap``). Noise drawn with shape ``s`` is
    ``jax.random.<dist>(base, shape + s)[index]``, so particle i's draws do not depend on how
    many particles are vmapped together beyond ``shape``.
    """

    def __init__(self, base, index, shape):
        self.base = base
        self.index = tuple(index)
        self.shape = tuple(shape)

    def tree_flatten(self):
        return (self.base, self.index), self.shape

    @classmethod
    def tree_unflatten(cls, shape, children):
        base, index = children
        return cls(base, index, shape)

    def __repr__(self) -> str:
        return f"ParticleKey(shape={self.shape})"


def _addr_hash(addr) -> int:
    """A stable 31-bit hash of an address (Python's hash() of str varies between processes)."""
    return zlib.crc32(repr(addr).encode()) & 0x7FFFFFFF


def fold_in(key, data: int):
    """``jax.random.fold_in`` that keeps a ParticleKey's base shared (data: int or int32 scalar)."""
    if isinstance(key, ParticleKey):
        return ParticleKey(jax.random.fold_in(key.base, data), key.index, key.shape)
    return jax.random.fold_in(key, data)


def addr_key(key, addr: tuple):
    """The key for the random choice or call at ``addr``: fold_in of a stable address hash."""
    return fold_in(key, _addr_hash(addr))


def raw(key):
    """An ordinary ``jax.random`` key: ParticleKeys become fold_in(base, index...) per particle."""
    if isinstance(key, ParticleKey):
        k = key.base
        for i in key.index:
            k = jax.random.fold_in(k, i)
        return k
    return key


def split(key, num: int = 2):
    """``num`` independent ordinary keys, shape (num,), from any key."""
    return jax.random.split(raw(key), num)


def normal(key, shape=(), dtype=None):
    """Standard normal noise of ``shape`` (float dtype of the current precision by default)."""
    dtype = dtype or jnp.result_type(float)
    if isinstance(key, ParticleKey):
        return jax.random.normal(key.base, key.shape + tuple(shape), dtype)[key.index]
    return jax.random.normal(key, tuple(shape), dtype)


def uniform(key, shape=(), dtype=None):
    """U[0, 1) noise of ``shape``."""
    dtype = dtype or jnp.result_type(float)
    if isinstance(key, ParticleKey):
        return jax.random.uniform(key.base, key.shape + tuple(shape), dtype)[key.index]
    return jax.random.uniform(key, tuple(shape), dtype)


def particle_keys(key, n: int):
    """(keys, in_axes) for ``jax.vmap`` over ``n`` particles sharing ``key``.

    ``keys`` is a ParticleKey whose last index component is ``arange(n)``; ``in_axes`` batches
    only that component. Works for an ordinary key and for a ParticleKey (nested batching).
    """
    if isinstance(key, ParticleKey):
        base, index, shape = key.base, key.index, key.shape
    else:
        base, index, shape = key, (), ()
    keys = ParticleKey(base, (*index, jnp.arange(n, dtype=jnp.int32)), (*shape, n))
    in_axes = ParticleKey(None, (None,) * len(index) + (0,), (*shape, n))
    return keys, in_axes


def to_numpy(key) -> np.random.Generator:
    """A NumPy generator seeded deterministically from a (concrete) JAX key."""
    data = np.asarray(jax.random.key_data(raw(key))).astype(np.uint64).ravel()
    return np.random.default_rng([int(d) for d in data])
