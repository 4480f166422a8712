"""Rollouts: token bookkeeping, loss mask, KV-cache log-probs, early stop."""

import torch

from simlab.agents.rl.models import load_policy
from simlab.agents.rl.rollout import RolloutConfig, collect
from simlab.agents.rl.toy import ToyEnv, ToyTask, toy_tasks


def _policy():
    return load_policy("tiny-random", lora=True, seed=0)


def test_mask_covers_exactly_sampled_tokens_and_logprobs_match():
    policy = _policy()
    # tasks with prompts of different lengths: left padding at the start and inside chunks
    tasks = [ToyTask(0, 0), ToyTask(123456, 1), ToyTask(7, 1000000)]
    cfg = RolloutConfig(k=3, max_new_tokens=6, max_turns=3, bf16=False, early_stop=False)
    rs, st = collect(policy, tasks, lambda: ToyEnv(), cfg, torch.Generator().manual_seed(0))
    assert st.finished == 9 and st.dropped == 0
    for r in rs:
        assert policy.chat.decode(r.ids) == policy.chat.render(r.messages)
        sampled = set()
        for a, b in r.turns:
            sampled.update(range(a, b))
        assert {i for i, m in enumerate(r.llm_mask) if m} == sampled
        assert r.n_llm == sum(b - a for a, b in r.turns)
        # recomputed (unpadded, no cache) log-probs equal the sampler's (KV cache, padding)
        ids = torch.tensor([r.ids])
        with torch.no_grad():
            lp = torch.log_softmax(policy.lm(ids).logits[0, :-1].float(), -1)
        lp = lp.gather(1, ids[0, 1:, None])[:, 0]
        m = torch.tensor(r.llm_mask[1:])
        torch.testing.assert_close(lp[m], torch.tensor(r.sample_logprobs[1:])[m], atol=1e-4, rtol=0)
        # every assistant turn ended: a stop token the model sampled is in the mask; a harness
        # end-of-message is not
        end = policy.chat.end_id
        for _a, b in r.turns:
            if r.ids[b - 1] != end:
                assert r.ids[b] == end and not r.llm_mask[b]


def test_early_stop_drops_stragglers():
    class Uneven(ToyEnv):
        def step(self, text):
            self.turn += 1
            # rollouts of even task index end at once; others run to max_turns
            return "go on", 0.0, self.task.index % 2 == 0 and self.turn == 1

    policy = _policy()
    cfg = RolloutConfig(k=4, max_new_tokens=2, max_turns=3, bf16=False)
    rs, st = collect(policy, toy_tasks(2), Uneven, cfg, torch.Generator().manual_seed(0))
    # task 0 finishes at turn 1 (4/4); task 1 never reaches 3 of 4 early: no stop until the end
    assert st.dropped == 0 and len(rs) == 8
    assert all(len(r.turns) == 1 for r in rs if r.group == 0)
    assert all(len(r.turns) == 3 for r in rs if r.group == 1)

    class Mostly(ToyEnv):
        def step(self, text):
            self.turn += 1
            return "go on", 0.0, self.turn == 1 and self.n != 0

    counter = iter(range(100))

    def make():
        e = Mostly()
        e.n = next(counter) % 10  # one rollout in ten is a straggler
        return e

    cfg = RolloutConfig(k=10, max_new_tokens=2, max_turns=3, bf16=False)
    rs, st = collect(policy, toy_tasks(1), make, cfg, torch.Generator().manual_seed(0))
    assert st.dropped == 1 and len(rs) == 9


def test_shared_prefix_changes_nothing_but_the_prefill():
    policy = _policy()
    for tasks in ([ToyTask(0, 0), ToyTask(123456, 1), ToyTask(7, 1000000)], [ToyTask(5, 2)]):
        out = {}
        for share in (False, True):
            cfg = RolloutConfig(
                k=3, max_new_tokens=5, max_turns=2, bf16=False, early_stop=False,
                temperature=0.0, share_prefix=share,
            )  # fmt: skip
            out[share] = collect(
                policy, tasks, lambda: ToyEnv(), cfg, torch.Generator().manual_seed(0)
            )
        (plain, st0), (shared, st1) = out[False], out[True]
        assert [r.ids for r in plain] == [r.ids for r in shared]
        for a, b in zip(plain, shared, strict=True):
            torch.testing.assert_close(
                torch.tensor(b.sample_logprobs), torch.tensor(a.sample_logprobs), atol=1e-5, rtol=0
            )
        # the common opening is fed once instead of once per row
        common = min(len(r.ids) for r in plain)
        assert st1.prefill_tokens < st0.prefill_tokens
        assert st0.prefill_tokens - st1.prefill_tokens <= (len(plain) - 1) * common
