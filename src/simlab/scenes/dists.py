"""Distributions on rotations, directions and poses, with log densities on stated measures.

Measures (as in GenDirectionalStats):

* rotations: the unit-quaternion hemisphere, total mass π² (so ``uniform_rotation`` has
  log density −log π²); a rotation's density is f(q) + f(−q) for a density f on S³;
* directions: the unit sphere S², mass 4π; angles: the circle, mass 2π.

``vmf_rotation(κ)`` is the von Mises–Fisher distribution on S³ about the identity quaternion,
read as a rotation; its per-axis spread is about 2/√κ rad (36°, 11°, 3.6°, 1.6° for κ = 10,
100, 1000, 5000). ``gaussian_vmf_pose`` perturbs a pose (t, q) by t + N(0, σ²I) and q ⊗ δ with
δ ∼ vmf_rotation(κ); it is symmetric in its two poses, so it cancels in MH ratios.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from simlab.scenes.geometry import quat_conjugate, quat_multiply, uniform_quat

__all__ = [
    "LOG_PI2",
    "gaussian_vmf_pose_logpdf",
    "gaussian_vmf_pose_sample",
    "uniform_angle_logpdf",
    "uniform_direction_logpdf",
    "uniform_rotation_logpdf",
    "uniform_rotation_sample",
    "vmf_direction_logpdf",
    "vmf_rotation_logpdf",
    "vmf_rotation_sample",
    "vmf_s3_sample",
]

LOG_PI2 = 2.0 * math.log(math.pi)


def uniform_rotation_sample(key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
    """Haar-uniform quaternions (*shape, 4)."""
    return uniform_quat(key, shape)


def uniform_rotation_logpdf(q: jax.Array) -> jax.Array:
    """−log π² for every rotation (..., 4)."""
    return jnp.full(q.shape[:-1], -LOG_PI2)


def uniform_direction_logpdf(d: jax.Array) -> jax.Array:
    return jnp.full(d.shape[:-1], -math.log(4 * math.pi))


def uniform_angle_logpdf(a: jax.Array) -> jax.Array:
    return jnp.full(jnp.shape(a), -math.log(2 * math.pi))


def vmf_direction_logpdf(d: jax.Array, mu: jax.Array, kappa) -> jax.Array:
    """vMF on S² w.r.t. area: log κ − log 2π − log(1 − e^{−2κ}) − κ + κ μᵀd (κ > 0)."""
    kappa = jnp.asarray(kappa, jnp.float32)
    return (
        jnp.log(kappa)
        - math.log(2 * math.pi)
        - jnp.log1p(-jnp.exp(-2 * kappa))
        - kappa
        + kappa * jnp.sum(mu * d, axis=-1)
    )


def _log_c4(kappa: jax.Array) -> jax.Array:
    """log of the vMF normaliser on S³ w.r.t. area: κ / (4π² I₁(κ)); 1/(2π²) as κ → 0."""
    kappa = jnp.asarray(kappa, jnp.float32)
    safe = jnp.maximum(kappa, 1e-3)
    val = jnp.log(safe) - 2 * math.log(2 * math.pi) - jnp.log(jax.scipy.special.i1e(safe)) - safe
    return jnp.where(kappa < 1e-3, -math.log(2 * math.pi**2), val)


def vmf_s3_sample(key: jax.Array, kappa, shape: tuple[int, ...] = ()) -> jax.Array:
    """vMF samples on S³ (*shape, 4) about (1, 0, 0, 0) by Wood's (1994) rejection sampler.

    The acceptance rate exceeds 0.8 for every κ in dimension 4; a ``while_loop`` makes the
    sample exact (it vmaps: finished lanes simply keep their value).
    """
    kappa = jnp.asarray(kappa, jnp.float32)
    if not shape:
        return _vmf_s3_one(key, kappa)
    keys = jax.random.split(key, math.prod(shape))
    return _vmf_s3_many(keys, kappa).reshape(*shape, 4)


def _vmf_s3_one(key: jax.Array, kappa: jax.Array) -> jax.Array:
    m1 = 3.0  # dimension − 1
    b = m1 / (2 * kappa + jnp.sqrt(4 * kappa**2 + m1**2))  # stable form of (−2κ+√(4κ²+9))/3
    x0 = (1 - b) / (1 + b)
    c = kappa * x0 + m1 * jnp.log(1 - x0**2)

    def body(state):
        key, _, _ = state
        key, kz, ku = jax.random.split(key, 3)
        z = jax.random.beta(kz, 1.5, 1.5)
        w = (1 - (1 + b) * z) / (1 - (1 - b) * z)
        u = jax.random.uniform(ku, minval=1e-12)
        ok = kappa * w + m1 * jnp.log(1 - x0 * w) - c >= jnp.log(u)
        return key, w, ok

    key, kw, kv = jax.random.split(key, 3)
    _, w, _ = jax.lax.while_loop(lambda s: ~s[2], body, (kw, jnp.float32(1.0), jnp.bool_(False)))
    v = jax.random.normal(kv, (3,))
    v = v / jnp.linalg.norm(v)
    return jnp.concatenate([w[None], jnp.sqrt(jnp.maximum(1 - w**2, 0.0)) * v])


_vmf_s3_many = jax.jit(jax.vmap(_vmf_s3_one, in_axes=(0, None)))


def vmf_rotation_sample(key: jax.Array, kappa, shape: tuple[int, ...] = ()) -> jax.Array:
    """Rotations δ (*shape, 4) ∼ vMF(identity, κ) on S³ (sign as sampled)."""
    return vmf_s3_sample(key, kappa, shape)


def vmf_rotation_logpdf(delta: jax.Array, kappa) -> jax.Array:
    """Log density of rotations δ (..., 4) w.r.t. the hemisphere measure (mass π²).

    f(δ) + f(−δ) with f the S³ vMF about the identity: log C₄(κ) + κ|w| + log(1 + e^{−2κ|w|}).
    """
    kappa = jnp.asarray(kappa, jnp.float32)
    aw = jnp.abs(delta[..., 0])
    return _log_c4(kappa) + kappa * aw + jnp.log1p(jnp.exp(-2 * kappa * aw))


def gaussian_vmf_pose_sample(
    key: jax.Array, t: jax.Array, q: jax.Array, sigma, kappa
) -> tuple[jax.Array, jax.Array]:
    """(t', q') with t' = t + N(0, σ² I) [m] and q' = q ⊗ δ, δ ∼ vMF(κ) (body-frame drift)."""
    kt, kq = jax.random.split(key)
    t2 = t + sigma * jax.random.normal(kt, t.shape)
    q2 = quat_multiply(q, vmf_rotation_sample(kq, kappa))
    return t2, q2 / jnp.linalg.norm(q2, axis=-1, keepdims=True)


def gaussian_vmf_pose_logpdf(t2, q2, t, q, sigma, kappa) -> jax.Array:
    """Log density of (t', q') under ``gaussian_vmf_pose_sample`` from (t, q).

    Lebesgue measure on R³ times the hemisphere measure on rotations.
    """
    d = (t2 - t) / sigma
    lt = -0.5 * jnp.sum(d * d, axis=-1) - 3 * jnp.log(sigma) - 1.5 * math.log(2 * math.pi)
    delta = quat_multiply(quat_conjugate(q), q2)
    return lt + vmf_rotation_logpdf(delta, kappa)
