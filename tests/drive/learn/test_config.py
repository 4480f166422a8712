"""Presets follow §8's table; TOML files and --set overrides are checked key by key."""

import pytest

from simlab.core.errors import ConfigError

pytest.importorskip("simlab.drive.config")

from simlab.drive.learn.config import PRESETS, load_drive_config


@pytest.mark.parametrize(
    ("name", "net", "sizes"),
    [
        ("smoke", "smoke", (8, 8, 16)),
        ("cpu", "cpu", (64, 32, 64)),
        ("full", "full", (4800, 150, 128)),
    ],
)
def test_presets_match_spec_table(name, net, sizes):
    cfg = PRESETS[name]
    assert cfg.train.net == net
    assert (cfg.worlds, cfg.env.n_agents, cfg.train.rollout) == sizes
    ppo = cfg.train.ppo
    assert (ppo.gamma, ppo.lam, ppo.clip, ppo.lr, ppo.epochs) == (0.999, 0.95, 0.2, 5e-4, 3)
    assert (ppo.ent_coef, ppo.vf_coef, ppo.max_grad_norm) == (0.01, 0.5, 0.5)
    assert (ppo.filter_beta, ppo.filter_scale) == (0.25, 0.01)


def test_file_then_overrides(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("worlds = 4\n[train.ppo]\nlr = 1e-3\n")
    cfg = load_drive_config("smoke", path, ("train.ppo.epochs=2", "env.n_agents=5"))
    assert cfg.worlds == 4 and cfg.train.ppo.lr == 1e-3 and cfg.train.ppo.epochs == 2
    assert cfg.env.n_agents == 5 and cfg.train.net == "smoke"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [(("train.ppo.lrr=1",), "lrr"), (("train.net=huge",), "net"), (("worlds=x",), "worlds")],
)
def test_bad_keys_and_values_are_config_errors(overrides, match):
    with pytest.raises(ConfigError, match=match):
        load_drive_config("smoke", None, overrides)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="preset"):
        load_drive_config("nope")


def test_lane_row_step_reaches_the_map_bank():
    # maps.lane_row_step (spec §15: the 40 m W_lane spacing is a default to tune) must cut
    # the training and held-out maps' lanes into rows of that length.
    from simlab.drive.learn.experiment import eval_env, train_env

    cfg = load_drive_config("easy", overrides=("maps.lane_row_step=10",))
    assert cfg.maps.lane_row_step == 10.0
    coarse = train_env(load_drive_config("easy")).bank
    fine, held_out = train_env(cfg).bank, eval_env(cfg).bank
    for bank in (coarse, fine, held_out):
        lengths = (bank.r_end - bank.r_start[:, :2]) ** 2
        assert float(lengths.sum(-1).max()) ** 0.5 <= (40.0 if bank is coarse else 10.0) + 1e-3
    assert fine.r_start.shape[0] > 3 * coarse.r_start.shape[0]
