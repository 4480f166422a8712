"""Addresses, choice maps and selections (all immutable; choice maps are JAX pytrees).

An address is a tuple of ``str | int``; a bare ``"x"`` means ``("x",)`` and ``()`` is the
single choice of a distribution. A :class:`ChoiceMap` maps addresses to array leaves; its sorted
address tuple is static pytree data, so ``jit``/``vmap`` see only the arrays. A
:class:`Selection` is a set of address prefixes with ``|``, ``&`` and ``~``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

import jax
import jax.numpy as jnp

from simlab.gen.errors import AddressError

__all__ = [
    "ChoiceMap",
    "Masked",
    "Selection",
    "addr",
    "all_",
    "none",
    "select",
]


def addr(a) -> tuple:
    """Normalise an address: ``"x"`` -> ``("x",)``, ``3`` -> ``(3,)``, tuples unchanged."""
    if isinstance(a, tuple):
        for c in a:
            if not isinstance(c, str | int):
                raise AddressError(f"address components must be str or int, got {c!r}", a)
        return a
    if isinstance(a, str | int):
        return (a,)
    raise AddressError(f"an address is a str, an int or a tuple of them, got {a!r}")


def _sort_key(a: tuple):
    return tuple((0, c, "") if isinstance(c, int) else (1, 0, c) for c in a)


def _is_prefix(p: tuple, a: tuple) -> bool:
    return len(p) <= len(a) and a[: len(p)] == p


@jax.tree_util.register_pytree_node_class
class Masked:
    """A partial constraint: ``value`` counts only where ``mask`` (bool, broadcastable) is true.

    Used inside vectorised combinators (Map, Scan, SMC observations) where some elements of the
    leading axis are constrained and others are not.
    """

    def __init__(self, value, mask):
        self.value = value
        self.mask = mask

    def tree_flatten(self):
        return (self.value, self.mask), None

    @classmethod
    def tree_unflatten(cls, _, children):
        return cls(*children)

    def __repr__(self) -> str:
        return f"Masked(shape={jnp.shape(self.value)})"


@jax.tree_util.register_pytree_node_class
class ChoiceMap(Mapping):
    """Immutable map from addresses (tuples) to array leaves (or :class:`Masked` leaves).

    ``ChoiceMap({"x": 1.3, ("h", "z"): z})``; ``cm[a]`` is the leaf at ``a`` or, when ``a`` is
    a proper prefix of stored addresses, the sub-choice-map below ``a``. No stored address may
    be a prefix of another. Leaves keep their shapes; scalars may be Python numbers.
    """

    __slots__ = ("_addrs", "_children", "_d")

    def __init__(self, entries: Mapping | Iterable | None = None):
        items = entries.items() if isinstance(entries, Mapping) else (entries or ())
        d = {}
        for k, v in items:
            d[addr(k)] = v
        addrs = tuple(sorted(d, key=_sort_key))
        for a, b in itertools.pairwise(addrs):
            if _is_prefix(a, b):
                raise AddressError(f"address {a!r} is a prefix of {b!r} in the same choice map", a)
        self._addrs = addrs
        self._d = d
        self._children = None

    # pytree -------------------------------------------------------------------------------
    def tree_flatten(self):
        return tuple(self._d[a] for a in self._addrs), self._addrs

    @classmethod
    def tree_unflatten(cls, addrs, leaves):
        cm = object.__new__(cls)
        cm._addrs = addrs
        cm._d = dict(zip(addrs, leaves))
        cm._children = None
        return cm

    # construction ---------------------------------------------------------------------------
    @staticmethod
    def empty() -> ChoiceMap:
        """The choice map with no addresses."""
        return _EMPTY

    @classmethod
    def _trusted(cls, d: dict) -> ChoiceMap:
        cm = object.__new__(cls)
        cm._addrs = tuple(sorted(d, key=_sort_key))
        cm._d = d
        cm._children = None
        return cm

    # mapping --------------------------------------------------------------------------------
    def __getitem__(self, a):
        a = addr(a)
        if a in self._d:
            return self._d[a]
        sub = self.sub(a)
        if len(sub):
            return sub
        raise AddressError(f"no choice at this address; addresses: {list(self._addrs)}", a)

    def __contains__(self, a) -> bool:
        return addr(a) in self._d

    def __iter__(self):
        return iter(self._addrs)

    def __len__(self) -> int:
        return len(self._addrs)

    def __eq__(self, other):
        return self is other

    __hash__ = object.__hash__

    def addresses(self) -> tuple:
        """The sorted tuple of leaf addresses."""
        return self._addrs

    def get(self, a, default=None):
        """The leaf exactly at ``a``, or ``default``."""
        return self._d.get(addr(a), default)

    def has_prefix(self, prefix: tuple) -> bool:
        """True if some stored address starts with ``prefix``."""
        return any(_is_prefix(prefix, a) for a in self._addrs)

    # algebra --------------------------------------------------------------------------------
    def __or__(self, other: ChoiceMap) -> ChoiceMap:
        """Merge two choice maps; overlapping or prefix-conflicting addresses raise."""
        return ChoiceMap({**self._d, **_disjoint(self, other)._d})

    def override(self, other: ChoiceMap) -> ChoiceMap:
        """Merge where ``other``'s leaves replace this map's leaves at equal addresses."""
        return ChoiceMap({**self._d, **other._d})

    def sub(self, prefix) -> ChoiceMap:
        """The entries below ``prefix`` with the prefix removed (possibly empty)."""
        prefix = addr(prefix)
        cm = self
        for c in prefix:  # one component at a time through a lazily built index: O(|prefix|)
            if not cm._d:
                return _EMPTY
            if cm._children is None:
                children: dict = {}
                for a, v in cm._d.items():
                    if a:
                        children.setdefault(a[0], {})[a[1:]] = v
                cm._children = {k: ChoiceMap._trusted(d) for k, d in children.items()}
            cm = cm._children.get(c, _EMPTY)
        return cm

    def prefixed(self, prefix) -> ChoiceMap:
        """The same entries with every address prepended by ``prefix``."""
        prefix = addr(prefix)
        return ChoiceMap._trusted({prefix + a: v for a, v in self._d.items()})

    def filter(self, selection: Selection) -> ChoiceMap:
        """The entries whose addresses ``selection`` contains."""
        return ChoiceMap._trusted({a: v for a, v in self._d.items() if selection.contains(a)})

    def set(self, a, value) -> ChoiceMap:
        """A copy with the leaf at ``a`` set (replaced if present)."""
        return ChoiceMap({**self._d, addr(a): value})

    def map(self, fn) -> ChoiceMap:
        """Apply ``fn`` to every leaf (Masked leaves are passed whole)."""
        return ChoiceMap._trusted({a: fn(v) for a, v in self._d.items()})

    def __repr__(self) -> str:
        parts = []
        for a in self._addrs:
            v = self._d[a]
            shape = getattr(v, "shape", None)
            parts.append(f"{a!r}: {v!r}" if shape in (None, ()) else f"{a!r}: <{shape}>")
        return "ChoiceMap({" + ", ".join(parts) + "})"


def _disjoint(a: ChoiceMap, b: ChoiceMap) -> ChoiceMap:
    for x in b.addresses():
        for y in a.addresses():
            if _is_prefix(x, y) or _is_prefix(y, x):
                raise AddressError(f"merging choice maps with overlapping addresses {y!r}", x)
    return b


_EMPTY = ChoiceMap._trusted({})


# selections ---------------------------------------------------------------------------------
class Selection:
    """A set of addresses given by prefixes; ``contains(a)`` is true for any address under one.

    Combine with ``|`` (union), ``&`` (intersection) and ``~`` (complement).
    """

    def contains(self, a: tuple) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def __contains__(self, a) -> bool:
        return self.contains(addr(a))

    def sub(self, prefix) -> Selection:
        """The selection seen from inside the call at ``prefix``."""
        prefix = addr(prefix)
        return self if not prefix else _Sub(self, prefix)

    def __or__(self, other: Selection) -> Selection:
        return _Union(self, other)

    def __and__(self, other: Selection) -> Selection:
        return _Inter(self, other)

    def __invert__(self) -> Selection:
        return _Complement(self)


class _Prefixes(Selection):
    def __init__(self, prefixes):
        self.prefixes = tuple(addr(p) for p in prefixes)

    def contains(self, a):
        return any(_is_prefix(p, a) for p in self.prefixes)

    def sub(self, prefix):
        prefix = addr(prefix)
        if not prefix:
            return self
        n = len(prefix)
        if any(_is_prefix(p, prefix) for p in self.prefixes):
            return _ALL
        inner = [p[n:] for p in self.prefixes if _is_prefix(prefix, p)]
        return _Prefixes(inner) if inner else _NONE

    def __repr__(self):
        return f"select{self.prefixes!r}"


class _All(Selection):
    def contains(self, a):
        return True

    def sub(self, prefix):
        return self

    def __repr__(self):
        return "all_()"


class _None(Selection):
    def contains(self, a):
        return False

    def sub(self, prefix):
        return self

    def __repr__(self):
        return "none()"


class _Sub(Selection):
    def __init__(self, parent, prefix):
        self.parent, self.prefix = parent, prefix

    def contains(self, a):
        return self.parent.contains(self.prefix + a)


class _Union(Selection):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def contains(self, x):
        return self.a.contains(x) or self.b.contains(x)


class _Inter(Selection):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def contains(self, x):
        return self.a.contains(x) and self.b.contains(x)


class _Complement(Selection):
    def __init__(self, a):
        self.a = a

    def contains(self, x):
        return not self.a.contains(x)


_ALL = _All()
_NONE = _None()


def select(*addresses) -> Selection:
    """The selection of every address under any of ``addresses`` (strings, ints or tuples)."""
    return _Prefixes(addresses)


def all_() -> Selection:
    """The selection of every address."""
    return _ALL


def none() -> Selection:
    """The empty selection."""
    return _NONE
