"""The §11 interface: a Scene in any frame gives the same observation, action and (moved)
control; the control is the bicycle model's step for the chosen action."""

import numpy as np
import pytest

pytest.importorskip("simlab.drive.env")

from simlab.core.errors import ConfigError
from simlab.drive.learn.scene import Scene, SceneLane, ScenePolicy
from simlab.drive.learn.simenv import ROUTE_UNIT


def road(shift=(0.0, 0.0)):
    """Two opposite 200 m lanes, an ego and two other cars, in a frame moved by ``shift``."""
    sx, sy = shift
    lanes = [
        SceneLane(np.array([[0.0 + sx, 0.0 + sy], [200.0 + sx, 0.0 + sy]])),
        SceneLane(np.array([[200.0 + sx, 3.5 + sy], [0.0 + sx, 3.5 + sy]])),
    ]
    return Scene(
        lanes=lanes,
        x=np.array([20.0, 45.0, 90.0]) + sx,
        y=np.array([0.2, 0.0, 3.5]) + sy,
        psi=np.array([0.02, 0.0, np.pi]),
        v=np.array([6.0, 4.0, 8.0]),
        length=np.array([4.5, 4.5, 5.0]),
        width=np.array([1.9, 1.9, 2.0]),
        egos=[0],
        goals=[np.array([[150.0 + sx, 0.0 + sy]])],
    )


@pytest.fixture(scope="module")
def policy(tmp_path_factory):
    import equinox as eqx
    import jax

    from simlab.drive.learn.interface import export_policy
    from simlab.drive.learn.policy import POLICY_CONFIGS, SetBlock, make_policy, obs_spec

    obs = ScenePolicy(None).observe(road())
    blocks = {k: SetBlock(v.x, v.valid) if hasattr(v, "valid") else v for k, v in obs.items()}
    net = make_policy(obs_spec(blocks), POLICY_CONFIGS["smoke"], jax.random.PRNGKey(3))
    net = eqx.tree_at(lambda p: p.actor.head.w, net, net.actor.head.w * 100.0)
    path = export_policy(net, tmp_path_factory.mktemp("pol") / "policy", dt_train=0.3)
    return ScenePolicy.load(path)


def test_scene_observation_is_ego_centric_and_frame_free(policy):
    a, b = policy.observe(road()), policy.observe(road(shift=(96.0, -48.0)))
    for name in a:
        xa, xb = (a[name].x, b[name].x) if hasattr(a[name], "x") else (a[name], b[name])
        np.testing.assert_allclose(xa, xb, atol=2e-4, err_msg=name)
    assert a["agents"].valid[0].sum() == 2  # the two other cars
    goal = a["goals"].x[0, 0]
    np.testing.assert_allclose(goal[:2] * 100, [130.0 * np.cos(0.02), -130.0 * np.sin(0.02)],
                               atol=0.5)  # fmt: skip
    # route distance along the lane, in the policy's ROUTE_UNIT km
    np.testing.assert_allclose(goal[4] * ROUTE_UNIT * 1000, 130.0, atol=1.0)


def test_act_moves_the_pose_by_the_bicycle_model_in_any_frame(policy):
    from simlab.drive.dynamics import action_jerks, bicycle_step

    c0, s0 = policy.act(road(), dt=0.3)
    c1, _ = policy.act(road(shift=(96.0, -48.0)), dt=0.3)
    assert c0.action.shape == (1,) and c0.action[0] == c1.action[0]
    np.testing.assert_allclose([c1.x[0] - 96.0, c1.y[0] + 48.0], [c0.x[0], c0.y[0]], atol=1e-3)
    jl, jt = action_jerks(c0.action)
    want = bicycle_step(20.0, 0.2, 0.02, 6.0, 0.0, 0.0, 0.0, jl, jt, 0.6 * 4.5,
                        1.0, 1.0, 1.0, 1.0, 0.3)  # fmt: skip
    got = (c0.x, c0.y, c0.psi, c0.v, c0.a_long, c0.a_lat, c0.phi)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, np.asarray(w), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(s0.a_long, c0.a_long)
    # A second call continues from the returned accelerations and steering.
    c2, _ = policy.act(road(), state=s0, dt=0.3)
    assert np.isfinite(c2.x).all()


def test_bad_scene_is_a_config_error(policy):
    scene = road()
    scene.egos = [5]
    with pytest.raises(ConfigError, match="egos"):
        policy.observe(scene)
    scene = road()
    scene.conditioning = np.zeros((len(scene.egos), 3), np.float32)
    with pytest.raises(ConfigError, match="conditioning"):
        policy.observe(scene)


def test_goal_radius_range_matches_the_simulator():
    from simlab.drive.learn.scene import GOAL_RADIUS
    from simlab.drive.state import REWARD_RANGES

    assert tuple(GOAL_RADIUS) == tuple(REWARD_RANGES["goal_radius"])


def test_observation_follows_the_trained_counts_and_lane_rows(tmp_path):
    # A policy trained with 32 lane rows cut every 10 m must be observed that way through the
    # interface (its trainer writes both into the policy's meta).
    import jax

    from simlab.drive.learn.interface import DrivingPolicy, export_policy
    from simlab.drive.learn.policy import POLICY_CONFIGS, SetBlock, make_policy, obs_spec

    obs = ScenePolicy(None).observe(road())
    assert obs["lanes"].x.shape[1] == 80  # the simulator's default count
    blocks = {k: SetBlock(v.x, v.valid) if hasattr(v, "valid") else v for k, v in obs.items()}
    net = make_policy(obs_spec(blocks), POLICY_CONFIGS["smoke"], jax.random.PRNGKey(0))
    meta = {
        "env": {"n_lanes": 32, "n_boundary": 24, "ego_lane": "route"},
        "maps": {"lane_row_step": 10.0},
    }
    path = export_policy(net, tmp_path / "policy", dt_train=0.3, meta=meta)
    fine = ScenePolicy(DrivingPolicy.load(path))
    assert fine.env_cfg.ego_lane == "route" and ScenePolicy(None).env_cfg.ego_lane == "heading"
    obs = fine.observe(road())
    assert obs["lanes"].x.shape[1] == 32 and obs["boundary"].x.shape[1] == 24
    x, valid = obs["lanes"].x[0], obs["lanes"].valid[0]
    rows = np.hypot(x[valid, 2] - x[valid, 0], x[valid, 3] - x[valid, 1]) * 100  # m
    assert valid.sum() >= 20 and rows.max() <= 10.0 + 1e-3
    coarse = ScenePolicy(None).observe(road())["lanes"]
    assert np.hypot(*(coarse.x[0, :, 2:4] - coarse.x[0, :, 0:2]).T).max() * 100 > 30.0
