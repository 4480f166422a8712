"""Rewards (spec §7, Table A2), term by term, with per-agent conditioning coefficients.

Choices where the spec is uncertain (⚠):
* the R_l-center indicator 𝟙{cos θ_f > 0.5} scopes only the |x_f − bias| term;
* "jerk" in R_comfort is the applied jerk C·j: max(|C_throttle j_long|, |C_steer j_lat|) > 5;
* indicator penalties (goal, collision, off-road, comfort, stop-line) are not scaled by Δt;
* R_timestep's "‖a‖ > 0" means a_long ≠ 0 or a_lat ≠ 0.
"""

from __future__ import annotations

import jax.numpy as jnp

from simlab.drive.state import REWARD_NAMES

__all__ = ["TERMS", "reward_terms"]

f32 = jnp.float32
TERMS = (
    "goal", "collision", "offroad", "comfort", "l_align", "l_center", "velocity", "reverse",
    "stop_line", "timestep",
)  # fmt: skip
_IX = {n: i for i, n in enumerate(REWARD_NAMES)}


def reward_terms(
    coef, reached, collision, offroad, stop_violation, v, a_long, a_lat, jerk,
    heading_error, offset, dt, alpha_velocity=2.5e-3, alpha_timestep=2.5e-5,
) -> dict:  # fmt: skip
    """Every reward term [...] for agents with coefficients coef [..., N_REWARD].

    reached: goal or waypoint reached this step; collision, offroad, stop_violation: event
    flags; v (m/s), a_long, a_lat (m/s²), jerk (applied |C·j|, m/s³); heading_error θ_f
    (rad) and offset x_f (m, left positive) to the associated lane; dt (s)."""
    c = lambda n: coef[..., _IX[n]]  # noqa: E731
    fl = lambda b: jnp.asarray(b, f32)  # noqa: E731
    cos_t = jnp.cos(heading_error)
    dev = jnp.abs(offset - c("center_bias"))
    return dict(
        goal=fl(reached),
        collision=-(c("collision") + 0.1 * jnp.abs(v)) * fl(collision),
        offroad=-c("boundary") * fl(offroad),
        comfort=-c("comfort") * (fl(jnp.abs(a_long) > 3) + fl(jnp.abs(a_lat) > 3) + fl(jerk > 5)),
        l_align=c("l_align")
        * dt
        * (
            jnp.minimum(cos_t, 0.0)
            + c("vel_align") * jnp.minimum(cos_t * v, 0.0)
            + 0.0025 * (1.0 - jnp.abs(heading_error) / (jnp.pi / 2))
        ),
        l_center=-c("l_center") * dt * (fl(cos_t > 0.5) * dev - 0.05 / jnp.exp(dev - 0.5)),
        velocity=alpha_velocity * dt * jnp.maximum(cos_t, 0.0) * fl(jnp.abs(v) > 2.5),
        reverse=-c("reverse") * dt * fl(v < 0),
        stop_line=-c("stop_line") * fl(stop_violation),
        timestep=-alpha_timestep * dt * fl((jnp.abs(v) > 0) | (a_long != 0) | (a_lat != 0)),
    )
