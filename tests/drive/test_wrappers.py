"""Gymnasium-vector and PettingZoo-parallel wrappers: API contract on random-action loops,
seeding, same-step autoreset with final observations, and the erratic braking override.

The world (bank, config, W) is the one test_scenario uses, so both files share one
compilation of the core's reset and step (the wrappers' jitted functions are module-level).
"""

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from simlab.drive.bank import make_bank
from simlab.drive.config import EnvConfig
from simlab.drive.dynamics import ACTION_JERKS
from simlab.drive.mapdata import build_map
from simlab.drive.procgen import grid_town
from simlab.drive.wrappers import EVENTS, DriveParallelEnv, DriveVectorEnv, _observe

# short episodes (world resets every 12 steps) and frequent braking, to exercise both
CFG = EnvConfig(n_agents=8, n_partners=4, max_steps=12, p_braking=0.3, brake_prob=0.2)
W = 16
ACCEL = ACTION_JERKS.index((4.0, 0.0))


@pytest.fixture(scope="module")
def bank():
    return make_bank([build_map(grid_town(0, nx=2, ny=3))])


@pytest.fixture(scope="module")
def rollout(bank):
    """20 random steps (crossing one world reset) of a seeded vector env."""
    env = DriveVectorEnv(bank, CFG, W)
    env.action_space.seed(0)
    obs, info = env.reset(seed=0)
    steps = [dict(obs=obs, info=info, state=env.world_state)]
    for _ in range(20):
        act = env.action_space.sample()
        obs, rew, term, trunc, info = env.step(act)
        steps.append(dict(obs=obs, rew=rew, term=term, trunc=trunc, info=info, act=act,
                          state=env.world_state))  # fmt: skip
    return env, steps


def test_vector_env_spaces_and_types(rollout):
    env, steps = rollout
    n = W * CFG.n_agents
    assert env.num_envs == n and env.action_space.shape == (n,)
    assert env.metadata["autoreset_mode"].value == "SameStep"
    for s in steps:
        assert env.observation_space.contains(s["obs"])
        zeros = ~s["info"]["active"]
        assert all(np.all(v[zeros] == 0) for v in s["obs"].values())  # empty slots read 0
    for s in steps[1:]:
        assert s["rew"].shape == (n,) and s["rew"].dtype == np.float32
        assert s["term"].dtype == bool and s["trunc"].dtype == bool
        assert s["term"].shape == s["trunc"].shape == (n,)
        valid = s["info"]["valid"]
        assert not np.any(s["term"] & s["trunc"])
        assert not np.any((s["term"] | s["trunc"] | (s["rew"] != 0)) & ~valid)
        for k in ("valid", "active", "erratic", *EVENTS):
            assert s["info"][k].shape == (n,) and s["info"][k].dtype == bool, k
        # under on_collision = on_offroad = "remove", a life ends exactly on these events
        ends = s["info"]["goal"] | s["info"]["collision"] | s["info"]["offroad"]
        np.testing.assert_array_equal(s["term"], ends & valid)
    # the loop did something: agents drove, some lives ended, rewards were nonzero
    assert sum(s["info"]["valid"].sum() for s in steps[1:]) > 20 * n * 0.3
    assert sum(s["term"].sum() for s in steps[1:]) > 0
    assert any(np.any(s["rew"] != 0) for s in steps[1:])


def test_world_reset_truncates_and_autoresets(rollout):
    env, steps = rollout
    # a world is reset at the episode limit (12 steps) or when too many of its agents are
    # inactive; its live agents are truncated and its next episode starts at step 0
    n_reset = 0
    for t, s in enumerate(steps[1:], start=1):
        before = np.asarray(steps[t - 1]["state"].step)
        now = np.asarray(s["state"].step)
        reset_w = now == 0
        np.testing.assert_array_equal(now[~reset_w], before[~reset_w] + 1)
        assert np.all(reset_w[before + 1 >= CFG.max_steps])
        per_slot = np.repeat(reset_w, CFG.n_agents)
        np.testing.assert_array_equal(s["trunc"], s["info"]["valid"] & ~s["term"] & per_slot)
        if not s["trunc"].any():
            assert "final_obs" not in s["info"]
            continue
        n_reset += 1
        fin = s["info"]["final_obs"]
        np.testing.assert_array_equal(s["info"]["_final_obs"], s["trunc"])
        assert env.observation_space.contains(fin)
        # the final observation continues the old life: speed (ego[3] = v/30) moves by at
        # most |a|·dt <= 5·0.3 m/s; the returned observation is the new life's (new goals)
        prev = steps[t - 1]["obs"]["ego"][:, 3] * 30
        m = s["trunc"]
        assert np.all(np.abs(fin["ego"][m, 3] * 30 - prev[m]) <= 1.5 + 1e-4)
        assert np.all(np.any(fin["goals"][m] != s["obs"]["goals"][m], axis=(1, 2)))
    assert n_reset >= 1


