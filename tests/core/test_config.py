"""Configs: TOML + --set overrides, validated key by key."""

import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simlab.core.config import ConfigError, dump_toml, load_config, parse_override


@dataclass(frozen=True)
class PPO:
    lr: float = 3e-4
    epochs: int = 4
    clip: float | None = None
    schedule: Literal["cosine", "constant"] = "cosine"


@dataclass(frozen=True)
class Train:
    seed: int = 0
    name: str = "run"
    sizes: tuple[int, ...] = (64, 64)
    out: Path = Path("runs")
    fast: bool = False
    ppo: PPO = field(default_factory=PPO)

    def __post_init__(self):
        if self.seed < 0:
            raise ValueError("seed must be >= 0")


def test_defaults_file_and_overrides(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('seed = 3\nsizes = [8, 16, 32]\n[ppo]\nlr = 1e-3\nschedule = "constant"\n')
    cfg = load_config(Train, f, ["ppo.epochs=10", "fast=true", "name=abc", "ppo.clip=0.2"])
    assert cfg == Train(
        seed=3,
        name="abc",
        sizes=(8, 16, 32),
        fast=True,
        ppo=PPO(lr=1e-3, epochs=10, clip=0.2, schedule="constant"),
    )
    assert load_config(Train) == Train()


def test_override_wins_over_file(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text("[ppo]\nlr = 1e-3\n")
    assert load_config(Train, f, ["ppo.lr=5e-5"]).ppo.lr == 5e-5


def test_preset_base_then_file_then_overrides(tmp_path):
    preset = Train(seed=7, sizes=(256, 256), ppo=PPO(lr=1e-4, epochs=16))
    assert load_config(Train, base=preset) == preset
    f = tmp_path / "c.toml"
    f.write_text("[ppo]\nepochs = 2\n")  # a table in the file merges key by key into the preset
    cfg = load_config(Train, f, ["seed=1"], base=preset)
    assert cfg == Train(seed=1, sizes=(256, 256), ppo=PPO(lr=1e-4, epochs=2))


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("ppo.lrr=1", "unknown config key 'ppo.lrr'"),
        ("bogus=1", "unknown config key 'bogus'"),
        ("ppo.epochs=2.5", "config key 'ppo.epochs': expected an integer"),
        ("fast=maybe", "config key 'fast': expected true or false"),
        ("ppo.schedule=linear", "config key 'ppo.schedule': expected one of 'cosine', 'constant'"),
        ("sizes=[1, 'a']", "config key 'sizes[1]': expected an integer"),
        ("seed=-1", "seed must be >= 0"),
        ("ppo=3", "ppo: expected a table"),
        ("noequals", "expected key=value"),
    ],
)
def test_bad_override_names_the_key(override, message):
    with pytest.raises(ConfigError) as e:
        load_config(Train, None, [override])
    assert message in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_file_names_the_file(tmp_path):
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError, match=f"config file {missing}: not found"):
        load_config(Train, missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("seed = = 3\n")
    with pytest.raises(ConfigError, match=f"config file {broken}: invalid TOML"):
        load_config(Train, broken)
    wrong = tmp_path / "wrong.toml"
    wrong.write_text("[ppo]\nlearning_rate = 1\n")
    with pytest.raises(ConfigError, match=f"{wrong}: unknown config key 'ppo.learning_rate'"):
        load_config(Train, wrong)
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(Train, binary)


def test_parse_override_reads_toml_values_and_bare_strings():
    assert parse_override("a.b=1e-4") == (["a", "b"], 1e-4)
    assert parse_override("x=[1, 2]") == (["x"], [1, 2])
    assert parse_override("mode=fast") == (["mode"], "fast")
    assert parse_override('s="x=y"') == (["s"], "x=y")


@given(
    seed=st.integers(0, 2**31),
    name=st.text(max_size=20),
    sizes=st.lists(st.integers(-(2**40), 2**40), max_size=5),
    lr=st.floats(allow_nan=False, allow_infinity=False),
    clip=st.none() | st.floats(0, 1),
    fast=st.booleans(),
)
def test_toml_round_trip(tmp_path_factory, seed, name, sizes, lr, clip, fast):
    cfg = Train(seed=seed, name=name, sizes=tuple(sizes), fast=fast, ppo=PPO(lr=lr, clip=clip))
    path = tmp_path_factory.mktemp("rt") / "c.toml"
    dump_toml(cfg, path)
    assert load_config(Train, path) == cfg


TOY_CLI = """
import sys
from dataclasses import dataclass
from simlab.cli import app, main
from simlab.core.cliopts import ConfigPath, SetOverrides
from simlab.core.config import load_config

@dataclass(frozen=True)
class C:
    lr: float = 1.0

@app.command("toy")
def toy(config: ConfigPath = None, set: SetOverrides = None):
    print(load_config(C, config, set or ()))

sys.argv = ["simlab", "toy", *sys.argv[1:]]
main()
"""


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--set", "lrr=2"], "error: --set: unknown config key 'lrr' (valid keys: lr)"),
        (["--config", "{missing}"], "error: config file {missing}: not found"),
        (["--config", "{bad}"], "error: config file {bad}: invalid TOML"),
    ],
)
def test_cli_prints_config_errors_as_one_line(tmp_path, args, line):
    # The CLI turns any UserError into 'error: ...' on one line and exit code 2.
    bad = tmp_path / "bad.toml"
    bad.write_text("lr = [")
    paths = {"missing": tmp_path / "missing.toml", "bad": bad}
    args = [a.format(**paths) for a in args]
    r = subprocess.run([sys.executable, "-c", TOY_CLI, *args], capture_output=True, text=True)
    assert r.returncode == 2
    (printed,) = r.stderr.strip().splitlines()
    assert printed.startswith(line.format(**paths))


def test_cli_runs_with_config_and_overrides(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text("lr = 0.5")
    r = subprocess.run(
        [sys.executable, "-c", TOY_CLI, "-c", str(good)], capture_output=True, text=True
    )
    assert r.returncode == 0 and r.stdout.strip() == "C(lr=0.5)"
    r = subprocess.run(
        [sys.executable, "-c", TOY_CLI, "-c", str(good), "--set", "lr=2"],
        capture_output=True,
        text=True,
    )
    assert r.stdout.strip() == "C(lr=2.0)"
