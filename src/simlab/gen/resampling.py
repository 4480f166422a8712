"""Resampling schemes: ancestor indices from log-weights, O(N log N) (searchsorted), never the
O(N²) ``categorical(..., shape=(N,))``.

Each function: ``(key, log_weights (N,), n=None) -> ancestors (n,) int32`` with
E[#copies of i] = n·w̄_i (unbiased). If every weight is −inf the ancestors are arbitrary and
the caller's log Ẑ is −inf.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlab.gen import logmath

__all__ = ["RESAMPLERS", "multinomial", "resample", "residual", "stratified", "systematic"]


def _cdf(log_weights):
    w = jnp.exp(logmath.normalize(log_weights))
    cdf = jnp.cumsum(w)
    return cdf / cdf[-1]


def _invert(cdf, u):
    return jnp.minimum(jnp.searchsorted(cdf, u, side="right"), cdf.shape[0] - 1).astype(jnp.int32)


def systematic(key, log_weights, n: int | None = None):
    """One U ∼ U(0,1); positions (U + i)/n; ancestors by searchsorted on the CDF."""
    n = log_weights.shape[0] if n is None else n
    u = (jax.random.uniform(key, dtype=log_weights.dtype) + jnp.arange(n)) / n
    return _invert(_cdf(log_weights), u)


def stratified(key, log_weights, n: int | None = None):
    """Independent U_i ∼ U(0,1); positions (U_i + i)/n."""
    n = log_weights.shape[0] if n is None else n
    u = (jax.random.uniform(key, (n,), log_weights.dtype) + jnp.arange(n)) / n
    return _invert(_cdf(log_weights), u)


def multinomial(key, log_weights, n: int | None = None):
    """n iid draws ∝ weights (inverse CDF of n uniforms)."""
    n = log_weights.shape[0] if n is None else n
    u = jax.random.uniform(key, (n,), log_weights.dtype)
    return _invert(_cdf(log_weights), u)


def residual(key, log_weights, n: int | None = None):
    """floor(n w̄_i) deterministic copies of i, the remaining R slots multinomial on the
    residuals n w̄_i − floor(n w̄_i)."""
    n = log_weights.shape[0] if n is None else n
    nw = n * jnp.exp(logmath.normalize(log_weights))
    counts = jnp.floor(nw).astype(jnp.int32)
    det = jnp.repeat(jnp.arange(log_weights.shape[0]), counts, total_repeat_length=n)
    s = jnp.sum(counts)
    res = nw - counts
    log_res = jnp.where(res > 0, jnp.log(jnp.where(res > 0, res, 1.0)), -jnp.inf)
    extra = multinomial(key, log_res, n)
    i = jnp.arange(n)
    return jnp.where(i < s, det, extra[jnp.clip(i - s, 0, n - 1)]).astype(jnp.int32)


RESAMPLERS = {
    "systematic": systematic,
    "multinomial": multinomial,
    "stratified": stratified,
    "residual": residual,
}


def resample(method: str, key, log_weights, n: int | None = None):
    """Dispatch by name: one of ``RESAMPLERS``."""
    try:
        fn = RESAMPLERS[method]
    except KeyError:
        raise ValueError(f"unknown resampling {method!r}; choose from {list(RESAMPLERS)}") from None
    return fn(key, log_weights, n)
