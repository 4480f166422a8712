"""SFT warm start: token layout, loss mask (only assistant tokens get gradient), learning."""

import pytest
import torch

from simlab.agents.rl.models import load_policy
from simlab.agents.rl.sft import SftConfig, sft_example, sft_loss, sft_train

CONV = [
    {"role": "system", "content": "Write code."},
    {"role": "user", "content": "Task: say hi"},
    {"role": "assistant", "content": "```python\nprint('hi')\n```"},
    {"role": "user", "content": "hi"},
    {"role": "assistant", "content": "```python\ndone()\n```"},
]


@pytest.fixture(scope="module")
def policy():
    return load_policy("tiny-random", lora=True, seed=0)


def test_layout_matches_template_and_mask_covers_assistant_content_and_stop(policy):
    chat = policy.chat
    ids, mask = sft_example(chat, CONV)
    assert len(ids) == len(mask)
    # The ids decode to the chat template's own rendering.
    assert chat.decode(ids) == chat.render(CONV)
    # Masked tokens, taken run by run, are each assistant message followed by <|im_end|>.
    runs, cur = [], []
    for i, m in zip(ids, mask):
        if m:
            cur.append(i)
        elif cur:
            runs.append(cur)
            cur = []
    want = [m["content"] for m in CONV if m["role"] == "assistant"]
    assert [chat.decode(r) for r in runs] == [w + "<|im_end|>" for w in want]


def test_only_assistant_tokens_get_gradient(policy):
    ids, mask = sft_example(policy.chat, CONV)
    ids_t, mask_t = torch.tensor(ids), torch.tensor(mask)
    captured = {}

    def hook(_module, _inp, out):
        out.last_hidden_state.retain_grad()
        captured["h"] = out.last_hidden_state

    handle = policy.lm.get_decoder().register_forward_hook(hook)
    try:
        nll, n = sft_loss(policy.lm, ids_t, mask_t)
        nll.backward()
    finally:
        handle.remove()
        policy.model.zero_grad(set_to_none=True)
    # The final hidden state at position p only feeds the prediction of token p + 1, so its
    # gradient is non-zero exactly where token p + 1 is an assistant token.
    g = captured["h"].grad[0].abs().sum(-1)  # [L]
    predicts_assistant = mask_t[1:]
    assert n == int(predicts_assistant.sum())
    assert bool((g[:-1][predicts_assistant] > 0).all())
    assert float(g[:-1][~predicts_assistant].abs().max()) == 0.0
    assert float(g[-1]) == 0.0
    # Oracle: the loss is the summed NLL of the masked tokens under one full forward.
    with torch.no_grad():
        logits = policy.lm(input_ids=ids_t[None]).logits[0].float()
        lp = torch.log_softmax(logits[:-1], -1).gather(1, ids_t[1:, None])[:, 0]
        torch.testing.assert_close(
            float(nll), float(-lp[predicts_assistant].sum()), rtol=1e-4, atol=1e-4
        )


def test_sft_lowers_the_assistant_loss():
    policy = load_policy("tiny-random", lora=True, seed=0)
    ids, mask = (torch.tensor(x) for x in sft_example(policy.chat, CONV))
    with torch.no_grad():
        before, n = sft_loss(policy.lm, ids, mask)
    info = sft_train(policy, [CONV], SftConfig(lr=3e-3, epochs=8, minibatch=1, bf16=False))
    with torch.no_grad():
        after, _ = sft_loss(policy.lm, ids, mask)
    assert info["steps"] == 8
    assert float(after) / n < 0.8 * float(before) / n


def test_bad_conversations_are_rejected(policy):
    with pytest.raises(ValueError, match="no assistant message"):
        sft_example(policy.chat, CONV[:2])
    with pytest.raises(ValueError, match="message 1"):
        sft_example(policy.chat, [CONV[0], {"role": "user"}, CONV[2]])
    with pytest.raises(ValueError, match="at least one"):
        sft_train(policy, [])
