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


def test_cli_prints_config_errors_as_one_line(tmp_path):
    # The CLI turns any UserError into 'error: ...' on one line and exit code 2.
    code = (
        "import sys; sys.argv = ['simlab']\n"
        "from simlab.cli import main, app\n"
        "from simlab.core.config import load_config\n"
        "from dataclasses import dataclass\n"
        "@dataclass(frozen=True)\nclass C:\n    lr: float = 1.0\n"
        "@app.command('toy')\ndef toy(set: list[str] = []):\n    load_config(C, None, set)\n"
        "sys.argv = ['simlab', 'toy', '--set', 'lrr=2']\nmain()\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --set: unknown config key 'lrr' (valid keys: lr)"
    ]
