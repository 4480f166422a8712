"""The generative function interface (GFI): traces and the base class.

Every generative function (GF) implements one primitive, :meth:`GenerativeFunction.edit`,
which runs the GF once choosing each random choice's value as

* the constraint, if one is given at its address;
* else the old value, if an old choice map has it and ``resample`` does not select it;
* else a fresh draw from its conditional prior (the *internal proposal* q_int);

and returns the new choices, the score log p(choices; args), the ``weight`` (Σ log p over the
choices that were *not* freshly drawn) and ``measured`` (Σ log p over choices in ``measure``).
All public GFI methods are thin formulas over ``edit`` (Gen semantics; see the spec §4):

=============  ============================================================================
simulate       τ ∼ p; ``score = log p(τ)``
assess         log p(τ) of a complete choice map (missing address -> AddressError)
generate       log w = Σ_{constrained a} log p(τ_a | parents)  (likelihood weighting)
project        Σ_{a ∈ S} log p(τ_a | parents) of an existing trace
update         log w = log p(τ') − log p(τ) − log q_int(fresh choices of τ')
regenerate     log w = log p(τ')/p(τ) − log q_int(τ'_S) + log q_int(τ_S)
propose        (choices, log p, retval) without a Trace
=============  ============================================================================

Signs: ``score`` and every ``log_w`` are log-densities (never negated).

A custom GF (e.g. a vectorised Bayes net) subclasses :class:`GenerativeFunction`, sets
``name`` and implements ``edit``; per choice at address a it picks the value as above and sums::

    lp_a = log p(value_a | parents)
    score += lp_a
    weight += lp_a        if value_a was constrained or kept (not freshly drawn)
    measured += lp_a      if measure.contains(a)
    discard[a] = old[a]   if a constraint overwrote an old value

and returns ``EditResult(choices, retval, score, weight, measured, discard)``. It may then be
called from ``@gen`` models (``t("bn", my_gf, *args)``) and used by every inference routine.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from simlab.gen.choicemap import ChoiceMap, Selection, none
from simlab.gen.errors import AddressError

__all__ = ["EditResult", "GenerativeFunction", "Trace"]


@jax.tree_util.register_pytree_node_class
class Trace:
    """A GF execution: ``gen_fn`` (static), ``args`` (tuple), ``choices``, ``retval``, ``score``.

    ``score`` = log p(choices; args), a float scalar (or a batch of them for a vmapped Trace).
    """

    __slots__ = ("args", "choices", "gen_fn", "retval", "score")

    def __init__(self, gen_fn, args, choices, retval, score):
        self.gen_fn = gen_fn
        self.args = tuple(args)
        self.choices = choices
        self.retval = retval
        self.score = score

    def tree_flatten(self):
        return (self.args, self.choices, self.retval, self.score), self.gen_fn

    @classmethod
    def tree_unflatten(cls, gen_fn, children):
        return cls(gen_fn, *children)

    def __getitem__(self, a):
        return self.choices[a]

    def __repr__(self) -> str:
        return f"Trace({getattr(self.gen_fn, 'name', self.gen_fn)!r}, choices={self.choices!r})"


class EditResult(NamedTuple):
    """The result of :meth:`GenerativeFunction.edit` (a pytree).

    choices: new ChoiceMap; retval: return value; score: log p(choices; args);
    weight: Σ log p over choices not freshly drawn; measured: Σ log p over ``measure``;
    discard: ChoiceMap of old values that were overwritten by constraints or not revisited.
    """

    choices: ChoiceMap
    retval: Any
    score: Any
    weight: Any
    measured: Any
    discard: ChoiceMap


def _as_args(args) -> tuple:
    if isinstance(args, tuple):
        return args
    if isinstance(args, list):
        return tuple(args)
    raise TypeError(f"GF arguments must be a tuple, got {type(args).__name__}")


class GenerativeFunction:
    """Base class: implement :meth:`edit`; the GFI methods follow from it.

    Subclasses may override GFI methods with faster direct versions, provided they return the
    same values. Set ``accepts_particle_keys = True`` only if every random draw goes through
    :mod:`simlab.gen.rng` helpers (see that module).
    """

    name: str = "gen_fn"
    accepts_particle_keys: bool = False

    # the primitive ----------------------------------------------------------------------------
    def edit(
        self,
        key,
        args: tuple,
        *,
        old: ChoiceMap | None = None,
        constraints: ChoiceMap = ChoiceMap.empty(),
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old: bool = False,
    ) -> EditResult:
        """Run once; see the module docstring. ``strict_old``: every choice must be in ``old``
        or ``constraints`` (AddressError otherwise); then ``key`` may be None."""
        raise NotImplementedError

    # GFI ----------------------------------------------------------------------------------------
    def simulate(self, key, args=()) -> Trace:
        """τ ∼ p(·; args). Returns a Trace with ``score`` = log p(τ; args) (scalar)."""
        args = _as_args(args)
        r = self.edit(key, args)
        return Trace(self, args, r.choices, r.retval, r.score)

    def propose(self, key, args=()):
        """``(choices, log_p, retval)`` of τ ∼ p(·; args); log_p = log p(τ; args)."""
        r = self.edit(key, _as_args(args))
        return r.choices, r.score, r.retval

    def assess(self, choices: ChoiceMap, args=()):
        """``(log_p, retval)``: exact log p(choices; args). Every address must be present and
        every given address visited (AddressError naming the GF and address otherwise)."""
        choices = _as_cm(choices)
        r = self.edit(None, _as_args(args), old=choices, strict_old=True)
        self._check_visited(choices, r.choices, "assess")
        return r.score, r.retval

    def generate(self, key, constraints: ChoiceMap, args=(), strict: bool = True):
        """``(trace, log_w)``: constrained choices fixed, others drawn from q_int.

        log_w = Σ_{constrained a} log p(τ_a | parents) (likelihood weighting), so
        E_q[exp(log_w)] = p(constraints; args). ``strict``: raise AddressError if a constraint
        sits at an address the GF never visits.
        """
        args = _as_args(args)
        constraints = _as_cm(constraints)
        r = self.edit(key, args, constraints=constraints)
        if strict:
            self._check_visited(constraints, r.choices, "generate")
        return Trace(self, args, r.choices, r.retval, r.score), r.weight

    def project(self, trace: Trace, selection: Selection):
        """Σ_{a ∈ selection} log p(τ_a | parents): the weight ``generate`` returns for this trace
        with constraints ``trace.choices.filter(selection)``. Scalar."""
        r = self.edit(None, trace.args, old=trace.choices, measure=selection, strict_old=True)
        return r.measured

    def update(self, key, trace: Trace, constraints: ChoiceMap, new_args=None, strict=True):
        """``(trace', log_w, discard)``: constrained choices replaced, args changed to new_args.

        log_w = log p(τ'; x') − log p(τ; x) − log q_int(choices of τ' drawn fresh); equals
        log p(τ')/p(τ) with static structure. ``discard`` holds overwritten/removed old values.
        """
        args = trace.args if new_args is None else _as_args(new_args)
        constraints = _as_cm(constraints)
        r = self.edit(key, args, old=trace.choices, constraints=constraints)
        if strict:
            self._check_visited(constraints, r.choices, "update")
        return Trace(self, args, r.choices, r.retval, r.score), r.weight - trace.score, r.discard

    def regenerate(self, key, trace: Trace, selection: Selection, new_args=None):
        """``(trace', log_w)``: selected choices redrawn from q_int (others kept).

        log_w = log p(τ')/p(τ) − log q_int(τ'_S) + log q_int(τ_S): the log-likelihood ratios of
        the unselected choices. ``mh`` accepts with probability min(1, exp(log_w)).
        """
        args = trace.args if new_args is None else _as_args(new_args)
        r = self.edit(key, args, old=trace.choices, resample=selection, measure=selection)
        old_selected = self.project(trace, selection)
        log_w = r.weight - (trace.score - old_selected)
        return Trace(self, args, r.choices, r.retval, r.score), log_w

    # helpers ----------------------------------------------------------------------------------
    def _check_visited(self, given: ChoiceMap, visited: ChoiceMap, method: str):
        for a in given.addresses():
            if a not in visited and not any(_indexes(a, b) for b in visited.addresses()):
                near = [b for b in visited.addresses() if b[:1] == a[:1]] or list(visited)
                raise AddressError(
                    f"{method}: no random choice at this address (a constraint on a "
                    f"deterministic value or an unknown address); random choices: {near[:8]}",
                    a,
                    self.name,
                )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def _indexes(a: tuple, b: tuple) -> bool:
    """True if ``a`` is ``b`` with extra int components (indices into stacked leaves)."""
    j = 0
    for c in a:
        if j < len(b) and c == b[j]:
            j += 1
        elif not isinstance(c, int):
            return False
    return j == len(b) and len(a) > len(b)


def _as_cm(c) -> ChoiceMap:
    if isinstance(c, ChoiceMap):
        return c
    if c is None:
        return ChoiceMap.empty()
    if isinstance(c, dict):
        return ChoiceMap(c)
    raise TypeError(f"expected a ChoiceMap, got {type(c).__name__}")


def zero():
    """A float zero of the current default precision (for weight accumulators)."""
    return jnp.zeros((), jnp.result_type(float))
