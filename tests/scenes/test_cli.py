import json

import numpy as np
from typer.testing import CliRunner

from simlab.scenes.cli import app

runner = CliRunner()


def test_help_lists_commands():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    for cmd in ("infer", "bench", "benchmark"):
        assert cmd in r.output


def _err(args):
    r = runner.invoke(app, args)
    assert r.exit_code != 0
    return str(r.exception)


def test_infer_needs_exactly_one_source(tmp_path):
    assert "exactly one" in _err(["infer"])
    assert "exactly one" in _err(["infer", "--generate", "standard", "--depth", "x.npy"])


def test_infer_depth_errors_name_the_file(tmp_path):
    d = tmp_path / "d.npy"
    np.save(d, np.zeros((480, 640), np.float32))
    pose = tmp_path / "T.json"
    pose.write_text(json.dumps(np.eye(4).tolist()))
    init = tmp_path / "init.json"
    init.write_text('[{"name": "CrackerBox"}]')
    assert "needs --camera-pose and --init" in _err(["infer", "--depth", str(d)])
    msg = _err(["infer", "--depth", str(d), "--camera-pose", str(pose), "--init", str(init)])
    assert "init.json" in msg and "'pose'" in msg
    bad = tmp_path / "bad.json"
    bad.write_text("{\n oops")
    msg = _err(["infer", "--depth", str(d), "--camera-pose", str(bad), "--init", str(init)])
    assert "bad.json:2" in msg
    small = tmp_path / "small.npy"
    np.save(small, np.zeros((10, 10), np.float32))
    msg = _err(["infer", "--depth", str(small), "--camera-pose", str(pose), "--init", str(init)])
    assert "small.npy" in msg and "640×480" in msg
    none = str(tmp_path / "none.png")
    assert "not found" in _err(
        ["infer", "--depth", none, "--camera-pose", str(pose), "--init", str(init)]
    )
