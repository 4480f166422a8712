"""Bicycle dynamics against hand-computed values, clip rules and a NumPy reference."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive.dynamics import ACTION_JERKS, action_jerks, bicycle_step

step = jax.jit(bicycle_step)


def run(n=1, **kw):
    args = dict(x=0.0, y=0.0, psi=0.0, v=0.0, a_long=0.0, a_lat=0.0, phi=0.0, j_long=0.0,
                j_lat=0.0, l_wb=2.7, c_throttle=1.0, c_steer=1.0, c_acc=1.0, c_vel=1.0, dt=0.3)  # fmt: skip  # noqa: E501
    args.update(kw)
    out = None
    for _ in range(n):
        out = [float(v) for v in step(**args)]
        args.update(dict(zip(["x", "y", "psi", "v", "a_long", "a_lat", "phi"], out[:7])))
    return dict(zip(["x", "y", "psi", "v", "a_long", "a_lat", "phi", "d"], out))


def test_action_table():
    assert len(ACTION_JERKS) == 12
    jl, jt = action_jerks(jnp.arange(12))
    assert jl.dtype == jnp.float32
    np.testing.assert_array_equal(jl, np.repeat([-15, -4, 0, 4], 3))
    np.testing.assert_array_equal(jt, np.tile([-4, 0, 4], 4))


def test_straight_acceleration_hand_computed():
    # a: 0 -> 1.2 -> 2.4 -> 2.5 (clip at 2.5·C_acc); v trapezoid; x = sum of ½(v+v')dt
    s = run(3, j_long=4.0)
    a = [0.0, 1.2, 2.4, 2.5]
    v = [0.0]
    for k in range(3):
        v.append(v[-1] + 0.5 * (a[k] + a[k + 1]) * 0.3)
    x = sum(0.5 * (v[k] + v[k + 1]) * 0.3 for k in range(3))
    assert s["a_long"] == pytest.approx(2.5, abs=1e-6)
    assert s["v"] == pytest.approx(v[-1], rel=1e-5)
    assert s["x"] == pytest.approx(x, rel=1e-5)
    assert s["y"] == pytest.approx(0.0, abs=1e-6) and s["psi"] == pytest.approx(0.0, abs=1e-6)


def test_clips_scale_with_coefficients():
    assert run(10, j_long=4.0, c_acc=1.4)["a_long"] == pytest.approx(3.5, rel=1e-6)
    assert run(10, j_long=-15.0, v=10.0, a_long=-0.1)["a_long"] == pytest.approx(-5.0)
    assert run(10, j_lat=4.0, v=5.0)["a_lat"] == pytest.approx(4.0)
    assert run(1, v=29.0, a_long=2.0, c_vel=1.2)["v"] == pytest.approx(24.0)
    # throttle coefficient scales the jerk
    assert run(1, j_long=4.0, c_throttle=1.25)["a_long"] == pytest.approx(1.5, rel=1e-6)


def test_sign_flip_rules():
    # a_long 1.0 + (-15)(0.3) = -3.5 crosses zero -> exactly 0
    assert run(1, a_long=1.0, j_long=-15.0, v=5.0)["a_long"] == 0.0
    assert run(1, a_lat=0.5, j_lat=-4.0, v=5.0)["a_lat"] == 0.0
    # speed 0.5 with a = -5: 0.5 - 1.5 < 0 -> stops at exactly 0 (no reversing)
    s = run(1, v=0.5, a_long=-5.0, j_long=0.0)
    assert s["v"] == 0.0
    # from standstill reversing is allowed, clipped at -2 m/s
    assert run(20, v=0.0, a_long=-5.0, j_long=-15.0)["v"] == pytest.approx(-2.0)


def test_steering_rate_and_angle_limits():
    s = run(1, v=5.0, a_lat=4.0, j_lat=4.0)
    assert s["phi"] == pytest.approx(0.6 * 0.3, rel=1e-6)  # rate limit 0.6 rad/s
    s = run(30, v=1.0, a_lat=4.0, j_lat=4.0)
    assert s["phi"] == pytest.approx(0.55, rel=1e-6)  # angle limit


def test_constant_curvature_arc_is_a_circle():
    phi, l_wb, v, dt = 0.1, 2.5, 8.0, 0.3  # a_lat = v²κ = 2.6 m/s² stays under the 4 m/s² clip
    radius = l_wb / math.tan(phi)
    # hold a_lat = v² κ so that phi_des = phi: steering stays put
    a_lat = v * v / radius
    s = dict(x=0.0, y=0.0, psi=0.0, v=v, a_long=0.0, a_lat=a_lat, phi=phi)
    for k in range(1, 11):
        s = run(1, **s, l_wb=l_wb, dt=dt)
        s.pop("d")
        theta = k * v * dt / radius
        assert s["x"] == pytest.approx(radius * math.sin(theta), abs=1e-3)
        assert s["y"] == pytest.approx(radius * (1 - math.cos(theta)), abs=1e-3)
        assert math.cos(s["psi"] - theta) == pytest.approx(1.0, abs=1e-6)


def numpy_reference(x, y, psi, v, al, at, phi, jl, jt, l_wb, ct, cs, ca, cv, dt):
    al2 = al + ct * jl * dt
    al2 = np.where(al * al2 < 0, 0, al2).clip(-5, 2.5 * ca)
    at2 = at + cs * jt * dt
    at2 = np.where(at * at2 < 0, 0, at2).clip(-4, 4)
    v2 = v + 0.5 * (al2 + al) * dt
    v2 = np.where(v * v2 < 0, 0, v2).clip(-2, 20 * cv)
    phi_des = np.arctan(at2 / np.maximum(v2**2, 1e-5) * l_wb)
    phi2 = np.clip(phi + np.clip(phi_des - phi, -0.6 * dt, 0.6 * dt), -0.55, 0.55)
    k = np.tan(phi2) / l_wb
    d = 0.5 * (v2 + v) * dt
    th = d * k
    with np.errstate(divide="ignore", invalid="ignore"):
        dx = np.where(np.abs(th) < 1e-4, d * (1 - th**2 / 6), np.sin(th) / k)
        dy = np.where(np.abs(th) < 1e-4, d * th / 2, (1 - np.cos(th)) / k)
    return (x + np.cos(psi) * dx - np.sin(psi) * dy, y + np.sin(psi) * dx + np.cos(psi) * dy,
            np.angle(np.exp(1j * (psi + th))), v2, al2, at2, phi2)  # fmt: skip


def test_matches_numpy_reference_on_random_states():
    rng = np.random.default_rng(0)
    n = 2000
    args = [rng.uniform(-50, 50, n), rng.uniform(-50, 50, n), rng.uniform(-3, 3, n),
            rng.uniform(-2, 25, n), rng.uniform(-5, 3, n), rng.uniform(-4, 4, n),
            rng.uniform(-0.55, 0.55, n), rng.choice([-15, -4, 0, 4], n),
            rng.choice([-4, 0, 4], n), rng.uniform(0.5, 4, n), rng.uniform(0.8, 1.25, n),
            rng.uniform(0.8, 1.25, n), rng.uniform(0.67, 1.5, n), rng.uniform(0.67, 1.5, n)]  # fmt: skip  # noqa: E501
    ref = numpy_reference(*args, 0.3)
    got = step(*[jnp.asarray(a, jnp.float32) for a in args], 0.3)
    for r, g in zip(ref, got[:7]):
        assert g.dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(g), r, rtol=2e-4, atol=2e-4)


def test_float32_even_with_x64_enabled():
    with jax.enable_x64(True):
        out = bicycle_step(0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 4.0, 4.0, 2.7, 1, 1, 1, 1, 0.3)
    assert all(o.dtype == jnp.float32 for o in out)