def test_final_state_without_resets_matches_the_step(rollout):
    # on steps where no world is reset, the reset-free recomputation used for final_obs must
    # reproduce the step's own observation
    env, steps = rollout
    core = env._core
    checked = 0
    for t, s in enumerate(steps[1:], start=1):
        if np.any(np.asarray(s["state"].step) == 0):
            continue
        old = steps[t - 1]["state"]
        act = np.asarray(s["act"]).reshape(old.shape)
        st = core._without_resets(old, act)
        obs = core._obs(_observe(core.bank, core.cfg, st), s["state"].active)
        for k, v in obs.items():
            np.testing.assert_allclose(env._flat(v), s["obs"][k], atol=1e-6, err_msg=k)
        checked += 1
        if checked == 3:
            break
    assert checked == 3


def test_seeding_is_deterministic(bank, rollout):
    _, steps = rollout
    env = DriveVectorEnv(bank, CFG, W)
    obs, _ = env.reset(seed=0)
    for k in obs:
        np.testing.assert_array_equal(obs[k], steps[0]["obs"][k])
    for s in steps[1:4]:
        obs, rew, _, _, _ = env.step(s["act"])
        np.testing.assert_array_equal(rew, s["rew"])
        np.testing.assert_array_equal(obs["ego"], s["obs"]["ego"])
    other, _ = env.reset(seed=1)
    assert not np.array_equal(other["ego"], steps[0]["obs"]["ego"])


def test_erratic_flags_and_braking_override(rollout, bank):
    env = DriveVectorEnv(bank, CFG, W, final_obs=False)
    env.reset(seed=5)
    a_max = 5.0
    n_braking = 0
    for _ in range(10):
        old = env.world_state
        _, _, term, _, info = env.step(np.full(env.num_envs, ACCEL))
        new = env.world_state
        f = lambda x: np.asarray(x).reshape(-1)  # noqa: E731
        np.testing.assert_array_equal(info["erratic"], f(old.blind) | f(old.braker))
        # same life before and after: not ended, and its world not reset
        reset = np.repeat(np.asarray(new.step) == 0, CFG.n_agents)
        keep = info["valid"] & ~term & ~reset
        braking = (f(old.brake_timer) > 0) | (f(new.brake_timer) > 0)
        assert not np.any(braking & ~f(old.braker))
        # a_long after one step under jerk j (spec §3.1 step 1), for j = +4 and j = -15
        a0, c_thr, c_acc = f(old.a_long), f(old.c_throttle), f(old.c_acc)

        def after(j, a0=a0, c_thr=c_thr, c_acc=c_acc):
            a = a0 + c_thr * j * CFG.dt
            a = np.where(a0 * a < 0, 0.0, a)
            return np.clip(a, -a_max, 2.5 * c_acc)

        got = f(new.a_long)
        np.testing.assert_allclose(got[keep & braking], after(-15.0)[keep & braking], atol=1e-5)
        np.testing.assert_allclose(got[keep & ~braking], after(4.0)[keep & ~braking], atol=1e-5)
        n_braking += int(np.sum(keep & braking))
    assert n_braking >= 5


def test_pettingzoo_parallel_api(bank):
    env = DriveParallelEnv(bank, CFG, n_worlds=W)
    parallel_api_test(env, num_cycles=14)  # crosses one world reset (max_steps = 12)


def test_pettingzoo_lives(bank):
    env = DriveParallelEnv(bank, CFG, n_worlds=W)
    obs, infos = env.reset(seed=2)
    assert set(obs) == set(env.agents) == set(infos) and len(env.agents) > 0
    assert env.observation_space(env.agents[0]).contains(obs[env.agents[0]])
    seen, ended = set(env.agents), set()
    for _ in range(13):
        acting = list(env.agents)
        obs, rew, term, trunc, info = env.step({a: env.action_space(a).sample() for a in acting})
        assert set(rew) == set(term) == set(trunc) == set(info) == set(acting) | set(env.agents)
        born = set(env.agents) - set(acting)
        assert all(rew[a] == 0 and not term[a] and not trunc[a] for a in born)
        done = {a for a in acting if term[a] or trunc[a]}
        assert not done & set(env.agents)  # a finished life never comes back
        assert not ended & set(env.agents)
        ended |= done
        assert set(env.agents) <= set(obs)
        # truncated lives get their final observation
        assert {a for a in acting if trunc[a]} <= set(obs)
        seen |= set(env.agents)
        assert set(env.possible_agents) == seen
    assert len(ended) > 0 and len(seen) > len(ended)
