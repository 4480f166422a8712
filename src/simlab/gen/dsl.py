"""The modelling language: ``@gen`` functions that sample at addresses through a tracer.

>>> @gen
... def model(t, mu0):
...     mu = t("mu", normal, mu0, 1.0)          # random choice at ("mu",)
...     z = t(("h", "z"), normal, mu, 1.0)      # at ("h", "z")
...     return t("x", normal, z, 0.5)
>>> trace = model.simulate(key, (0.0,))

``t(address, gf, *args)`` calls any generative function (a distribution or another ``@gen``
function, whose addresses nest under ``address``) and returns its return value. Under
``jit``/``vmap`` the set of addresses must not depend on random values.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools

import jax
import jax.numpy as jnp

from simlab.gen import rng
from simlab.gen.choicemap import ChoiceMap, Selection, addr, none
from simlab.gen.errors import AddressError, GenError, NonFiniteWeightError
from simlab.gen.gfi import EditResult, GenerativeFunction, zero

__all__ = ["GenFn", "Tracer", "gen", "record_nonreparam"]


# Recording of non-reparameterisable random choices (for VI gradient estimators): while
# ``record_nonreparam()`` is active, every draw from a distribution with ``reparam=False``
# appends its absolute address to the active list.
_RECORD: contextvars.ContextVar = contextvars.ContextVar("simlab_gen_record", default=None)
_PREFIX: contextvars.ContextVar = contextvars.ContextVar("simlab_gen_prefix", default=())


@contextlib.contextmanager
def record_nonreparam():
    """Context manager yielding a list that collects the addresses of non-reparameterisable
    choices (``Distribution.reparam`` False) visited by @gen functions run inside it."""
    found: list = []
    token = _RECORD.set(found)
    try:
        yield found
    finally:
        _RECORD.reset(token)


def _is_concrete(x) -> bool:
    return not isinstance(x, jax.core.Tracer)


class Tracer:
    """The handler passed as ``t`` to a ``@gen`` function for one ``edit`` run."""

    def __init__(self, gf, key, old, constraints, resample, measure, strict_old):
        self._gf = gf
        self._key = key
        self._old = old
        self._constraints = constraints
        self._resample = resample
        self._measure = measure
        self._strict_old = strict_old
        self.choices: dict = {}
        self.discard: dict = {}
        self.visited: set = set()
        self._prefixes: set = set()
        self.score = zero()
        self.weight = zero()
        self.measured = zero()

    def __call__(self, address, gf: GenerativeFunction, *args):
        """Call ``gf(*args)`` at ``address``; returns its return value."""
        a = addr(address)
        name = self._gf.name
        if not isinstance(gf, GenerativeFunction):
            raise AddressError(f"t(...) needs a generative function, got {gf!r}", a, name)
        # clash if a was visited, is a prefix of a visited address, or has one as a prefix
        clash = a in self._prefixes or any(a[:i] in self.visited for i in range(1, len(a)))
        if clash:
            raise AddressError("address used twice (or clashes with a visited address)", a, name)
        self.visited.add(a)
        self._prefixes.update(a[:i] for i in range(1, len(a) + 1))
        key = None if self._key is None else rng.addr_key(self._key, a)
        if key is not None and not gf.accepts_particle_keys:
            key = rng.raw(key)
        old = None if self._old is None else self._old.sub(a)
        record = _RECORD.get()
        token = _PREFIX.set(_PREFIX.get() + a) if record is not None else None
        try:
            r = gf.edit(
                key,
                args,
                old=old,
                constraints=self._constraints.sub(a),
                resample=self._resample.sub(a),
                measure=self._measure.sub(a),
                strict_old=self._strict_old,
            )
        except GenError as e:
            raise e.within(name, a) from None
        finally:
            if token is not None:
                _PREFIX.reset(token)
        if record is not None and getattr(gf, "reparam", True) is False:
            record.append(_PREFIX.get() + a)
        if _is_concrete(r.score) and (jnp.isnan(r.score) or r.score == jnp.inf):
            raise NonFiniteWeightError(
                f"log-density {float(r.score)} of {gf.name}{tuple(args)!r}", a, name
            )
        for b, v in r.choices.items():
            self.choices[a + b] = v
        for b, v in r.discard.items():
            self.discard[a + b] = v
        self.score = self.score + r.score
        self.weight = self.weight + r.weight
        self.measured = self.measured + r.measured
        return r.retval


class GenFn(GenerativeFunction):
    """A generative function defined by a Python function ``fn(t, *args)`` (see module doc)."""

    accepts_particle_keys = True

    def __init__(self, fn, name: str | None = None):
        self.fn = fn
        self.name = name or getattr(fn, "__name__", "gen_fn")
        functools.update_wrapper(self, fn)

    def edit(
        self,
        key,
        args,
        *,
        old=None,
        constraints=ChoiceMap.empty(),
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old=False,
    ):
        t = Tracer(self, key, old, constraints, resample, measure, strict_old)
        retval = self.fn(t, *args)
        if old is not None:  # old choices not revisited (dynamic structure) are discarded
            for b in old.addresses():
                if b not in t.choices:
                    t.discard[b] = old[b]
        return EditResult(
            ChoiceMap._trusted(t.choices),
            retval,
            t.score,
            t.weight,
            t.measured,
            ChoiceMap._trusted(t.discard),
        )

    def __call__(self, *args, **kwargs):
        raise TypeError(
            f"{self.name} is a generative function: use {self.name}.simulate(key, args) or "
            f"call it from another model as t(address, {self.name}, ...)"
        )


def gen(fn=None, *, name: str | None = None):
    """Decorator turning ``fn(t, *args)`` into a :class:`GenFn` (usable as ``@gen`` or
    ``@gen(name=...)``)."""
    if fn is None:
        return lambda f: GenFn(f, name)
    return GenFn(fn, name)
