"""Oracles for LOOP's update: advantages, filtering, the clipped surrogate and its gradient."""

import pytest
import torch

from simlab.agents.rl.loop import (
    Learner,
    LoopConfig,
    assign_advantages,
    clip_range,
    group_advantages,
    preset,
    surrogate_loss,
    token_logprobs,
)
from simlab.agents.rl.models import load_policy
from simlab.agents.rl.rollout import RolloutConfig, collect
from simlab.agents.rl.toy import ToyEnv, toy_tasks


def test_loo_advantages_sum_to_zero_and_match_closed_form():
    g = torch.Generator().manual_seed(0)
    for k in (2, 3, 6):
        r = torch.rand(k, generator=g, dtype=torch.float64)
        a = group_advantages(r)
        assert abs(float(a.sum())) < 1e-12
        expect = torch.tensor([r[i] - (r.sum() - r[i]) / (k - 1) for i in range(k)])
        torch.testing.assert_close(a, expect.double())
        torch.testing.assert_close(a, k / (k - 1) * (r - r.mean()))
    r = torch.tensor([0.0, 1.0, 1.0, 0.0])
    std = group_advantages(r, baseline="mean", std_norm=True)
    torch.testing.assert_close(std, torch.tensor([-1.0, 1.0, 1.0, -1.0], dtype=torch.float64))


def test_all_equal_groups_are_dropped():
    from simlab.agents.rl.rollout import Rollout

    rs = [
        Rollout(group=g, task=None, messages=[], reward=rew)
        for g, rew in [(0, 1.0), (0, 1.0), (0, 1.0), (1, 0.0), (1, 1.0), (1, 0.0)]
    ]
    cfg = LoopConfig()
    assign_advantages(rs, cfg)
    kept = [r for r in rs if abs(r.advantage) >= cfg.adv_min]
    assert [r.group for r in kept] == [1, 1, 1]
    assert sum(r.advantage for r in kept) == pytest.approx(0.0, abs=1e-12)


def test_clipped_objective_and_gradient_hand_computed():
    eps = 0.1
    lo, hi = clip_range(eps)
    assert (lo, hi) == pytest.approx((1 / 1.1, 1.1))
    old = torch.log(torch.tensor([0.5, 0.5, 0.5, 0.5], dtype=torch.float64))
    ratios = torch.tensor([1.0, 1.3, 0.8, 1.05], dtype=torch.float64)
    lp = (old + torch.log(ratios)).clone().requires_grad_(True)
    for adv in (2.0, -2.0):
        loss, clipped = surrogate_loss(lp, old, adv, eps=eps)
        # hand computation: o_t = min(r A, clip(r) A), loss = -mean o_t
        if adv > 0:
            o = [1.0 * adv, 1.1 * adv, 0.8 * adv, 1.05 * adv]  # r=1.3 clipped above
            live = [1, 0, 1, 1]  # clipped token (A>0, r>1+eps) gets no gradient
        else:
            o = [1.0 * adv, 1.3 * adv, (1 / 1.1) * adv, 1.05 * adv]  # r=0.8 clipped below
            live = [1, 1, 0, 1]
        assert float(loss.detach()) == pytest.approx(-sum(o) / 4, rel=1e-12)
        assert float(clipped) == pytest.approx(0.5)
        (g,) = torch.autograd.grad(loss, lp)
        # d/dl of -(r A)/n = -(A r)/n where unclipped, 0 where clipped
        expect = torch.tensor([-adv * r / 4 * m for r, m in zip(ratios.tolist(), live)])
        torch.testing.assert_close(g, expect.double())


def test_turn_and_trajectory_ratios():
    old = torch.zeros(4, dtype=torch.float64)
    lp = torch.tensor([0.05, 0.05, -0.02, 0.01], dtype=torch.float64)
    turn = torch.tensor([0, 0, 1, 1])
    loss, _ = surrogate_loss(lp, old, 1.0, level="turn", turn_index=turn)
    r0, r1 = torch.exp(torch.tensor(0.1)), torch.exp(torch.tensor(-0.01))
    assert float(loss) == pytest.approx(-(min(float(r0), 1.1) + float(r1)) / 2, rel=1e-6)
    loss, _ = surrogate_loss(lp, old, -1.0, level="trajectory")
    r = float(torch.exp(torch.tensor(0.09)))
    assert float(loss) == pytest.approx(-min(-r, -r), rel=1e-6)
    loss, _ = surrogate_loss(lp, old, 2.0, ppo_clip=False)
    assert float(loss) == pytest.approx(-2.0 * float(lp.mean()))


