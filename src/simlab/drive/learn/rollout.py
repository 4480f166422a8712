"""The environment interface the learner needs, and the jitted self-play rollout.

An environment is any object with pure, jit-traceable methods over a batched state pytree
(leading dims [W, A] = worlds × agent slots for per-agent arrays):

* ``reset(key) -> state``
* ``observe(state, key) -> obs``: a dict of blocks [W, A, ...] (see ``policy.SetBlock``);
* ``step(state, actions [W, A] int32, key) -> (state, reward, terminated, truncated, info)``
  with reward [W, A] float32, terminated/truncated [W, A] bool, and ``info`` holding
  ``alive`` [W, A] (the slot held an agent when it acted), ``learn`` [W, A] (its transition
  enters PPO: alive and not erratic), ``events`` (dict of [W, A] float32 per-step counts:
  goal, collision, ..., and ``distance`` in metres) and, optionally, ``final_state``: the
  state reached before any reset, whose value bootstraps truncations (V(s_T)).

Observations are always made by the learner with ``observe(state, key)``, so an observation
is a pure function of a stored state and its key: the update can rebuild exactly what the
actor saw (``store_obs=False``).

One policy acts for every slot; actions of empty slots are ignored by the environment.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["rollout"]


def rollout(
    policy,
    env,
    env_state,
    obs,
    obs_key,
    ep_return,
    key,
    steps,
    store_obs=True,
    greedy=False,
    bootstrap=True,
):
    """Run ``steps`` self-play steps with ``lax.scan``.

    ``obs`` = env.observe(env_state, obs_key) is the current observation.
    Returns ((env_state, obs, obs_key, ep_return), traj) where traj holds per-step arrays
    [T, W, A]: obs (or, when ``store_obs`` is False, the pre-step ``state`` and observation
    ``obs_key`` so the update rebuilds observations; neither when it is None), action, logp,
    value, reward, terminated, truncated, final_value, learn, alive; and per-step scalars
    [T]: every event sum, ``lives`` (lives ended) and ``life_return`` (summed return of those
    lives). ``ep_return`` [W, A] carries each agent's running return across rollouts.
    ``greedy`` takes the most likely action (evaluation) instead of sampling; with
    ``bootstrap`` False the truncation values are not computed (final_value = value), so an
    evaluation does not pay for the environment's pre-reset state.
    """

    def step(carry, k):
        env_state, obs, ep_ret, obs_key = carry
        k_act, k_env, k_obs = jax.random.split(k, 3)
        logits, value = policy(obs)
        if greedy:
            action = jnp.argmax(logits, -1).astype(jnp.int32)
        else:
            action = jax.random.categorical(k_act, logits).astype(jnp.int32)
        logp = jnp.take_along_axis(jax.nn.log_softmax(logits), action[..., None], -1)[..., 0]
        new_state, reward, term, trunc, info = env.step(env_state, action, k_env)
        new_obs = env.observe(new_state, k_obs)
        if bootstrap and "final_state" in info:
            # V(s_T) of the pre-reset state; observed (with the same key) only when needed.
            final_value = jax.lax.cond(
                jnp.any(trunc),
                lambda s: policy.critic(env.observe(s, k_obs))[..., 0],
                lambda s: jnp.zeros_like(value),
                info["final_state"],
            )
        else:  # no pre-reset state: fall back to V(s_t) at truncations
            final_value = value
        alive = info["alive"]
        done = (term | trunc) & alive
        ret = ep_ret + jnp.where(alive, reward, 0.0)
        out = {
            "action": action,
            "logp": logp,
            "value": value,
            "reward": reward,
            "terminated": term,
            "truncated": trunc,
            "final_value": final_value,
            "learn": info["learn"],
            "alive": alive,
            "lives": done.sum(),
            "life_return": jnp.where(done, ret, 0.0).sum(),
            "events": {name: x.sum() for name, x in info["events"].items()},
        }
        if store_obs:
            out["obs"] = obs
        elif store_obs is not None:
            out["state"] = env_state
            out["obs_key"] = obs_key
        carry = (new_state, new_obs, jnp.where(done, 0.0, ret), k_obs)
        return carry, out

    keys = jax.random.split(key, steps)
    carry, traj = jax.lax.scan(step, (env_state, obs, ep_return, obs_key), keys)
    env_state, obs, ep_return, obs_key = carry
    return (env_state, obs, obs_key, ep_return), traj
