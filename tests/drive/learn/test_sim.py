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


@pytest.mark.slow  # ~100 s alone: compiles a training iteration and an evaluation
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
    for name in ("goal", "collision", "offroad", "timeout"):
        lo, hi = out[f"{name}_per_life_lo95"], out[f"{name}_per_life_hi95"]
        assert 0.0 <= lo <= out[f"{name}_per_life"] <= hi <= 1.0
    # Same policy, same held-out maps, same seed and settings: eval is deterministic and
    # equals the periodic evaluation logged during training.
    assert out["km"] == pytest.approx(ev["eval/km"])
    assert out["incidents"] == ev["eval/incidents"]
    # --sample draws actions from π: its own file, and (a near-uniform policy) other actions.
    res = CliRunner().invoke(app, ["eval", str(run), "--steps", "12", "--worlds", "2", "--sample"])
    assert res.exit_code == 0, res.output + repr(res.exception)
    sampled = json.loads((run / "artefacts" / "eval-standard-sampled.json").read_text())
    assert sampled["greedy"] is False and out["greedy"] is True
    assert sampled["km"] != pytest.approx(out["km"])


def test_route_distances_are_clipped_for_the_policy():
    # Unreachable targets read 1e5 m in the simulator; the policy sees at most ROUTE_CLIP km.
    import numpy as np

    from simlab.drive.learn.simenv import ROUTE_CLIP, ROUTE_UNIT, to_blocks

    goals = np.zeros((1, 1, 2, 6), np.float32)
    goals[..., 4] = [0.15, 100.0]
    goals[..., 5] = 1.0
    lanes = np.zeros((1, 1, 3, 10), np.float32)
    lanes[..., 7] = [0.3, 100.0, 100.0]
    lanes[..., 8] = [-0.1, 99.7, -100.0]
    lanes[..., 9] = 1.0
    out = to_blocks({"goals": goals, "lanes": lanes, "ego": np.full((1, 1, 3), 7.0, np.float32)})
    # ... and reads them in units of ROUTE_UNIT km (100 m)
    c, u = ROUTE_CLIP, ROUTE_UNIT
    np.testing.assert_allclose(out["goals"].x[0, 0, :, 4], [1.5, c / u], rtol=1e-6)
    np.testing.assert_allclose(out["lanes"].x[0, 0, :, 7], [3.0, c / u, c / u], rtol=1e-6)
    np.testing.assert_allclose(out["lanes"].x[0, 0, :, 8], [-1.0, c / u, -c / u], rtol=1e-6)
    assert out["lanes"].valid.all() and (out["ego"] == 7.0).all()  # other features untouched


def test_progress_on_one_lane_equals_distance_toward_the_target():
    from types import SimpleNamespace

    import numpy as np

    from simlab.drive.learn.simenv import _progress, procedural_bank

    bank = procedural_bank(0, 1)
    lane_len = float(bank.lane_len[0])
    # Three agents on lane 0, target near its end (one target: the final goal).
    # 0: drives 5 m toward it; 1: reaches it; 2: crashes (life ends, no progress counted).
    a = lambda *v: np.asarray([v], np.float32)  # noqa: E731  [W=1, A=3]
    i = lambda *v: np.asarray([v], np.int32)  # noqa: E731
    goal_s = np.full((1, 3, 4), lane_len - 1.0, np.float32)
    common = dict(goal_lane=np.zeros((1, 3, 4), np.int32), goal_s=goal_s, goal_idx=i(0, 0, 0),
                  n_targets=i(1, 1, 1), lane=i(0, 0, 0), active=np.ones((1, 3), bool))  # fmt: skip
    state = SimpleNamespace(**common, s=a(0.0, lane_len - 4.0, 2.0), life_steps=i(0, 7, 7))
    new = SimpleNamespace(**common, s=a(5.0, lane_len - 1.5, 4.0), life_steps=i(1, 8, 8))
    info = {"goal": np.array([[False, True, False]]), "waypoint": np.zeros((1, 3), bool),
            "dist": a(5.0, 2.5, 2.0)}  # fmt: skip
    done = np.array([[False, True, True]])
    progress, start = _progress(bank, state, new, info, done)
    np.testing.assert_allclose(np.asarray(progress), [[5.0, 3.0, 0.0]], atol=1e-4)
    # Only agent 0 takes the first step of a life: its whole route counts once.
    np.testing.assert_allclose(np.asarray(start), [[lane_len - 1.0, 0.0, 0.0]], atol=1e-4)