def test_presets():
    assert preset("rloo").importance_level == "trajectory" and preset("rloo").strictly_on_policy
    g = preset("grpo")
    assert g.strictly_on_policy and g.adv_std_norm and g.kl_coef > 0
    assert preset("loop") == LoopConfig()
    assert preset("loop_bandit").importance_level == "trajectory"
    with pytest.raises(ValueError):
        preset("nope")


@pytest.fixture(scope="module")
def batch():
    torch.manual_seed(0)
    policy = load_policy("tiny-random", lora=False, seed=0)
    rc = RolloutConfig(k=4, max_new_tokens=3, max_turns=2, bf16=False)
    rs, _ = collect(policy, toy_tasks(3), lambda: ToyEnv(), rc, torch.Generator().manual_seed(1))
    return policy, rs


def test_first_step_ratio_is_one_and_gradient_is_reinforce(batch):
    policy, rs = batch
    cfg = LoopConfig(bf16=False, minibatch=4)
    learner = Learner(policy, cfg)
    for r in rs:
        r.advantage = 0.5 if r.group % 2 else -0.25
    items = [learner._item(r) for r in rs[:4]]
    learner._prepare(items)
    for it in items:
        lp = token_logprobs(policy.lm, it.ids, it.pos)
        torch.testing.assert_close(
            torch.exp(lp - it.old_lp), torch.ones_like(lp), atol=1e-6, rtol=0
        )
        loss, clipped = surrogate_loss(lp, it.old_lp, it.rollout.advantage)
        assert float(clipped) == 0.0
        g1 = torch.autograd.grad(loss / 4, learner.params, retain_graph=True, allow_unused=True)
        # -A * mean grad(log p) / M
        g2 = torch.autograd.grad(
            -it.rollout.advantage * lp.mean() / 4, learner.params, allow_unused=True
        )
        assert sum(a is not None for a in g1) > 0
        for a, b in zip(g1, g2):
            assert (a is None) == (b is None)
            if a is not None:
                torch.testing.assert_close(a, b, atol=1e-7, rtol=1e-5)


def test_masked_tokens_get_no_gradient(batch):
    """Perturbing the loss through a context (non-LLM) token position changes nothing."""
    policy, rs = batch
    r = rs[0]
    ids = torch.tensor(r.ids)
    mask = torch.tensor(r.llm_mask)
    mask[0] = False
    pos = mask.nonzero()[:, 0]
    emb = policy.lm.get_input_embeddings()(ids[None]).detach().requires_grad_(True)
    h = policy.lm.get_decoder()(inputs_embeds=emb).last_hidden_state[0]
    lp = torch.log_softmax(policy.lm.get_output_embeddings()(h[pos - 1]), -1)
    lp = lp.gather(1, ids[pos][:, None])[:, 0]
    torch.testing.assert_close(lp, token_logprobs(policy.lm, ids, pos))
    # the loss only reads log-probs at LLM positions: by construction of token_logprobs the
    # gradient w.r.t. the logits at any other position is zero
    logits = policy.lm(ids[None]).logits[0].detach().requires_grad_(True)
    lpa = torch.log_softmax(logits[:-1], -1).gather(1, ids[1:, None])[:, 0]
    sel = lpa[pos - 1]
    (g,) = torch.autograd.grad(sel.mean(), logits)
    ctx = torch.ones(len(ids), dtype=torch.bool)
    ctx[pos - 1] = False
    assert float(g[ctx].abs().max()) == 0.0
    assert float(g[~ctx].abs().max()) > 0.0


@pytest.mark.parametrize("name", ["loop", "loop_turn", "rloo", "grpo", "ppo_critic"])
def test_update_runs_for_each_preset(name):
    torch.manual_seed(0)
    policy = load_policy("tiny-random", lora=name == "grpo", seed=0)
    cfg = preset(name, bf16=False, lr=1e-3, minibatch=4, critic_warmup_iters=0)
    learner = Learner(policy, cfg)
    rc = RolloutConfig(k=4, max_new_tokens=2, max_turns=2, bf16=False)
    rs, _ = collect(policy, toy_tasks(2), lambda: ToyEnv(), rc, torch.Generator().manual_seed(3))
    for r in rs:  # force a non-degenerate group
        r.reward = float(r.group == 0 and rs.index(r) % 2 == 0)
    assign_advantages(rs, cfg)
    before = [p.detach().clone() for p in learner.params]
    m = learner.update(rs, iteration=0)
    assert m["steps"] >= 1
    assert any(not torch.equal(a, p) for a, p in zip(before, learner.params))
