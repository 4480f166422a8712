"""Exported policy files: the pure-NumPy forward pass equals the JAX network."""

import numpy as np
import pytest

from simlab.core.errors import DataError
from simlab.drive.learn.interface import DrivingPolicy, export_policy, to_jax
from simlab.drive.learn.policy import POLICY_CONFIGS, SetBlock, make_policy

from .test_policy import SPEC, apply, random_obs


def test_numpy_forward_equals_jax(tmp_path):
    import equinox as eqx
    import jax

    policy = make_policy(SPEC, POLICY_CONFIGS["smoke"], jax.random.PRNGKey(7))
    # Make the actor's output non-trivial (its head starts at 1/100 scale).
    policy = eqx.tree_at(lambda p: p.actor.head.w, policy, policy.actor.head.w * 100.0)
    export_policy(policy, tmp_path / "pol", dt_train=0.3, meta={"iteration": 5})
    loaded = DrivingPolicy.load(tmp_path / "pol")
    assert loaded.dt_train == 0.3 and loaded.config["meta"] == {"iteration": 5}
    obs = random_obs(11)  # same shapes as test_policy: reuses its compiled `apply`
    obs["agents"] = SetBlock(obs["agents"].x, np.zeros_like(obs["agents"].valid))  # empty set
    want_logits, want_value = apply(policy, obs)
    logits, value = loaded.forward({k: tuple(v) if isinstance(v, SetBlock) else v
                                    for k, v in obs.items()})  # fmt: skip
    np.testing.assert_allclose(logits, want_logits, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(value, want_value, rtol=1e-4, atol=1e-4)
    a, jl, jt = loaded.act(obs)
    np.testing.assert_array_equal(a, np.asarray(want_logits).argmax(-1))
    assert set(np.unique(jl)) <= {-15.0, -4.0, 0.0, 4.0} and set(np.unique(jt)) <= {-4.0, 0, 4}
    # Back to JAX (for jitted rollouts): the very same weights, leaf for leaf.
    back = to_jax(loaded)
    for x, y in zip(jax.tree_util.tree_leaves(back), jax.tree_util.tree_leaves(policy)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_missing_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="nope"):
        DrivingPolicy.load(tmp_path / "nope")
