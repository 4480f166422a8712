"""Training on the toy task: PPO learns, resume is exact, stored and rebuilt observations agree."""

import dataclasses

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.core.run import RunDir, read_metrics
from simlab.drive.learn.ppo import PPOConfig, ppo_loss
from simlab.drive.learn.rollout import rollout
from simlab.drive.learn.train import TrainConfig, Trainer, train

from .toyenv import ToyEnv

ENV = ToyEnv(num_worlds=16, num_agents=8, horizon=40)
PPO = PPOConfig(minibatch=1024, lr=1e-3, gamma=0.99)
CFG = TrainConfig(net="smoke", rollout=32, iterations=30, checkpoint_every=2, ppo=PPO)


def params_of(ts):
    return [np.asarray(x) for x in jax.tree_util.tree_leaves(eqx.filter(ts.policy, eqx.is_array))]


@pytest.fixture(scope="module")
def learned(tmp_path_factory):
    run = RunDir.create(tmp_path_factory.mktemp("runs"), "toy", CFG)
    ts = train(CFG, ENV, run, show_progress=False)
    return run, ts


@pytest.mark.slow  # ~20 s alone (its fixture trains 30 iterations)
def test_ppo_learns_the_toy_task(learned):
    run, _ = learned
    recs = read_metrics(run.metrics_path)
    assert [r["step"] for r in recs] == list(range(1, 31))
    # Goals per agent-step: about 0.015 for the initial (near-uniform) policy, about 0.1
    # for one that heads straight for its goal.
    rate = np.array([r["goal_per_life"] * r["lives"] / r["agent_steps"] for r in recs])
    ret = np.array([r["return_per_life"] for r in recs])
    assert rate[:3].mean() < 0.03 and rate[-5:].mean() > 0.05, rate.round(3)
    assert ret[-5:].mean() > ret[:3].mean() + 0.5, ret.round(2)
    for r in recs:
        assert 0.0 <= r["frac_filtered"] < 1.0 and r["agent_steps"] > 0
        assert r["agent_steps_per_s"] > 0 and r["n_kept"] <= r["n_learn"]
    assert recs[-1]["lr"] < recs[0]["lr"]  # cosine decay


def test_interrupted_and_resumed_run_is_bit_identical(tmp_path):
    # Same compiled iteration as the learning test (loop lengths are not part of it).
    cfg = dataclasses.replace(CFG, iterations=8)
    ref_run = RunDir.create(tmp_path, "ref", cfg)
    full = train(cfg, ENV, ref_run, show_progress=False)
    run = RunDir.create(tmp_path, "toy", cfg)

    def interrupt(k, rec):
        if k == 5:  # after the checkpoint at 4 and one more iteration (lost work)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(cfg, ENV, run, callback=interrupt, show_progress=False)
    assert run.checkpointer().latest() == 4
    resumed = train(cfg, ENV, RunDir.open(run.path), resume=True, show_progress=False)
    for a, b in zip(params_of(full), params_of(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    # The metrics of the resumed run equal those of the uninterrupted one (timings aside).
    recs = read_metrics(run.metrics_path)
    assert [r["step"] for r in recs] == list(range(1, 9))
    for r, s in zip(recs, read_metrics(ref_run.metrics_path)):
        assert r["return_per_life"] == s["return_per_life"] and r["n_kept"] == s["n_kept"]


def test_time_budget_stops_with_a_checkpoint(tmp_path):
    # A budget of 1 ms ends the run after its first iteration, which is checkpointed
    # although checkpoint_every (2) has not come round.
    cfg = dataclasses.replace(CFG, iterations=8, max_minutes=1e-5)
    run = RunDir.create(tmp_path, "toy", cfg)
    ts = train(cfg, ENV, run, show_progress=False)
    assert int(ts.iteration) == 1 and run.checkpointer().latest() == 1
    assert [r["step"] for r in read_metrics(run.metrics_path)] == [1]
    with pytest.raises(ValueError, match="max_minutes"):
        dataclasses.replace(CFG, max_minutes=-1.0)


@eqx.filter_jit
def _both_ways(ts, env):
    obs = env.observe(ts.env_state, ts.obs_key)
    args = (ts.policy, env, ts.env_state, obs, ts.obs_key, ts.ep_return, ts.key, 12)
    _, stored = rollout(*args, store_obs=True)
    _, states = rollout(*args, store_obs=False)
    rebuilt = jax.lax.map(lambda a: env.observe(*a), (states["state"], states["obs_key"]))
    return stored, states, rebuilt


def test_rebuilt_observations_equal_stored_ones():
    ts = Trainer(CFG, ENV).init()
    stored, states, rebuilt = _both_ways(ts, ENV)
    for a, b in zip(jax.tree_util.tree_leaves(stored["obs"]), jax.tree_util.tree_leaves(rebuilt)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    np.testing.assert_array_equal(stored["action"], states["action"])


@eqx.filter_jit
def _ratio_stats(policy, obs, action, logp):
    flat = jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[3:]), (obs, action, logp))
    obs, action, logp = flat
    logits, _ = policy(obs)
    new_logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[:, None], -1)[:, 0]
    mb = {"obs": obs, "action": action, "logp": logp, "adv": jnp.sin(logp * 7.0),
          "ret": jnp.zeros_like(logp)}  # fmt: skip
    _, aux = ppo_loss(policy, mb, jnp.ones_like(logp), PPO)
    return new_logp, logp, aux


def test_ratio_is_one_before_the_policy_changes():
    # The update recomputes log π(a|o) from stored (or rebuilt) observations; any
    # misalignment (observation of the wrong step, a different dropout key) makes ρ ≠ 1.
    ts = Trainer(CFG, ENV).init()
    stored, _, rebuilt = _both_ways(ts, ENV)
    for obs in (stored["obs"], rebuilt):
        new_logp, logp, aux = _ratio_stats(ts.policy, obs, stored["action"], stored["logp"])
        np.testing.assert_allclose(np.asarray(new_logp), np.asarray(logp), atol=1e-5)
        assert float(aux["clipfrac"]) == 0.0 and abs(float(aux["approx_kl"])) < 1e-7
