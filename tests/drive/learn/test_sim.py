"""Integration: a few training iterations on a procedural map through the CLI, then `eval`."""

import json
import math

import pytest
from typer.testing import CliRunner

from simlab.core.run import read_metrics

pytest.importorskip("simlab.drive.env")

from simlab.drive.learn.cli import app

TINY = [
    "worlds=2",
    "env.n_agents=4",
    "env.max_steps=10",  # truncations (and their V(s_T) bootstrap) happen within the run
    "maps.procedural=1",
    "train.rollout=8",
    "train.iterations=2",
    "train.checkpoint_every=1",
    "train.eval_every=2",
    "eval.worlds=2",
    "eval.steps=12",
    "train.ppo.minibatch=32",
]


def test_train_then_eval_on_procedural_map(tmp_path):
    args = ["train", "--preset", "smoke", "--out", str(tmp_path)]
    for s in TINY:
        args += ["--set", s]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 0, res.output + repr(res.exception)
    (run,) = tmp_path.iterdir()
    recs = read_metrics(run / "metrics.jsonl")
    train_recs = [r for r in recs if "loss" in r]
    assert [r["step"] for r in train_recs] == [1, 2]
    for r in train_recs:
        assert math.isfinite(r["loss"]) and r["agent_steps"] > 0 and r["km"] > 0
        assert 0.0 <= r["frac_filtered"] <= 1.0
        assert r["n_kept"] <= r["n_learn"] <= r["agent_steps"]
    assert sum(r["timeout_per_life"] * r["lives"] for r in train_recs) > 0  # truncations seen
    (ev,) = [r for r in recs if "eval/km" in r]
    assert ev["step"] == 2 and ev["eval/agent_steps"] > 0
    res = CliRunner().invoke(app, ["eval", str(run), "--steps", "12", "--worlds", "2"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    out = json.loads((run / "artefacts" / "eval-standard.json").read_text())
    assert (run / "artefacts" / "policy.npz").exists()
    assert out["steps"] == 12 and out["agent_steps"] > 0
    assert out["km_between_incidents_lower95"] <= out["km"] / 2.99
    # Same policy, same held-out maps, same seed and settings: eval is deterministic and
    # equals the periodic evaluation logged during training.
    assert out["km"] == pytest.approx(ev["eval/km"])
    assert out["incidents"] == ev["eval/incidents"]
