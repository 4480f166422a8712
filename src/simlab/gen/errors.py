"""Errors raised by generative functions, naming the model and the address.

Each error keeps the address relative to the outermost generative function it passed through,
so ``AddressError`` raised by a distribution deep inside a sub-model reads, for example,
``missing choice at address ('h', 'z') of generative function 'model' (via 'sub')``.
"""

from __future__ import annotations

from simlab.core.errors import UserError

__all__ = ["AddressError", "GenError", "NonFiniteWeightError", "ShapeError"]


class GenError(UserError):
    """A modelling error at an address of a generative function."""

    kind = "error"

    def __init__(self, detail: str, address: tuple = (), gf_name: str = "?", via=()):
        self.detail = detail
        self.address = tuple(address)
        self.gf_name = gf_name
        self.via = tuple(via)
        super().__init__(self._message())

    def _message(self) -> str:
        via = f" (via {' -> '.join(repr(v) for v in self.via)})" if self.via else ""
        return (
            f"{self.kind} at address {self.address!r} of generative function "
            f"{self.gf_name!r}{via}: {self.detail}"
        )

    def within(self, gf_name: str, prefix: tuple) -> GenError:
        """The same error seen from a caller: address prefixed, caller named."""
        inner = () if self.gf_name == "?" else (self.gf_name,)
        return type(self)(self.detail, tuple(prefix) + self.address, gf_name, inner + self.via)


class AddressError(GenError, LookupError):
    """A missing, duplicated, unknown or unvisited address."""

    kind = "address error"


class ShapeError(GenError, ValueError):
    """A constraint whose shape differs from the value the distribution produces."""

    kind = "shape error"


class NonFiniteWeightError(GenError, FloatingPointError):
    """A log-density that is NaN or +inf (−inf is a valid zero-probability value).

    Raised when the GF runs on concrete values (outside ``jit``/``vmap``); inside compiled code
    such weights propagate as NaN/inf, so run a model once un-jitted to locate them."""

    kind = "non-finite weight"
