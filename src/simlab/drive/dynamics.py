"""Jerk-actuated kinematic bicycle model and the 12 discrete actions (spec §3).

All functions are elementwise over any batch shape ([W, A] in the simulator) and use
float32 explicitly. Units: m, s, rad; accelerations m/s², jerks m/s³.

Choices where the spec is uncertain (⚠):
* curvature for the pose update is the post-clip κ = tan φ(t) / l_wb;
* a_lat is not rewritten as κ v² after the steering clip;
* the reference point is the box centre.
"""

from __future__ import annotations

import jax.numpy as jnp

from simlab.drive import trig

__all__ = ["ACTION_JERKS", "LAT_JERKS", "LONG_JERKS", "action_jerks", "bicycle_step"]

f32 = jnp.float32
LONG_JERKS = (-15.0, -4.0, 0.0, 4.0)
LAT_JERKS = (-4.0, 0.0, 4.0)
ACTION_JERKS = tuple((jl, jt) for jl in LONG_JERKS for jt in LAT_JERKS)  # index 3*i_long+i_lat

A_LONG_MIN, A_LONG_MAX = -5.0, 2.5  # max is scaled by C_acc
A_LAT_MAX = 4.0
V_MIN, V_MAX = -2.0, 20.0  # max is scaled by C_vel
STEER_RATE = 0.6  # rad/s
STEER_MAX = 0.55  # rad


def action_jerks(action: jnp.ndarray) -> tuple[jnp.ndarray, jnp.ndarray]:
    """Longitudinal and lateral jerk (m/s³) of action indices in [0, 12)."""
    a = jnp.asarray(action, jnp.int32)
    return jnp.asarray(LONG_JERKS, f32)[a // 3], jnp.asarray(LAT_JERKS, f32)[a % 3]


def _flip_to_zero(old: jnp.ndarray, new: jnp.ndarray) -> jnp.ndarray:
    """Sign-change rule: a value that changes sign becomes exactly 0."""
    return jnp.where(old * new < 0, jnp.zeros_like(new), new)


def bicycle_step(
    x, y, psi, v, a_long, a_lat, phi, j_long, j_lat, l_wb, c_throttle, c_steer, c_acc, c_vel, dt
):
    """One step of the jerk-actuated bicycle model (spec §3.1, steps 1–6).

    Args (all broadcastable arrays): pose x, y (m), heading psi (rad), speed v (m/s),
    accelerations a_long, a_lat (m/s²), steering phi (rad), commanded jerks j_long, j_lat
    (m/s³), wheelbase l_wb (m), dynamics coefficients C_throttle, C_steer, C_acc, C_vel, and
    the step dt (s).
    Returns (x, y, psi, v, a_long, a_lat, phi, dist) at t+1, where dist = ½(v(t)+v(t-1))·dt is
    the signed travelled arc length (m).
    """
    c = lambda z: jnp.asarray(z, f32)  # noqa: E731
    x, y, psi, v, a_long, a_lat, phi = map(c, (x, y, psi, v, a_long, a_lat, phi))
    dt = c(dt)
    # 1-2: accelerations with the sign-change rule, then clips
    al = _flip_to_zero(a_long, a_long + c(c_throttle) * c(j_long) * dt)
    al = jnp.clip(al, A_LONG_MIN, A_LONG_MAX * c(c_acc))
    at = _flip_to_zero(a_lat, a_lat + c(c_steer) * c(j_lat) * dt)
    at = jnp.clip(at, -A_LAT_MAX, A_LAT_MAX)
    # 3: trapezoidal speed update, sign-change to 0, clip
    v_new = _flip_to_zero(v, v + 0.5 * (al + a_long) * dt)
    v_new = jnp.clip(v_new, V_MIN, V_MAX * c(c_vel))
    # 4-5: target steering from the lateral acceleration, rate- and angle-limited
    kappa_des = at / jnp.maximum(v_new * v_new, 1e-5)
    phi_des = trig.atan(kappa_des * c(l_wb))
    phi_new = jnp.clip(
        phi + jnp.clip(phi_des - phi, -STEER_RATE * dt, STEER_RATE * dt), -STEER_MAX, STEER_MAX
    )
    # 6: exact arc in the vehicle frame at t-1, rotated into the world frame
    kappa = trig.tan(phi_new) / c(l_wb)
    d = 0.5 * (v_new + v) * dt
    theta = d * kappa
    small = jnp.abs(theta) < 1e-4
    safe_k = jnp.where(small, 1.0, kappa)
    sin_t, cos_t = trig.sincos(theta)
    dx = jnp.where(small, d * (1.0 - theta * theta / 6.0), sin_t / safe_k)
    dy = jnp.where(small, d * theta / 2.0, (1.0 - cos_t) / safe_k)
    sin_p, cos_p = trig.sincos(psi)
    x_new = x + cos_p * dx - sin_p * dy
    y_new = y + sin_p * dx + cos_p * dy
    psi_new = psi + theta
    psi_new = trig.wrap(psi_new)
    return x_new, y_new, psi_new, v_new, al, at, phi_new, d
