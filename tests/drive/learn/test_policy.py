"""Deep-Sets policy: masked max-pooling, permutation invariance, sizes of §8's configs."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive.learn.policy import (
    POLICY_CONFIGS,
    SetBlock,
    make_policy,
    masked_max,
    num_params,
    obs_spec,
)

# A layout like the simulator's (§6): ego, conditioning, goals, lanes, boundary, stops, agents.
SPEC = {
    "ego": ("vec", 14),
    "cond": ("vec", 12),
    "goals": ("set", 6),
    "lanes": ("set", 9),
    "boundary": ("set", 5),
    "stops": ("set", 10),
    "agents": ("set", 9),
}
ROWS = {"goals": 4, "lanes": 80, "boundary": 80, "stops": 4, "agents": 20}


def random_obs(seed, lead=(3,), p_valid=0.6):
    rng = np.random.default_rng(seed)
    obs = {}
    for name, (kind, f) in sorted(SPEC.items()):
        if kind == "vec":
            obs[name] = rng.normal(size=(*lead, f)).astype(np.float32)
        else:
            n = ROWS[name]
            x = rng.normal(size=(*lead, n, f)).astype(np.float32)
            obs[name] = SetBlock(x, rng.random((*lead, n)) < p_valid)
    return obs


apply = eqx.filter_jit(lambda policy, obs: policy(obs))


def test_masked_max_matches_numpy_and_empty_pools_to_zero():
    rng = np.random.default_rng(0)
    h = rng.normal(size=(5, 7, 4)).astype(np.float32) - 3.0  # mostly negative values
    valid = rng.random((5, 7)) < 0.5
    valid[2] = False  # an empty set
    got = np.asarray(masked_max(jnp.asarray(h), jnp.asarray(valid)))
    for b in range(5):
        want = h[b][valid[b]].max(0) if valid[b].any() else np.zeros(4)
        np.testing.assert_array_equal(got[b], want)


def test_masked_max_gradient_is_one_hot_at_the_valid_argmax():
    # The pool is a gather at the arg-max (cheaper backward on CPU than reduce-max's):
    # d(sum of pooled)/dh must be 1 at each channel's valid maximum, 0 elsewhere and 0 for
    # an empty set, exactly what jnp.max's gradient is when there are no ties.
    rng = np.random.default_rng(1)
    h = rng.normal(size=(5, 7, 4)).astype(np.float32)
    valid = rng.random((5, 7)) < 0.5
    valid[3] = False
    grad = np.asarray(jax.grad(lambda x: masked_max(x, jnp.asarray(valid)).sum())(jnp.asarray(h)))
    want = np.zeros_like(h)
    for b in range(5):
        if valid[b].any():
            rows = np.where(valid[b])[0]
            want[b, rows[h[b, rows].argmax(0)], np.arange(4)] = 1.0
    np.testing.assert_array_equal(grad, want)
    ref = jax.grad(lambda x: jnp.where(valid[..., None], x, -jnp.inf).max(-2).clip(-1e30).sum())(
        jnp.asarray(h)
    )
    np.testing.assert_array_equal(grad[valid.any(-1)], np.asarray(ref)[valid.any(-1)])


def test_spec_read_from_observation():
    obs = random_obs(0)
    assert obs_spec(obs) == dict(sorted(SPEC.items()))


def test_permutation_invariance_and_masked_rows_ignored():
    policy = make_policy(SPEC, POLICY_CONFIGS["smoke"], jax.random.PRNGKey(1))
    obs = random_obs(2)
    logits, value = apply(policy, obs)
    assert logits.shape == (3, 12) and value.shape == (3,)
    perm = np.random.default_rng(0).permutation(80)
    shuffled = dict(obs)
    shuffled["lanes"] = SetBlock(obs["lanes"].x[:, perm], obs["lanes"].valid[:, perm])
    # Garbage in invalid rows must not matter.
    junk = np.where(obs["agents"].valid[..., None], obs["agents"].x, 1e6).astype(np.float32)
    shuffled["agents"] = SetBlock(np.asarray(junk), obs["agents"].valid)
    l2, v2 = apply(policy, shuffled)
    np.testing.assert_allclose(l2, logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(v2, value, rtol=1e-5, atol=1e-6)
    # And a valid row does matter.
    moved = dict(obs)
    moved["agents"] = SetBlock(obs["agents"].x + 1.0, obs["agents"].valid)
    assert not np.allclose(apply(policy, moved)[1], value)


def test_leading_dims_are_free():
    policy = make_policy(SPEC, POLICY_CONFIGS["smoke"], jax.random.PRNGKey(1))
    obs = random_obs(3, lead=(2, 3))
    logits, value = apply(policy, obs)
    flat = jax.tree_util.tree_map(lambda x: np.reshape(x, (6, *x.shape[2:])), obs)
    l2, v2 = apply(policy, flat)
    np.testing.assert_allclose(logits.reshape(6, 12), l2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(value.reshape(6), v2, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("name", "lo", "hi"), [("smoke", 15e3, 60e3), ("cpu", 0.15e6, 0.5e6), ("full", 2e6, 4.5e6)]
)
def test_config_sizes_follow_spec_table(name, lo, hi):
    policy = jax.eval_shape(lambda k: make_policy(SPEC, POLICY_CONFIGS[name], k), jax.random.key(0))
    for net in (policy.actor, policy.critic):
        assert lo <= num_params(net) <= hi
    # Actor and critic are separate networks: no shared leaves.
    assert len(policy.actor.backbone) == len(POLICY_CONFIGS[name].backbone)


def test_initial_policy_is_near_uniform():
    policy = make_policy(SPEC, POLICY_CONFIGS["smoke"], jax.random.PRNGKey(4))
    logits, _ = apply(policy, random_obs(5))
    probs = jax.nn.softmax(logits)
    assert float(jnp.abs(probs - 1 / 12).max()) < 0.02
