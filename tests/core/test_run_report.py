"""Run folders, metrics, progress bars, reports and the demo runner."""

import importlib.machinery
import json
import sys
import types

import pytest

from simlab.core import demo as demo_module
from simlab.core.errors import DataError, UserError
from simlab.core.progress import ProgressBar, progress
from simlab.core.report import Report, line_plot
from simlab.core.run import Metrics, RunDir, read_metrics


def test_run_folder_saves_a_reloadable_config(tmp_path):
    from tests.core.test_config import PPO, Train

    cfg = Train(seed=5, ppo=PPO(lr=0.1))
    run = RunDir.create(tmp_path, "train", cfg)
    again = RunDir.create(tmp_path, "train", cfg)
    assert run.path != again.path and run.path.name.startswith("train-")
    assert RunDir.open(run.path).load_config(Train) == cfg
    assert json.loads((run.path / "run.json").read_text())["simlab"]
    with pytest.raises(DataError, match="not found"):
        RunDir.open(tmp_path / "nope")


def test_metrics_jsonl_and_tensorboard(tmp_path):
    with Metrics(tmp_path) as m:
        for step in range(1, 6):
            m.log(step, loss=1.0 / step, bad=float("nan"))
    records = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5]
    assert records[1]["loss"] == 0.5 and records[0]["bad"] is None
    assert any(p.name.startswith("events.out.tfevents") for p in (tmp_path / "tb").iterdir())

    # resuming at step 3 drops the records logged after that checkpoint
    with Metrics(tmp_path, resume_step=3, tensorboard=False) as m:
        m.log(4, loss=9.0)
    assert [(r["step"], r["loss"]) for r in read_metrics(tmp_path / "metrics.jsonl")][-2:] == [
        (3, 1 / 3),
        (4, 9.0),
    ]


def test_torn_last_metrics_line_is_skipped_but_a_torn_middle_line_is_an_error(tmp_path):
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 1, "a": 1}\n{"step": 2, "a"')
    assert read_metrics(path) == [{"step": 1, "a": 1}]
    path.write_text('{"step": 1\n{"step": 2}\n')
    with pytest.raises(DataError, match="line 1 is not JSON"):
        read_metrics(path)


def test_progress_counts_and_passes_items_through():
    assert list(progress(range(5), description="x", disable=True)) == [0, 1, 2, 3, 4]
    with ProgressBar(10, "y", unit="step", start=4, disable=True) as bar:
        bar.update(2, loss=0.25)
        assert bar.completed == 6


def test_progress_bar_draws_on_stderr_not_stdout(capsys):
    # Commands print their results (JSON) on stdout; the bar must not end up in them.
    with ProgressBar(3, "eval", unit="step") as bar:
        bar.update(3)
    out, err = capsys.readouterr()
    assert out == "" and "eval" in err


def test_report_writes_markdown_tables_and_figures(tmp_path):
    report = Report(tmp_path, "title")
    report.section("A")
    report.text("hello")
    report.table(["k", "v"], [["a", 0.123456], ["b|c", 2]])
    fig = line_plot({"s": ([1, 2, 3], [3, 1, 2])}, "x", "y", title="t")
    report.figure(fig, "plot", "A plot.")
    path = report.write()
    text = path.read_text()
    assert text.startswith("# title\n") and "## A" in text
    assert "| a | 0.1235 |" in text and "b\\|c" in text
    assert "![A plot.](figures/plot.png)" in text
    assert (tmp_path / "figures" / "plot.png").read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="has 1 cells"):
        report.table(["k", "v"], [["a"]])


def _fake_system(monkeypatch, name, run_demo):
    module = types.ModuleType(f"simlab.{name}.demo")
    module.__spec__ = importlib.machinery.ModuleSpec(module.__name__, None)
    module.run_demo = run_demo
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.setattr(demo_module, "_has_demo", lambda system: system == name)


def test_demo_runs_built_systems_into_one_report(tmp_path, monkeypatch):
    def run_demo(report, workdir):
        report.text("fake system ran")
        report.figure(line_plot({"a": ([0, 1], [1, 0])}, "x", "y"), "fake", "Fake.")
        assert workdir.is_dir()

    _fake_system(monkeypatch, "eevi", run_demo)
    path = demo_module.run_demo(tmp_path, only=["eevi", "drive"])
    text = path.read_text()
    assert path.parent.parent == tmp_path / "runs" and path.parent.name.startswith("demo-")
    assert "fake system ran" in text and "| eevi | ok |" in text
    assert "| drive | not built yet |" in text
    assert (path.parent / "figures" / "fake.png").exists()


def test_a_failing_system_demo_fails_the_demo_after_writing_the_report(tmp_path, monkeypatch):
    def broken(report, workdir):
        raise RuntimeError("boom")

    _fake_system(monkeypatch, "ravi", broken)
    with pytest.raises(UserError, match="demo failed for ravi"):
        demo_module.run_demo(tmp_path, only=["ravi"])
    (report,) = (tmp_path / "runs").glob("demo-*/report.md")
    assert "FAILED: RuntimeError: boom" in report.read_text()
