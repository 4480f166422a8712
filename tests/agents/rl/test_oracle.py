"""LOOP's loss and gradient against a second, independent implementation.

The oracle below shares no code with ``simlab.agents.rl.loop``: it right-pads the whole batch,
runs one batched forward through the full causal LM (logits at every position), reads the
log-probs of every next token, masks them with ``llm_mask``, and writes the clipped surrogate
(token / turn / trajectory importance weights) with masked sums over padded tensors. Old
log-probs come from a copy of the model before a perturbation, so ratios spread on both sides
of the clip range. Compared: the loss and every parameter gradient, and one full
``Learner.update`` step against the oracle gradient fed to an SGD step.
"""

import copy

import pytest
import torch

from simlab.agents.rl.loop import Learner, LoopConfig, assign_advantages, surrogate_loss
from simlab.agents.rl.models import load_policy
from simlab.agents.rl.rollout import RolloutConfig, collect
from simlab.agents.rl.toy import ToyEnv, toy_tasks

EPS = 0.1
M = 8


def oracle_loss(lm, old_lm, rollouts, level):
    """Σ_x loss(x) / M over the batch, written from spec §3.4 / §3.7 on padded tensors."""
    L = max(len(r.ids) for r in rollouts)
    ids = torch.zeros(len(rollouts), L, dtype=torch.long)
    att = torch.zeros(len(rollouts), L, dtype=torch.long)
    llm = torch.zeros(len(rollouts), L, dtype=torch.bool)
    turn = torch.full((len(rollouts), L), -1, dtype=torch.long)
    for b, r in enumerate(rollouts):
        n = len(r.ids)
        ids[b, :n] = torch.tensor(r.ids)
        att[b, :n] = 1
        llm[b, :n] = torch.tensor(r.llm_mask)
        for j, (s, e) in enumerate(r.turns):
            turn[b, s:e] = j

    def logp(model):
        logits = model(input_ids=ids, attention_mask=att).logits.float()
        lp = torch.log_softmax(logits[:, :-1], -1).gather(2, ids[:, 1:, None])[..., 0]
        return lp  # [B, L-1]: log p(ids[t+1] | ids[:t+1])

    with torch.no_grad():
        old = logp(old_lm)
    lp = logp(lm)
    mask = llm[:, 1:].double()
    adv = torch.tensor([r.advantage for r in rollouts], dtype=torch.float64)[:, None]
    d = (lp.double() - old.double()) * mask
    lo, hi = 1 / (1 + EPS), 1 + EPS

    def obj(ratio, a):
        return torch.minimum(ratio * a, ratio.clamp(lo, hi) * a)

    if level == "token":
        per = (obj(torch.exp(d), adv) * mask).sum(1) / mask.sum(1)
    elif level == "trajectory":
        per = obj(torch.exp(d.sum(1)), adv[:, 0])
    else:  # turn: r_j = exp(Σ_{t in turn j} d_t), mean over turns
        tt = turn[:, 1:]
        n_turns = int(tt.max()) + 1
        per = torch.zeros(len(rollouts), dtype=torch.float64)
        for b in range(len(rollouts)):
            js = [j for j in range(n_turns) if bool(((tt[b] == j) & (mask[b] > 0)).any())]
            rj = torch.stack([torch.exp(d[b][tt[b] == j].sum()) for j in js])
            per[b] = obj(rj, adv[b, 0]).mean()
    return -(per.sum() / M)


@pytest.fixture(scope="module")
def setup():
    torch.manual_seed(0)
    policy = load_policy("tiny-random", lora=False, seed=0)
    rc = RolloutConfig(k=4, max_new_tokens=4, max_turns=2, bf16=False, early_stop=False)
    rs, _ = collect(policy, toy_tasks(2), ToyEnv, rc, torch.Generator().manual_seed(5))
    for i, r in enumerate(rs):  # non-degenerate, unequal rewards in both groups
        r.reward = [1.0, 0.0, 0.5, 0.25][i % 4]
    assign_advantages(rs, LoopConfig())
    old_lm = copy.deepcopy(policy.lm)
    g = torch.Generator().manual_seed(9)
    with torch.no_grad():  # move the policy so ratios leave the clip range both ways
        for p in policy.lm.parameters():
            p.add_(0.01 * torch.randn(p.shape, generator=g))
    return policy, old_lm, rs


@pytest.mark.parametrize("level", ["token", "turn", "trajectory"])
def test_loss_and_gradients_match_the_oracle(setup, level):
    policy, old_lm, rs = setup
    learner = Learner(policy, LoopConfig(bf16=False, minibatch=M, importance_level=level))
    items = [learner._item(r) for r in rs]
    with torch.no_grad():
        for it in items:
            it.old_lp = learner._logprobs(old_lm, it)
    params = learner.params
    ours, clipped = 0.0, []
    for it in items:
        loss, c = surrogate_loss(
            learner._logprobs(policy.lm, it),
            it.old_lp,
            it.rollout.advantage,
            eps=EPS,
            level=level,
            turn_index=it.turn,
        )
        ours = ours + loss / M
        clipped.append(float(c))
    g_ours = torch.autograd.grad(ours, params)
    ref = oracle_loss(policy.lm, old_lm, rs, level)
    g_ref = torch.autograd.grad(ref, params)
    if level != "trajectory":  # (a whole trajectory's ratio leaves the range almost always)
        assert 0 < sum(clipped) / len(clipped) < 1  # the clip is active for some ratios only
    assert any(float(g.abs().max()) > 0 for g in g_ref)
    assert float(ours.detach()) == pytest.approx(float(ref.detach()), rel=1e-5)
    for a, b in zip(g_ours, g_ref):
        torch.testing.assert_close(a, b.to(a.dtype), rtol=1e-4, atol=1e-7)


def test_one_update_step_matches_the_oracle(setup):
    """Learner.update (one epoch, one minibatch: old log-probs recomputed = current, ratio 1)
    moves the weights as one SGD step on the oracle's gradient does. (SGD replaces AdamW
    here: Adam's first step is lr·sign(g) wherever |g| ≫ its eps, which would hide gradient
    errors and amplify 1e-7 rounding on entries with |g| ~ 1e-8.)"""
    _, start_lm, rs = setup
    policy = load_policy("tiny-random", lora=False, seed=0)
    policy.lm.load_state_dict(start_lm.state_dict())
    twin = copy.deepcopy(policy.lm)
    cfg = LoopConfig(bf16=False, minibatch=M, epochs=1, max_grad_norm=1e9)
    learner = Learner(policy, cfg)
    learner.opt = torch.optim.SGD(learner.params, lr=1.0)
    m = learner.update(rs)
    assert m["steps"] == 1 and m["kept"] == len(rs)
    opt = torch.optim.SGD(twin.parameters(), lr=1.0)
    oracle_loss(twin, copy.deepcopy(twin), rs, "token").backward()
    opt.step()
    for (name, a), b in zip(policy.lm.named_parameters(), twin.parameters()):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=2e-7, msg=name)
    assert any(not torch.equal(a, b) for a, b in zip(start_lm.parameters(), twin.parameters()))
