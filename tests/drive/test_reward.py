"""Rewards (spec §7, Table A2) term by term: hand-computed situations, an independent
scalar implementation of the table on random inputs, and the conditioning ranges."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive.reward import TERMS, reward_terms
from simlab.drive.scenario import sample_reward_coefs
from simlab.drive.state import N_REWARD, REWARD_NAMES, REWARD_RANGES

DT = 0.3
terms_fn = jax.jit(reward_terms)


def coefs(**kw):
    base = dict(goal_radius=5.0, collision=2.0, boundary=1.5, comfort=0.08, l_align=0.01,
                vel_align=0.5, l_center=0.005, center_bias=0.3, reverse=0.004, stop_line=0.7)  # fmt: skip  # noqa: E501
    base.update(kw)
    return jnp.asarray([base[n] for n in REWARD_NAMES], jnp.float32)


def situation(c=None, **kw):
    """One agent's terms as Python floats; defaults: cruising straight on the lane centre."""
    args = dict(reached=False, collision=False, offroad=False, stop_violation=False, v=10.0,
                a_long=0.0, a_lat=0.0, jerk=0.0, heading_error=0.0, offset=0.3)  # fmt: skip
    args.update(kw)
    out = terms_fn(coefs() if c is None else c, *(jnp.asarray(args[k]) for k in args), DT)
    return {k: float(v) for k, v in out.items()}


def test_term_names_match_the_table():
    assert TERMS == ("goal", "collision", "offroad", "comfort", "l_align", "l_center",
                     "velocity", "reverse", "stop_line", "timestep")  # fmt: skip


def test_cruising_on_the_centre_line():
    r = situation()  # v = 10, θ_f = 0, x_f = bias = 0.3
    assert r["goal"] == r["collision"] == r["offroad"] == r["comfort"] == 0.0
    assert r["reverse"] == r["stop_line"] == 0.0
    # l-align: α·Δt·(0 + 0 + 0.0025·1)
    assert r["l_align"] == pytest.approx(0.01 * DT * 0.0025, rel=1e-5)
    # l-center: −α·Δt·(1·0 − 0.05/e^(−0.5))
    assert r["l_center"] == pytest.approx(-0.005 * DT * (-0.05 / math.exp(-0.5)), rel=1e-5)
    assert r["velocity"] == pytest.approx(2.5e-3 * DT, rel=1e-6)
    assert r["timestep"] == pytest.approx(-2.5e-5 * DT, rel=1e-6)


def test_goal_and_waypoint_indicator():
    assert situation(reached=True)["goal"] == 1.0
    assert situation(reached=False)["goal"] == 0.0


def test_collision_scales_with_speed():
    assert situation(collision=True, v=-4.0)["collision"] == pytest.approx(-(2.0 + 0.4))
    assert situation(collision=True, v=0.0)["collision"] == pytest.approx(-2.0)
    assert situation(collision=True, v=12.0, c=coefs(collision=0.0))["collision"] == (
        pytest.approx(-1.2)
    )


def test_offroad_and_stop_line_are_not_scaled_by_dt():
    assert situation(offroad=True)["offroad"] == pytest.approx(-1.5)
    assert situation(stop_violation=True)["stop_line"] == pytest.approx(-0.7)


def test_comfort_counts_each_violation():
    assert situation(a_long=3.5)["comfort"] == pytest.approx(-0.08)
    assert situation(a_long=-3.5, a_lat=3.1)["comfort"] == pytest.approx(-0.16)
    assert situation(a_long=3.5, a_lat=-3.1, jerk=15.0)["comfort"] == pytest.approx(-0.24)
    assert situation(a_long=3.0, a_lat=-3.0, jerk=5.0)["comfort"] == 0.0  # strict thresholds
    assert situation(jerk=4.0 * 1.25)["comfort"] == 0.0  # +4 jerk never exceeds 5 (C <= 1.25)


