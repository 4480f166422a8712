"""``simlab agents train|eval`` on the toy environment with the tiny random model."""

import json

from typer.testing import CliRunner

from simlab.agents.rl.cli import app
from simlab.core.run import read_metrics

SMALL = [
    "--set",
    "iterations=2",
    "--set",
    "tasks_per_iteration=2",
    "--set",
    "toy_tasks=8",
    "--set",
    "rollout.k=4",
    "--set",
    "rollout.max_new_tokens=2",
    "--set",
    "rollout.max_turns=2",
    "--set",
    "rollout.bf16=false",
    "--set",
    "loop.bf16=false",
    "--set",
    "loop.minibatch=4",
    "--set",
    "eval_every=1",
]


def test_train_resume_and_eval(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["train", "--out", str(tmp_path), *SMALL])
    assert res.exit_code == 0, res.output
    run = json.loads(res.output.strip().splitlines()[-1])["run"]
    recs = read_metrics(f"{run}/metrics.jsonl")
    assert [r["step"] for r in recs] == [1, 2]
    assert all("dev_tgc" in r for r in recs)
    # resume past the end: nothing more to do, metrics unchanged
    res = runner.invoke(app, ["train", "--resume", run])
    assert res.exit_code == 0, res.output
    assert [r["step"] for r in read_metrics(f"{run}/metrics.jsonl")] == [1, 2]
    res = runner.invoke(app, ["eval", "--run", run, "--runs", "2", "--split", "test_normal"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.output.strip().splitlines()[-1])
    assert 0 <= out["tgc"] <= 100 and out["tasks"] == 2
    assert out["b_turns"] == 2.0  # the toy game always takes two turns
    assert out["b_episodes"] == 4.0 and out["b_give_up_rate"] is None


def test_bad_preset_is_a_user_error(tmp_path):
    res = CliRunner().invoke(app, ["train", "--out", str(tmp_path), "--preset", "nope"])
    assert res.exit_code != 0
