"""Planar contacts between box faces: face frames, contact ↔ relative pose, closest contact.

Spec §3 (MiniGSG / ThreeDP3 conventions). A box with half sizes h = (hx, hy, hz) has six faces;
each face frame has its origin at the face centre and +z along the outward normal:

====  ======  ===================  =======  ========
 k    name    frame (t, R)         normal   local x, y
====  ======  ===================  =======  ========
 0    back    ((0,0,hz), I)        +z       x, y
 1    front   ((0,0,−hz), Rx(π))   −z       x, −y
 2    left    ((−hx,0,0), Ry(−π/2)) −x      z, y
 3    right   ((hx,0,0), Ry(π/2))  +x       −z, y
 4    bottom  ((0,hy,0), Rx(−π/2)) +y       x, −z
 5    top     ((0,−hy,0), Rx(π/2)) −y       x, z
====  ======  ===================  =======  ========

so ``opposite(k) = k ^ 1``. A contact of a child face on a parent face is the vector
``c = (x, y, s, dx, dy, dz, φ)`` (7,): in-plane offset (x, y) [m] in the parent face frame,
slack offset s [m], slack direction d ∈ S² (the child-face normal in parent-face coordinates,
(0, 0, −1) when flush) and the angle φ [rad] about the normal. With F = rotation by π about
(1, 1, 0)/√2 and A(n) the geodesic rotation e_z → n, the child face's pose in the parent face
frame is C = ((x, y, s), F·A(Fᵀd)·Rz(φ)), and

    T_child = T_parent · P_fp · C · P_fc⁻¹.

``contact_from_poses`` inverts this exactly (φ = 2·atan2(q_z, q_w) of quat(Fᵀ R_C), the Hopf
fibre angle); the map is singular only at d = +e_z, which has zero prior mass.

All functions are ``jax.numpy``, follow the input dtype (float64 under ``jax.enable_x64``) and
broadcast/vmap over leading axes.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from simlab.scenes.geometry import invert_pose, matrix_to_quat

__all__ = [
    "FACE_NAMES",
    "RHO",
    "F",
    "closest_contact",
    "contact_from_poses",
    "contact_pose",
    "contact_to_relative",
    "face_extents",
    "face_frame",
    "face_frames",
    "geodesic_rotation",
    "opposite",
    "pair_contacts",
]

FACE_NAMES = ("back", "front", "left", "right", "bottom", "top")
#: Weight ρ [m/rad] of tilt against slack in the face-pair distance |s| + ρ·arccos(−d_z)
#: (ThreeDP3's pose_distance with r = 5 in cm).
RHO = 0.05
_S2 = math.sqrt(0.5)


def opposite(face):
    """The opposite face index (0 ↔ 1, 2 ↔ 3, 4 ↔ 5)."""
    return jnp.bitwise_xor(jnp.asarray(face), 1)


def F(dtype=jnp.float32) -> jax.Array:
    """Rotation by π about (1, 1, 0)/√2: [[0, 1, 0], [1, 0, 0], [0, 0, −1]] (an involution)."""
    return jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, -1.0]], dtype)


def _face_rotations(dtype):
    eye = jnp.eye(3, dtype=dtype)
    rx_pi = jnp.diag(jnp.array([1.0, -1.0, -1.0], dtype))
    ry_m = jnp.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]], dtype)  # Ry(−π/2)
    ry_p = jnp.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]], dtype)  # Ry(π/2)
    rx_m = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]], dtype)  # Rx(−π/2)
    rx_p = jnp.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]], dtype)  # Rx(π/2)
    return jnp.stack([eye, rx_pi, ry_m, ry_p, rx_m, rx_p])


def face_frames(half: jax.Array) -> jax.Array:
    """Poses (..., 6, 4, 4) of the six face frames of boxes with half sizes ``half`` (..., 3)."""
    half = jnp.asarray(half)
    dtype = half.dtype if jnp.issubdtype(half.dtype, jnp.floating) else jnp.float32
    R = _face_rotations(dtype)  # (6, 3, 3)
    # face centre = h_axis · normal: the normal is R e_z, and |normal| picks the axis
    normal = R[:, :, 2]  # (6, 3)
    t = normal * half[..., None, :]  # (..., 6, 3)
    top = jnp.concatenate([jnp.broadcast_to(R, (*t.shape[:-1], 3, 3)), t[..., None]], -1)
    bottom = jnp.broadcast_to(jnp.array([0.0, 0.0, 0.0, 1.0], dtype), (*t.shape[:-1], 1, 4))
    return jnp.concatenate([top, bottom], -2)


def face_frame(half: jax.Array, face) -> jax.Array:
    """Pose (..., 4, 4) of face ``face`` (int, may be traced or batched) of boxes ``half``."""
    half, face = jnp.asarray(half), jnp.asarray(face)
    batch = jnp.broadcast_shapes(half.shape[:-1], face.shape)
    P = jnp.broadcast_to(face_frames(half), (*batch, 6, 4, 4))
    face = jnp.broadcast_to(face, batch)
    return jnp.take_along_axis(P, face[..., None, None, None], axis=-3)[..., 0, :, :]


def face_extents(half: jax.Array, face) -> jax.Array:
    """Half extents (..., 2) [m] of a face along its local x and y axes, from its frame."""
    R = face_frame(half, face)[..., :3, :3]
    return jnp.stack(
        [
            jnp.sum(jnp.abs(R[..., :, 0]) * half, -1),
            jnp.sum(jnp.abs(R[..., :, 1]) * half, -1),
        ],
        -1,
    )


def geodesic_rotation(n: jax.Array) -> jax.Array:
    """The rotation (..., 3, 3) taking e_z to the unit vector n (..., 3) along the great circle
    (axis e_z × n, angle atan2(‖e_z × n‖, n_z)); undefined only at n = −e_z."""
    nx, ny, nz = n[..., 0], n[..., 1], n[..., 2]
    # Rodrigues with k = (−ny, nx, 0)/s, sin = s, cos = nz, written without dividing by s:
    # R = I + [v]× + [v]×² / (1 + nz), v = e_z × n = (−ny, nx, 0)
    c = 1.0 / (1.0 + nz)
    zero = jnp.zeros_like(nx)
    row0 = jnp.stack([1 - c * nx * nx, -c * nx * ny, nx], -1)
    row1 = jnp.stack([-c * nx * ny, 1 - c * ny * ny, ny], -1)
    row2 = jnp.stack([-nx, -ny, nz + zero], -1)
    return jnp.stack([row0, row1, row2], -2)


def _rz(phi):
    c, s = jnp.cos(phi), jnp.sin(phi)
    z, o = jnp.zeros_like(phi), jnp.ones_like(phi)
    return jnp.stack(
        [jnp.stack([c, -s, z], -1), jnp.stack([s, c, z], -1), jnp.stack([z, z, o], -1)], -2
    )


def contact_to_relative(c: jax.Array) -> jax.Array:
    """The child face's pose C (..., 4, 4) in the parent face's frame, of contacts c (..., 7)."""
    d = c[..., 3:6]
    d = d / jnp.linalg.norm(d, axis=-1, keepdims=True)
    Fm = F(c.dtype)
    R = Fm @ geodesic_rotation(d @ Fm) @ _rz(c[..., 6])  # Fᵀd = F d (F is symmetric)
    top = jnp.concatenate([R, c[..., 0:3, None]], -1)
    bottom = jnp.broadcast_to(jnp.array([0.0, 0.0, 0.0, 1.0], c.dtype), (*c.shape[:-1], 1, 4))
    return jnp.concatenate([top, bottom], -2)


def contact_pose(T_parent, half_parent, face_p, half_child, face_c, c) -> jax.Array:
    """Absolute child pose (..., 4, 4) = T_parent · P_fp · C(c) · P_fc⁻¹."""
    P_p = face_frame(half_parent, face_p)
    P_c = face_frame(half_child, face_c)
    return T_parent @ P_p @ contact_to_relative(c) @ invert_pose(P_c)


def contact_from_poses(T_parent, half_parent, face_p, T_child, half_child, face_c) -> jax.Array:
    """The contact c (..., 7) with fixed faces that reproduces T_child exactly (the closest
    approximating contact for that face pair; exact inverse of ``contact_pose``)."""
    P_p = face_frame(half_parent, face_p)
    P_c = face_frame(half_child, face_c)
    C = invert_pose(T_parent @ P_p) @ T_child @ P_c
    R = C[..., :3, :3]
    d = R[..., :, 2]
    q = matrix_to_quat(F(R.dtype) @ R)
    phi = 2.0 * jnp.arctan2(q[..., 3], q[..., 0])
    return jnp.concatenate([C[..., :3, 3], d, phi[..., None]], -1)


def pair_contacts(T_parent, half_parent, T_child, half_child):
    """Contacts (6, 6, 7) for every (parent face, child face) pair and their distances (6, 6)
    |s| + ρ·arccos(−d_z) [m] (spec §3, "face pair")."""
    fp = jnp.arange(6)[:, None]
    fc = jnp.arange(6)[None, :]
    c = contact_from_poses(
        T_parent[None, None],
        half_parent[None, None],
        jnp.broadcast_to(fp, (6, 6)),
        T_child[None, None],
        half_child[None, None],
        jnp.broadcast_to(fc, (6, 6)),
    )
    dist = jnp.abs(c[..., 2]) + RHO * jnp.arccos(jnp.clip(-c[..., 5], -1.0, 1.0))
    return c, dist


def closest_contact(T_parent, half_parent, T_child, half_child, parent_faces=None):
    """(face_p, face_c, contact (7,)) of the closest face pair (argmin of ``pair_contacts``'
    distance); ``parent_faces`` (6,) bool restricts the parent's faces (the table: +z only)."""
    c, dist = pair_contacts(T_parent, half_parent, T_child, half_child)
    if parent_faces is not None:
        dist = jnp.where(jnp.asarray(parent_faces)[:, None], dist, jnp.inf)
    k = jnp.argmin(dist.reshape(-1))
    fp, fc = k // 6, k % 6
    return fp, fc, c[fp, fc]
