"""Kill a toy loop mid-run, start it again, and check that nothing was lost or duplicated."""

import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from simlab.core.checkpoint import Checkpointer
from simlab.core.run import read_metrics

TOY = Path(__file__).with_name("toy_loop.py")


def run_toy(folder, steps, delay=0.0):
    return subprocess.run(
        [sys.executable, str(TOY), str(folder), str(steps), str(delay)],
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


@pytest.mark.slow  # ~13 s alone (subprocesses)
def test_killed_run_resumes_to_the_same_result(tmp_path):
    steps = 40
    run_toy(tmp_path / "reference", steps)
    reference = read_metrics(tmp_path / "reference" / "metrics.jsonl")

    folder = tmp_path / "interrupted"
    proc = subprocess.Popen(
        [sys.executable, str(TOY), str(folder), str(steps), "0.05"],
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in proc.stdout:  # kill it between two checkpoints, after some metrics
        if line.strip() == "step 13":
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert Checkpointer(folder / "checkpoints").latest() == 10
    partial = read_metrics(folder / "metrics.jsonl")
    assert partial[-1]["step"] >= 13  # metrics past the checkpoint exist and must be redone

    out = run_toy(folder, steps)
    assert out.stdout.splitlines()[0] == "step 11"  # resumed after the last checkpoint
    resumed = read_metrics(folder / "metrics.jsonl")
    assert [r["step"] for r in resumed] == list(range(1, steps + 1))
    for a, b in zip(reference, resumed):
        np.testing.assert_allclose([a["x0"], a["mean0"]], [b["x0"], b["mean0"]], rtol=0, atol=0)
    assert Checkpointer(folder / "checkpoints").steps() == [35, 40]
