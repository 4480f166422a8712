"""Rigid 6-DoF poses, unit quaternions and rotation matrices.

Conventions (used everywhere in ``simlab.scenes``):

* Units are metres and radians.
* A quaternion is ``(w, x, y, z)`` with unit norm; ``q`` and ``-q`` are the same rotation.
* A pose is a 4×4 homogeneous matrix ``T`` (float32 in JAX, float64 in NumPy) mapping points
  from the body frame into the parent frame: ``p_parent = R @ p_body + t``.
* ``T_ab`` maps frame-b coordinates to frame-a coordinates, so ``T_ac = T_ab @ T_bc``.

All functions are written with ``jax.numpy`` and broadcast over leading batch axes, so they
can be vmapped, jitted and also called on NumPy inputs.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = [
    "axis_angle_to_quat",
    "identity_pose",
    "invert_pose",
    "matrix_to_quat",
    "pose_from_tq",
    "pose_to_tq",
    "quat_angle",
    "quat_conjugate",
    "quat_multiply",
    "quat_to_matrix",
    "rotation_about_axis",
    "rotation_angle",
    "transform_points",
    "uniform_quat",
]


def quat_multiply(a: jax.Array, b: jax.Array) -> jax.Array:
    """Hamilton product ``a ⊗ b`` of quaternions (..., 4); rotation ``a`` after ``b``."""
    aw, ax, ay, az = jnp.moveaxis(a, -1, 0)
    bw, bx, by, bz = jnp.moveaxis(b, -1, 0)
    return jnp.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        axis=-1,
    )


def quat_conjugate(q: jax.Array) -> jax.Array:
    """The inverse rotation of unit quaternions (..., 4)."""
    return q * jnp.array([1.0, -1.0, -1.0, -1.0], dtype=q.dtype)


def quat_to_matrix(q: jax.Array) -> jax.Array:
    """Rotation matrices (..., 3, 3) of quaternions (..., 4); ``q`` is normalised first."""
    q = q / jnp.linalg.norm(q, axis=-1, keepdims=True)
    w, x, y, z = jnp.moveaxis(q, -1, 0)
    rows = [
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ]
    return jnp.stack([jnp.stack(r, axis=-1) for r in rows], axis=-2)


def matrix_to_quat(R: jax.Array) -> jax.Array:
    """Unit quaternions (..., 4) with w ≥ 0 of rotation matrices (..., 3, 3).

    Uses the largest of the four diagonal combinations for numerical stability (all four are
    computed and selected with ``where``, so it stays jittable and vmappable).
    """
    m = R
    tr = m[..., 0, 0] + m[..., 1, 1] + m[..., 2, 2]
    cands = jnp.stack(
        [
            jnp.stack(
                [
                    1 + tr,
                    m[..., 2, 1] - m[..., 1, 2],
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 1, 0] - m[..., 0, 1],
                ],
                -1,
            ),
            jnp.stack(
                [
                    m[..., 2, 1] - m[..., 1, 2],
                    1 + m[..., 0, 0] - m[..., 1, 1] - m[..., 2, 2],
                    m[..., 0, 1] + m[..., 1, 0],
                    m[..., 0, 2] + m[..., 2, 0],
                ],
                -1,
            ),
            jnp.stack(
                [
                    m[..., 0, 2] - m[..., 2, 0],
                    m[..., 0, 1] + m[..., 1, 0],
                    1 - m[..., 0, 0] + m[..., 1, 1] - m[..., 2, 2],
                    m[..., 1, 2] + m[..., 2, 1],
                ],
                -1,
            ),
            jnp.stack(
                [
                    m[..., 1, 0] - m[..., 0, 1],
                    m[..., 0, 2] + m[..., 2, 0],
                    m[..., 1, 2] + m[..., 2, 1],
                    1 - m[..., 0, 0] - m[..., 1, 1] + m[..., 2, 2],
                ],
                -1,
            ),
        ],
        axis=-2,
    )  # (..., 4 candidates, 4)
    d00, d11, d22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    diag = jnp.stack([tr, d00 - d11 - d22, d11 - d00 - d22, d22 - d00 - d11], -1)
    best = jnp.argmax(diag, axis=-1)
    q = jnp.take_along_axis(cands, best[..., None, None], axis=-2)[..., 0, :]
    q = q / jnp.linalg.norm(q, axis=-1, keepdims=True)
    return jnp.where(q[..., :1] < 0, -q, q)


def axis_angle_to_quat(axis: jax.Array, angle: jax.Array) -> jax.Array:
    """Quaternions (..., 4) for rotations by ``angle`` (...) rad about unit ``axis`` (..., 3)."""
    half = 0.5 * jnp.asarray(angle)[..., None]
    axis = axis / jnp.linalg.norm(axis, axis=-1, keepdims=True)
    return jnp.concatenate([jnp.cos(half), jnp.sin(half) * axis], axis=-1)


def rotation_about_axis(axis, angle) -> jax.Array:
    """3×3 rotation matrix by ``angle`` rad about ``axis`` (3,)."""
    return quat_to_matrix(axis_angle_to_quat(jnp.asarray(axis, jnp.float32), angle))


def quat_angle(q: jax.Array) -> jax.Array:
    """Rotation angle in [0, π] (rad) of unit quaternions (..., 4)."""
    return 2.0 * jnp.arctan2(jnp.linalg.norm(q[..., 1:], axis=-1), jnp.abs(q[..., 0]))


def rotation_angle(Ra: jax.Array, Rb: jax.Array) -> jax.Array:
    """Geodesic angle (rad) between rotation matrices (..., 3, 3)."""
    return quat_angle(matrix_to_quat(jnp.swapaxes(Ra, -1, -2) @ Rb))


def uniform_quat(key: jax.Array, shape: tuple[int, ...] = ()) -> jax.Array:
    """Haar-uniform rotations as unit quaternions (*shape, 4) with w ≥ 0.

    A normalised standard normal in R⁴ is uniform on S³; folding to w ≥ 0 keeps it uniform on
    the hemisphere (mass π²) that the densities in ``scenes.dists`` are measured against.
    """
    q = jax.random.normal(key, (*shape, 4))
    q = q / jnp.linalg.norm(q, axis=-1, keepdims=True)
    return jnp.where(q[..., :1] < 0, -q, q)


def pose_from_tq(t: jax.Array, q: jax.Array) -> jax.Array:
    """4×4 poses (..., 4, 4) from translations (..., 3) [m] and quaternions (..., 4)."""
    R = quat_to_matrix(q)
    top = jnp.concatenate([R, t[..., :, None]], axis=-1)
    bottom = jnp.broadcast_to(
        jnp.array([0.0, 0.0, 0.0, 1.0], dtype=top.dtype), (*top.shape[:-2], 1, 4)
    )
    return jnp.concatenate([top, bottom], axis=-2)


def pose_to_tq(T: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(t (..., 3), q (..., 4)) of poses (..., 4, 4)."""
    return T[..., :3, 3], matrix_to_quat(T[..., :3, :3])


def identity_pose(dtype=jnp.float32) -> jax.Array:
    return jnp.eye(4, dtype=dtype)


def invert_pose(T: jax.Array) -> jax.Array:
    """Inverse of rigid poses (..., 4, 4), using Rᵀ instead of a general matrix inverse."""
    Rt = jnp.swapaxes(T[..., :3, :3], -1, -2)
    t = -(Rt @ T[..., :3, 3:])
    top = jnp.concatenate([Rt, t], axis=-1)
    return jnp.concatenate([top, T[..., 3:, :]], axis=-2)


def transform_points(T: jax.Array, points: jax.Array) -> jax.Array:
    """Apply poses (..., 4, 4) to points (..., P, 3); returns (..., P, 3)."""
    # written as broadcast multiply-adds: XLA's CPU matmul for (P, 3) @ (3, 3) is slower
    R, t = T[..., None, :3, :3], T[..., None, :3, 3]
    return (
        points[..., 0:1] * R[..., :, 0]
        + points[..., 1:2] * R[..., :, 1]
        + points[..., 2:3] * R[..., :, 2]
        + t
    )
