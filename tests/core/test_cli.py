"""The `simlab` command line: help, version, lazy system groups, one-line errors."""

import subprocess
import sys

import pytest

from simlab import __version__
from simlab.cli import SYSTEMS, system_is_built


def simlab(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "simlab", *args], capture_output=True, text=True, timeout=120
    )


def test_help_lists_every_system_and_demo():
    r = simlab("--help")
    assert r.returncode == 0, r.stderr
    for name in [*SYSTEMS, "demo"]:
        assert name in r.stdout


def test_version():
    r = simlab("--version")
    assert r.returncode == 0
    assert r.stdout.strip() == f"simlab {__version__}"


def test_unknown_subcommand_is_one_clear_error():
    r = simlab("nonsense")
    assert r.returncode == 2
    assert "nonsense" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("name", sorted(SYSTEMS))
def test_each_system_group_answers(name):
    r = simlab(name, "--help")
    if system_is_built(name):
        assert r.returncode == 0, r.stderr
        assert "Usage" in r.stdout
    else:
        assert r.returncode == 2
        assert r.stderr.strip() == f"error: simlab {name} is not built yet ({SYSTEMS[name][1]})."


def test_demo_rejects_unknown_system(tmp_path):
    r = simlab("demo", "--out", str(tmp_path), "--only", "nosuch")
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        f"error: unknown system(s) nosuch; choose from {', '.join(SYSTEMS)}"
    ]


def test_import_simlab_imports_neither_jax_nor_torch():
    code = (
        "import sys, simlab, simlab.cli, simlab.core.config, simlab.core.run, "
        "simlab.core.checkpoint, simlab.core.report, simlab.core.progress, simlab.core.demo\n"
        "bad = [m for m in ('jax', 'torch', 'transformers') if m in sys.modules]\n"
        "assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_help_does_not_import_frameworks():
    # Listing every system's commands must stay light: system cli modules import lazily.
    code = (
        "import sys\nfrom simlab.cli import app\n"
        "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        "bad = [m for m in ('jax', 'torch') if m in sys.modules]\nassert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