def test_progress_shaping_is_added_to_the_reward_and_logged():
    import numpy as np

    from simlab.drive.learn.simenv import add_progress_reward

    alive = np.array([[True, True, False]])
    events = {"progress": np.array([[2.0, -1.0, 5.0]], np.float32), "r_goal": np.ones((1, 3))}
    reward = np.array([[0.5, 0.0, 0.0]], np.float32)
    r, ev = add_progress_reward(reward, events, alive, 0.01)
    np.testing.assert_allclose(np.asarray(r), [[0.52, -0.01, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(ev["r_progress"]), [[0.02, -0.01, 0.0]], rtol=1e-6)
    assert ev["r_goal"] is events["r_goal"] and "r_progress" not in events  # no mutation


def test_idle_penalty_charges_alive_agents_below_half_a_metre_per_second():
    import numpy as np

    from simlab.drive.learn.simenv import add_idle_penalty

    alive = np.array([[True, True, True, False]])
    speed = np.array([[0.0, -0.4, 0.6, 0.0]], np.float32)  # reversing slowly counts as idle
    reward = np.ones((1, 4), np.float32)
    r, ev = add_idle_penalty(reward, {}, alive, speed, 0.02, 0.3)
    np.testing.assert_allclose(np.asarray(ev["r_idle"]), [[-0.006, -0.006, 0.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(r), 1 + np.asarray(ev["r_idle"]), rtol=1e-6)


def test_wilson_interval_matches_statsmodels():
    # The per-life shares of an evaluation carry a 95 % Wilson interval; oracle: statsmodels.
    proportion = pytest.importorskip("statsmodels.stats.proportion")
    from simlab.drive.learn.evaluate import wilson

    for k, n in ((0, 10), (3, 10), (13, 46), (46, 46), (120, 1000)):
        want = proportion.proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson(k, n) == pytest.approx(want, abs=1e-9)
    assert wilson(0, 0) == (0.0, 1.0)


@pytest.mark.slow  # ~60 s: compiles the learner-side step
def test_episode_shares_follow_each_agents_first_life():
    # Oracle: follow every slot present at the reset to the end of its first life and read
    # the outcome from that step's flags; the episode events must count exactly these.
    import equinox as eqx
    import jax
    import numpy as np

    from simlab.drive.config import EnvConfig
    from simlab.drive.learn.simenv import SimEnv, procedural_bank
    from simlab.drive.learn.train import summarize

    t = 40
    cfg = EnvConfig(n_agents=6, min_agents=3, max_steps=t, goal_max_dist=40.0, v_goal=30.0)
    env = SimEnv(procedural_bank(0, 1), cfg, 4)
    step = eqx.filter_jit(env.step)
    state = env.reset(jax.random.key(3))
    following = np.asarray(state.active).copy()  # first lives still running
    n_first = int(following.sum())
    want = dict.fromkeys(("episodes", "goal", "collision", "offroad", "timeout"), 0)
    got = dict.fromkeys(want, 0.0)
    rng = np.random.default_rng(0)
    for _ in range(t):
        actions = rng.integers(0, 12, size=state.x.shape)
        state, _, term, trunc, out = step(state, actions)
        ev = {k: np.asarray(v) for k, v in out["events"].items()}
        ended = following & (np.asarray(term) | np.asarray(trunc))
        want["episodes"] += int(ended.sum())
        for n in ("goal", "collision", "offroad"):
            want[n] += int((ended & (ev[n] > 0)).sum())
        want["timeout"] += int((ended & np.asarray(trunc)).sum())
        following &= ~ended
        got["episodes"] += ev["episodes"].sum()
        for n in ("goal", "collision", "offroad", "timeout"):
            got[n] += ev[f"episode_{n}"].sum()
    assert not following.any() and want["episodes"] == n_first  # every episode ended
    assert want["timeout"] > 0 and want["offroad"] + want["collision"] > 0  # both kinds seen
    assert got == pytest.approx({k: float(v) for k, v in want.items()})
    rec = summarize({"lives": 1.0, "events": {"episodes": got["episodes"],
                                              "episode_goal": got["goal"]}})  # fmt: skip
    assert rec["episode_goal"] == pytest.approx(want["goal"] / n_first)
