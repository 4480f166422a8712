"""PPO pieces against NumPy oracles: GAE, cosine schedule, the advantage filter, compaction,
and the masking invariants of the filtered update."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive.learn.filter import compact, filter_threshold
from simlab.drive.learn.policy import PolicyConfig, SetBlock, make_policy
from simlab.drive.learn.ppo import (
    PPOConfig,
    cosine_lr,
    ent_schedule,
    gae,
    make_optimizer,
    ppo_update,
)


def gae_numpy(r, v, last_v, term, trunc, final_v, gamma, lam):
    t_len, b = r.shape
    adv = np.zeros((t_len, b))
    for j in range(b):
        a_next = 0.0
        for t in reversed(range(t_len)):
            nv = v[t + 1, j] if t + 1 < t_len else last_v[j]
            if term[t, j]:
                nv, cont = 0.0, 0.0
            elif trunc[t, j]:
                nv, cont = final_v[t, j], 0.0
            else:
                cont = 1.0
            delta = r[t, j] + gamma * nv - v[t, j]
            a_next = delta + gamma * lam * cont * a_next
            adv[t, j] = a_next
    return adv, adv + v


def test_gae_matches_numpy_reference_with_terminations_and_truncations():
    rng = np.random.default_rng(0)
    t_len, b = 23, 7
    r, v, fv = (rng.normal(size=(t_len, b)).astype(np.float32) for _ in range(3))
    last_v = rng.normal(size=b).astype(np.float32)
    term = rng.random((t_len, b)) < 0.1
    trunc = rng.random((t_len, b)) < 0.1
    for gamma, lam in [(0.999, 0.95), (0.9, 1.0), (0.99, 0.0)]:
        adv, ret = gae(r, v, last_v, term, trunc, fv, gamma, lam)
        want_adv, want_ret = gae_numpy(r, v, last_v, term, trunc, fv, gamma, lam)
        np.testing.assert_allclose(adv, want_adv, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(ret, want_ret, rtol=1e-4, atol=1e-5)


def test_gae_bootstraps_truncation_but_not_termination():
    # One step, reward 1, V(s_0) = 0, V(s_T) = 10: the truncated lane gets 1 + γ·10.
    r = np.ones((1, 3), np.float32)
    v = np.zeros((1, 3), np.float32)
    final = np.full((1, 3), 10.0, np.float32)
    term = np.array([[True, False, False]])
    trunc = np.array([[False, True, False]])
    last = np.array([5.0, 5.0, 5.0], np.float32)
    adv, _ = gae(r, v, last, term, trunc, final, 0.5, 0.9)
    np.testing.assert_allclose(adv[0], [1.0, 1.0 + 0.5 * 10.0, 1.0 + 0.5 * 5.0])


def test_cosine_schedule_formula():
    lr0, total = 5e-4, 37
    for k in [0, 1, 10, 18, 36, 37]:
        want = lr0 / 2 * (1 - np.cos(np.pi - np.pi * k / total))
        np.testing.assert_allclose(float(cosine_lr(lr0, k, total)), want, rtol=1e-5, atol=1e-12)
    assert float(cosine_lr(lr0, 0, total)) == np.float32(lr0)
    assert abs(float(cosine_lr(lr0, total, total))) < 1e-10


def test_entropy_schedule_is_linear_then_flat_and_constant_by_default():
    cfg = PPOConfig(ent_coef=0.05, ent_coef_final=0.01)
    got = [float(ent_schedule(cfg, k, 40)) for k in (0, 10, 20, 40, 80)]
    np.testing.assert_allclose(got, [0.05, 0.04, 0.03, 0.01, 0.01], rtol=1e-6)
    assert float(ent_schedule(PPOConfig(ent_coef=0.05), 30, 40)) == np.float32(0.05)
    with pytest.raises(ValueError, match="ent_coef"):
        PPOConfig(ent_coef_final=-0.1)


def test_filter_threshold_ewma_and_kept_fraction_match_numpy():
    rng = np.random.default_rng(1)
    ewma_np, ewma = 0.0, jnp.zeros(())
    for k in range(6):
        adv = (rng.standard_cauchy(size=4000) * (k + 1)).astype(np.float32)
        mask = rng.random(4000) < 0.8
        a_max = np.abs(adv[mask]).max()
        ewma_np = a_max if k == 0 else 0.25 * a_max + 0.75 * ewma_np
        eta, ewma = filter_threshold(adv, mask, ewma, jnp.asarray(k == 0), 0.25, 0.01)
        np.testing.assert_allclose(float(ewma), ewma_np, rtol=1e-5)
        np.testing.assert_allclose(float(eta), 0.01 * ewma_np, rtol=1e-5)
        keep = mask & (np.abs(adv) >= float(eta))
        want = (mask & (np.abs(adv) >= 0.01 * ewma_np)).mean()
        assert abs(keep.mean() - want) < 1e-3


def test_compact_packs_kept_samples_in_visit_order():
    rng = np.random.default_rng(2)
    keep = rng.random(50) < 0.3
    order = rng.permutation(50).astype(np.int32)
    idx, n = compact(jnp.asarray(keep), jnp.asarray(order))
    n = int(n)
    assert n == keep.sum()
    np.testing.assert_array_equal(np.asarray(idx[:n]), order[keep[order]])
    assert (np.asarray(idx[n:]) == 0).all()


# -- the filtered update -------------------------------------------------------------------
SPEC = {"x": ("vec", 3), "s": ("set", 2)}


def make_data(rng, shards, n):
    obs = {
        "x": rng.normal(size=(shards, n, 3)).astype(np.float32),
        "s": SetBlock(
            rng.normal(size=(shards, n, 4, 2)).astype(np.float32), rng.random((shards, n, 4)) < 0.7
        ),
    }
    return {
        "obs": obs,
        "action": rng.integers(0, 12, (shards, n)).astype(np.int32),
        "logp": np.full((shards, n), -np.log(12.0), np.float32),
        "adv": rng.normal(size=(shards, n)).astype(np.float32) ** 3,
        "ret": rng.normal(size=(shards, n)).astype(np.float32),
    }


@eqx.filter_jit
def run_update(policy, data, learn, cfg):
    tx = make_optimizer(cfg)
    opt = tx.init(eqx.filter(policy, eqx.is_array))
    first = (jnp.zeros(()), jnp.asarray(True))
    return ppo_update(policy, opt, data, learn, 1e-3, first, jax.random.PRNGKey(0), cfg, tx)


def test_update_ignores_unlearnable_and_filtered_samples_and_shrinks():
    rng = np.random.default_rng(3)
    policy = make_policy(SPEC, PolicyConfig(8, (16,)), jax.random.PRNGKey(0))
    data = make_data(rng, 2, 300)
    learn = rng.random((2, 300)) < 0.7  # erratic agents and empty slots are False
    cfg = PPOConfig(minibatch=64, epochs=2, filter_scale=0.05)
    p1, _, _, stats = run_update(policy, data, learn, cfg)
    # Kept samples and minibatch count as NumPy says.
    eta = 0.05 * np.abs(data["adv"][learn]).max()
    keep = learn & (np.abs(data["adv"]) >= eta)
    assert int(stats["n_kept"]) == keep.sum()
    assert int(stats["updates"]) == 2 * int(np.ceil(keep.sum(1).max() / 32))
    np.testing.assert_allclose(float(stats["frac_filtered"]), 1 - keep.sum() / learn.sum(), 1e-5)
    # Changing anything about a dropped sample (unlearnable or filtered out) changes nothing.
    other = make_data(np.random.default_rng(9), 2, 300)
    other["adv"] = np.where(np.abs(other["adv"]) < eta, other["adv"], 0.0).astype(np.float32)
    mixed = jax.tree_util.tree_map(
        lambda a, b: np.where(keep.reshape(keep.shape + (1,) * (a.ndim - 2)), a, b), data, other
    )
    p2, _, _, _ = run_update(policy, mixed, learn, cfg)
    for a, b in zip(jax.tree_util.tree_leaves(p1), jax.tree_util.tree_leaves(p2)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    # When no advantage is small (all |A| equal) nothing is filtered and more minibatches run
    # (same compiled update: only the data differ).
    flat = dict(data, adv=np.where(data["adv"] < 0, -1.0, 1.0).astype(np.float32))
    _, _, _, s3 = run_update(policy, flat, learn, cfg)
    assert int(s3["n_kept"]) == learn.sum() and float(s3["frac_filtered"]) == 0.0
    assert int(s3["updates"]) > int(stats["updates"])