def test_lane_alignment_wrong_way():
    # θ_f = 2 rad at v = 10: cos = −0.416, so all three parts are negative
    theta, v = 2.0, 10.0
    c = math.cos(theta)
    want = 0.01 * DT * (c + 0.5 * c * v + 0.0025 * (1 - theta / (math.pi / 2)))
    r = situation(heading_error=theta, v=v)
    assert r["l_align"] == pytest.approx(want, rel=1e-5)
    assert r["velocity"] == 0.0  # max(cos, 0) = 0 when driving against the lane
    # reversing along the lane: cos·v < 0 as well
    r = situation(heading_error=0.0, v=-1.5)
    assert r["l_align"] == pytest.approx(0.01 * DT * (0.5 * -1.5 + 0.0025), rel=1e-5)


def test_lane_centre_indicator_scope():
    # aligned (cos θ > 0.5): |x_f − bias| counts; dev = |−0.2 − 0.3| = 0.5
    r = situation(offset=-0.2, heading_error=0.1)
    assert r["l_center"] == pytest.approx(-0.005 * DT * (0.5 - 0.05 / math.exp(0.0)), rel=1e-5)
    # misaligned (cos θ <= 0.5): only the bonus term remains
    r = situation(offset=-0.2, heading_error=1.2)
    assert r["l_center"] == pytest.approx(-0.005 * DT * (-0.05), rel=1e-5)


def test_velocity_threshold_and_reverse():
    assert situation(v=2.4)["velocity"] == 0.0
    assert situation(v=2.6, heading_error=0.5)["velocity"] == pytest.approx(
        2.5e-3 * DT * math.cos(0.5), rel=1e-5
    )
    assert situation(v=-2.6)["velocity"] == pytest.approx(2.5e-3 * DT, rel=1e-6)  # |v| > 2.5
    assert situation(v=-0.1)["reverse"] == pytest.approx(-0.004 * DT)
    assert situation(v=0.0)["reverse"] == 0.0


def test_waiting_is_free():
    # stationary with zero accelerations: no timestep penalty (waiting at a red light)
    assert situation(v=0.0)["timestep"] == 0.0
    assert situation(v=0.0, a_long=-0.5)["timestep"] == pytest.approx(-2.5e-5 * DT)
    assert situation(v=0.0, a_lat=0.2)["timestep"] == pytest.approx(-2.5e-5 * DT)


def spec_reward(c: dict, e: dict, dt: float) -> dict:
    """Table A2 written out independently, one scalar agent at a time."""
    cos_t = math.cos(e["theta"])
    dev = abs(e["x_f"] - c["center_bias"])
    v = e["v"]
    ind = float
    return dict(
        goal=ind(e["reached"]),
        collision=-(c["collision"] + 0.1 * abs(v)) * ind(e["collision"]),
        offroad=-c["boundary"] * ind(e["offroad"]),
        comfort=-c["comfort"]
        * (ind(abs(e["a_long"]) > 3) + ind(abs(e["a_lat"]) > 3) + ind(e["jerk"] > 5)),
        l_align=c["l_align"]
        * dt
        * (
            min(cos_t, 0)
            + c["vel_align"] * min(cos_t * v, 0)
            + 0.0025 * (1 - abs(e["theta"]) / (math.pi / 2))
        ),
        l_center=-c["l_center"] * dt * (ind(cos_t > 0.5) * dev - 0.05 / math.exp(dev - 0.5)),
        velocity=2.5e-3 * dt * max(cos_t, 0) * ind(abs(v) > 2.5),
        reverse=-c["reverse"] * dt * ind(v < 0),
        stop_line=-c["stop_line"] * ind(e["stop"]),
        timestep=-2.5e-5 * dt * ind(abs(v) > 0 or e["a_long"] != 0 or e["a_lat"] != 0),
    )


