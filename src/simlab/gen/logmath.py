"""Log-space utilities. All functions reduce over ``axis`` (default: last) and handle −inf.

A weight vector of all −inf is valid: ``logsumexp`` returns −inf, ``normalize`` returns NaN
(no distribution is defined) and ``ess`` returns 0.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax.scipy.special import logsumexp as _lse

__all__ = ["ess", "log1mexp", "logmeanexp", "logsumexp", "normalize"]


def logsumexp(x, axis: int = -1):
    """log Σ exp(x) over ``axis``; shape of x without ``axis``. −inf if all entries are −inf."""
    return _lse(jnp.asarray(x), axis=axis)


def logmeanexp(x, axis: int = -1):
    """log (1/n) Σ exp(x) over ``axis`` (n = its length). If E[exp(x_i)] = Z then E[exp(·)] = Z."""
    x = jnp.asarray(x)
    return _lse(x, axis=axis) - jnp.log(x.shape[axis])


def log1mexp(x):
    """log(1 − exp(x)) for x ≤ 0, accurate near 0 and near −inf (Mächler 2012); elementwise."""
    x = jnp.asarray(x)
    return jnp.where(x > -jnp.log(2.0), jnp.log(-jnp.expm1(x)), jnp.log1p(-jnp.exp(x)))


def normalize(x, axis: int = -1):
    """Normalised log-weights x − logsumexp(x); same shape as x; Σ exp = 1 along ``axis``."""
    x = jnp.asarray(x)
    return x - jnp.expand_dims(_lse(x, axis=axis), axis)


def ess(x, axis: int = -1):
    """Effective sample size 1/Σ w̄² of log-weights x, in [1, n]; 0 when all weights are −inf."""
    x = jnp.asarray(x)
    value = jnp.exp(2.0 * _lse(x, axis=axis) - _lse(2.0 * x, axis=axis))
    return jnp.where(jnp.isfinite(_lse(x, axis=axis)), value, 0.0)
