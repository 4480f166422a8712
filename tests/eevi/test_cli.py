"""The `simlab eevi` command line: fast import, and config errors as one line."""

import subprocess
import sys


def _run(*code_or_args, module=False):
    cmd = [sys.executable, "-m", "simlab", *code_or_args] if module else [sys.executable, "-c"]
    if not module:
        cmd.append(code_or_args[0])
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_cli_module_imports_no_framework():
    r = _run("import sys, simlab.eevi.cli; print('jax' in sys.modules, 'pgmpy' in sys.modules)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["False", "False"]


def test_bad_config_is_one_line(tmp_path):
    r = _run("eevi", "diabetes", "--set", "mehtod=smc", "--out", str(tmp_path), module=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "mehtod" in r.stderr