def test_matches_independent_table_on_random_situations():
    rng = np.random.default_rng(0)
    n = 400
    lo = np.array([r[0] for r in REWARD_RANGES.values()])
    hi = np.array([r[1] for r in REWARD_RANGES.values()])
    coef = (lo + (hi - lo) * rng.random((n, N_REWARD))).astype(np.float32)
    ev = dict(
        reached=rng.random(n) < 0.3, collision=rng.random(n) < 0.3, offroad=rng.random(n) < 0.3,
        stop=rng.random(n) < 0.3, v=rng.uniform(-2, 30, n).astype(np.float32),
        a_long=rng.uniform(-5, 5, n).astype(np.float32),
        a_lat=rng.uniform(-4, 4, n).astype(np.float32),
        jerk=np.abs(rng.choice([0, 4, 15], n) * rng.uniform(0.8, 1.25, n)).astype(np.float32),
        theta=rng.uniform(-np.pi, np.pi, n).astype(np.float32),
        x_f=rng.uniform(-2, 2, n).astype(np.float32),
    )  # fmt: skip
    ev["v"][:20] = 0.0
    ev["a_long"][:10] = ev["a_lat"][:10] = 0.0
    got = terms_fn(jnp.asarray(coef), *(jnp.asarray(ev[k]) for k in
                   ("reached", "collision", "offroad", "stop", "v", "a_long", "a_lat", "jerk",
                    "theta", "x_f")), DT)  # fmt: skip
    got = {k: np.asarray(v) for k, v in got.items()}
    for i in range(n):
        c = {name: float(coef[i, k]) for k, name in enumerate(REWARD_NAMES)}
        e = {k: (bool(v[i]) if v.dtype == bool else float(v[i])) for k, v in ev.items()}
        want = spec_reward(c, e, DT)
        for t in TERMS:
            assert float(got[t][i]) == pytest.approx(want[t], rel=1e-4, abs=1e-7), (i, t)


# Table A2 ranges of the sampled coefficients
SPEC_RANGES = dict(goal_radius=(2, 12), collision=(0, 3), boundary=(0, 3), comfort=(0, 0.1),
                   l_align=(2.5e-4, 2.5e-2), vel_align=(0, 1), l_center=(2.5e-4, 7.5e-3),
                   center_bias=(-0.5, 0.5), reverse=(2.5e-4, 7.5e-3), stop_line=(0, 1))  # fmt: skip


def test_conditioning_ranges_and_sampling():
    assert set(REWARD_RANGES) == set(SPEC_RANGES)
    for name, r in SPEC_RANGES.items():
        assert REWARD_RANGES[name] == pytest.approx(r), name
    c = np.asarray(sample_reward_coefs(jnp.uint32(3), (200, 50)))
    assert c.shape == (200, 50, N_REWARD)
    for k, name in enumerate(REWARD_NAMES):
        lo, hi = SPEC_RANGES[name]
        x = c[..., k]
        assert x.min() >= lo and x.max() <= hi, name
        # uniform: mean near the midpoint and the range nearly covered
        assert x.mean() == pytest.approx((lo + hi) / 2, abs=0.02 * (hi - lo)), name
        assert x.min() < lo + 0.01 * (hi - lo) and x.max() > hi - 0.01 * (hi - lo), name
    # independent per agent: coefficients of different names are uncorrelated
    corr = np.corrcoef(c.reshape(-1, N_REWARD).T)
    assert np.abs(corr - np.eye(N_REWARD)).max() < 0.05


def test_conservative_conditioning():
    c = np.asarray(sample_reward_coefs(jnp.uint32(0), (3,), conservative=True))
    want = {n: 0.5 * (lo + hi) for n, (lo, hi) in SPEC_RANGES.items()}
    want.update(collision=3.0, boundary=3.0, stop_line=1.0)
    np.testing.assert_allclose(c, np.tile([want[n] for n in REWARD_NAMES], (3, 1)), rtol=1e-6)
