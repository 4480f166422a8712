"""``pytree_dataclass``: frozen dataclasses whose fields are pytree children (for results)."""

from __future__ import annotations

import dataclasses

import jax

__all__ = ["pytree_dataclass"]


def pytree_dataclass(cls):
    """Make ``cls`` a frozen dataclass registered as a JAX pytree (all fields are children)."""
    cls = dataclasses.dataclass(frozen=True)(cls)
    names = tuple(f.name for f in dataclasses.fields(cls))
    jax.tree_util.register_pytree_node(
        cls,
        lambda x: (tuple(getattr(x, n) for n in names), None),
        lambda _, children: cls(*children),
    )
    return cls
