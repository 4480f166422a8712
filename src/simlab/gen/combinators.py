"""Combinators: ``Map`` (iid over a leading axis), ``Scan`` (a carry through time), ``Switch``
(one of several GFs by index) and ``SequentialModel`` (init + T steps, the SMC interface).

Choices of vectorised combinators are *stacked*: the leaf at ``("x",)`` of ``Map(g)`` over K
elements has shape (K, ...). Constraints may be stacked arrays, :class:`Masked` leaves (some
elements constrained) or addresses with a leading int, ``(3, "x")``, which constrain element 3.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlab.gen import rng
from simlab.gen.choicemap import ChoiceMap, Masked, Selection, none
from simlab.gen.dsl import gen
from simlab.gen.errors import AddressError, GenError
from simlab.gen.gfi import EditResult, GenerativeFunction

__all__ = ["Map", "Scan", "SequentialModel", "Switch"]

_EMPTY = ChoiceMap.empty()


def _index_addresses(cm: ChoiceMap, n: int, name: str) -> ChoiceMap:
    """Turn leading-int addresses ``(i, *rest)`` into Masked stacked leaves at ``rest``."""
    if cm is None or not any(a and isinstance(a[0], int) for a in cm.addresses()):
        return cm
    plain, grouped = {}, {}
    for a, v in cm.items():
        if a and isinstance(a[0], int):
            if not 0 <= a[0] < n:
                raise AddressError(f"index {a[0]} outside 0..{n - 1}", a, name)
            grouped.setdefault(a[1:], []).append((a[0], v))
        else:
            plain[a] = v
    for rest, items in grouped.items():
        if rest in plain:
            raise AddressError("both stacked and indexed constraints at this address", rest, name)
        v0 = jnp.asarray(items[0][1])
        value = jnp.zeros((n, *v0.shape), v0.dtype)
        mask = jnp.zeros((n,), bool)
        for i, v in items:
            value = value.at[i].set(v)
            mask = mask.at[i].set(True)
        plain[rest] = Masked(value, mask)
    return ChoiceMap(plain)


def _length(args, name: str) -> int:
    leaves = jax.tree_util.tree_leaves(args)
    if not leaves:
        raise GenError("cannot infer the length: pass n=...", (), name)
    return int(jnp.shape(leaves[0])[0])


class Map(GenerativeFunction):
    """iid application of ``gf`` over the leading axis of its arguments.

    ``Map(gf, n=None, in_axes=0)``: args are ``gf``'s args with a leading axis of length K
    (``in_axes`` as for ``jax.vmap`` over the args tuple, e.g. ``(0, None)`` to share the
    second argument); K is ``n`` or inferred from the first mapped array leaf. Returns the
    stacked retvals; choices are stacked (K, ...); score = Σ_k score_k.
    """

    accepts_particle_keys = True

    def __init__(
        self,
        gf: GenerativeFunction,
        n: int | None = None,
        name: str | None = None,
        in_axes=0,
    ):
        self.gf = gf
        self.n = n
        self.in_axes = in_axes
        self.name = name or f"Map({gf.name})"

    def _mapped(self, args):
        if self.in_axes == 0:
            return args
        axes = self.in_axes
        return tuple(a for a, ax in zip(args, axes) if ax is not None)

    def edit(
        self,
        key,
        args,
        *,
        old=None,
        constraints=_EMPTY,
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old=False,
    ):
        n = self.n if self.n is not None else _length(self._mapped(tuple(args)), self.name)
        constraints = _index_addresses(constraints, n, self.name)
        gf = self.gf
        if key is None:
            keys, key_axes = None, None
        elif gf.accepts_particle_keys:
            keys, key_axes = rng.particle_keys(key, n)
        else:
            keys, key_axes = rng.split(key, n), 0

        def one(k, a, o, c):
            kw = dict(resample=resample, measure=measure, strict_old=strict_old)
            return gf.edit(k, a, old=o, constraints=c, **kw)

        try:
            arg_axes = self.in_axes if self.in_axes == 0 else tuple(self.in_axes)
            r = jax.vmap(one, in_axes=(key_axes, arg_axes, 0, 0))(
                keys, tuple(args), old, constraints
            )
        except GenError as e:
            raise e.within(self.name, ()) from None
        return EditResult(
            r.choices, r.retval, jnp.sum(r.score), jnp.sum(r.weight), jnp.sum(r.measured), r.discard
        )


class Scan(GenerativeFunction):
    """``step`` applied T times like ``lax.scan``: ``step(carry, x) -> (carry', y)``.

    Args ``(carry0, xs)`` with ``xs`` leaves of leading length T (or ``None``: then x is the
    step index t, int32). Returns ``(carry_T, ys)`` with ys stacked (T, ...). Choices of step
    t are stacked along a leading T axis; the key of step t is fold_in(key, t).
    """

    accepts_particle_keys = True

    def __init__(self, step: GenerativeFunction, T: int, name: str | None = None):
        self.step = step
        self.T = int(T)
        self.name = name or f"Scan({step.name})"

    def edit(
        self,
        key,
        args,
        *,
        old=None,
        constraints=_EMPTY,
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old=False,
    ):
        carry0, xs = args
        T = self.T
        if xs is None:
            xs = jnp.arange(T, dtype=jnp.int32)
        constraints = _index_addresses(constraints, T, self.name)
        step = self.step
        if key is not None and not step.accepts_particle_keys:
            key = rng.raw(key)

        def body(carry, inp):
            t, x, o, c = inp
            k = None if key is None else rng.fold_in(key, t)
            r = step.edit(
                k,
                (carry, x),
                old=o,
                constraints=c,
                resample=resample,
                measure=measure,
                strict_old=strict_old,
            )
            if not (isinstance(r.retval, tuple) and len(r.retval) == 2):
                raise GenError("a Scan step must return (carry, y)", (), step.name)
            new_carry, y = r.retval
            out = EditResult(r.choices, y, r.score, r.weight, r.measured, r.discard)
            return new_carry, out

        try:
            carry_t, r = jax.lax.scan(
                body, carry0, (jnp.arange(T, dtype=jnp.int32), xs, old, constraints)
            )
        except GenError as e:
            raise e.within(self.name, ()) from None
        return EditResult(
            r.choices,
            (carry_t, r.retval),
            jnp.sum(r.score),
            jnp.sum(r.weight),
            jnp.sum(r.measured),
            r.discard,
        )


class Switch(GenerativeFunction):
    """One of ``gfs`` chosen by an int index: args ``(index, *branch_args)``.

    With a concrete Python/NumPy int index only that branch runs (any structure). With a traced
    index (under jit/vmap) every branch must have the same choice addresses, shapes and return
    structure; the branch runs through ``lax.switch``.
    """

    accepts_particle_keys = True

    def __init__(self, gfs, name: str | None = None):
        self.gfs = tuple(gfs)
        self.name = name or "Switch(" + ",".join(g.name for g in self.gfs) + ")"

    def edit(
        self,
        key,
        args,
        *,
        old=None,
        constraints=_EMPTY,
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old=False,
    ):
        index, *bargs = args
        bargs = tuple(bargs)

        def run(i):
            g = self.gfs[i]
            k = key if (key is None or g.accepts_particle_keys) else rng.raw(key)
            return g.edit(
                k,
                bargs,
                old=old,
                constraints=constraints,
                resample=resample,
                measure=measure,
                strict_old=strict_old,
            )

        if not isinstance(index, jax.core.Tracer):
            i = int(index)
            if not 0 <= i < len(self.gfs):
                raise GenError(f"branch index {i} outside 0..{len(self.gfs) - 1}", (), self.name)
            return run(i)
        shapes = [jax.eval_shape(lambda i=i: run(i)) for i in range(len(self.gfs))]
        s0 = jax.tree_util.tree_structure(shapes[0])
        for i, s in enumerate(shapes[1:], 1):
            if jax.tree_util.tree_structure(s) != s0:
                raise GenError(
                    f"branches 0 and {i} differ in choice addresses or return structure; "
                    "a traced index needs identical structures",
                    (),
                    self.name,
                )
        return jax.lax.switch(index, [lambda i=i: run(i) for i in range(len(self.gfs))])


class _CarryStep(GenerativeFunction):
    """Adapter: ``step(carry, t) -> carry'`` as a Scan step returning (carry', carry')."""

    accepts_particle_keys = True

    def __init__(self, step):
        self.step = step
        self.name = step.name
        self.accepts_particle_keys = step.accepts_particle_keys

    def edit(self, key, args, **kw):
        r = self.step.edit(key, args, **kw)
        return r._replace(retval=(r.retval, r.retval))


class SequentialModel(GenerativeFunction):
    """``init_gf(*args) -> carry_0`` then ``step_gf(carry, t) -> carry`` for t = 0..T−1.

    As a GF its choices sit at ``("init", ...)`` and ``("steps", ...)`` (step leaves stacked
    with leading axis T) and it returns the stacked carries (T, ...). SMC extends it one step at
    a time (see :func:`simlab.gen.smc.smc`); observations per step are a ChoiceMap of the step
    addresses with leaves of leading length T. ``init_gf=None`` means the model argument is the
    initial carry itself.
    """

    accepts_particle_keys = True

    def __init__(self, init_gf, step_gf: GenerativeFunction, T: int, name: str | None = None):
        self.init_gf = init_gf
        self.step_gf = step_gf
        self.T = int(T)
        self.name = name or f"SequentialModel({step_gf.name}, T={T})"
        scan = Scan(_CarryStep(step_gf), self.T)

        def full(t, *args):
            carry = t("init", init_gf, *args) if init_gf is not None else args[0]
            _, carries = t("steps", scan, carry, None)
            return carries

        self._full = gen(full, name=self.name)

    def edit(self, key, args, **kw):
        return self._full.edit(key, args, **kw)

    def init(self, key, args, constraints=_EMPTY, **kw):
        """EditResult of the init GF (or a trivial one when ``init_gf`` is None)."""
        if self.init_gf is None:
            z = jnp.zeros((), jnp.result_type(float))
            return EditResult(_EMPTY, args[0], z, z, z, _EMPTY)
        k = key if self.init_gf.accepts_particle_keys else rng.raw(key)
        return self.init_gf.edit(k, args, constraints=constraints, **kw)

    def step(self, key, carry, t, **kw):
        """EditResult of step ``t`` from ``carry`` (kw as for ``edit``)."""
        k = key
        if k is not None and not self.step_gf.accepts_particle_keys:
            k = rng.raw(k)
        return self.step_gf.edit(k, (carry, t), **kw)

    def trajectory(self, init_choices: ChoiceMap, step_choices: ChoiceMap) -> ChoiceMap:
        """The full choice map from init choices and stacked (T, ...) step choices."""
        return init_choices.prefixed("init") | step_choices.prefixed("steps")
