"""One rollout of a tiny random model against a real API-world task."""

import pytest
import torch

from simlab.agents.rl.models import load_policy
from simlab.agents.rl.rollout import RolloutConfig, collect


def test_tiny_model_rollout_on_world_task():
    world = pytest.importorskip("simlab.agents.rl.world")
    tasks = world.world_tasks("train", max_difficulty=1)[:1]
    assert tasks
    policy = load_policy("tiny-random", lora=True, seed=0)
    cfg = RolloutConfig(k=2, max_new_tokens=8, max_turns=2, bf16=False, early_stop=False)
    rs, st = collect(
        policy,
        tasks,
        lambda: world.WorldEnv(max_turns=2, max_output_tokens=64),
        cfg,
        torch.Generator().manual_seed(0),
    )
    assert st.finished == 2
    for r in rs:
        assert r.done and len(r.turns) == 2  # the world ends the episode at its turn limit
        assert r.success is False and 0.0 <= r.reward <= 1.0
        assert policy.chat.decode(r.ids) == policy.chat.render(r.messages)
        assert r.n_llm == sum(b - a for a, b in r.turns)
        assert "No code found." in r.messages[3]["content"]
