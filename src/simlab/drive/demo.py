"""`simlab demo` section for simlab.drive: a rendered procedural town, a short self-play
training run, a learned policy driving, and a small speed table.

A few PPO iterations of the ``easy`` preset (the training loop end to end: rollout, GAE,
advantage filter, update; its metrics in a table); one 40-step rollout of a procedural grid
town with a learned policy driving every agent (events, PNG of the last frame, GIF): the
packaged ``easy`` policy when it ships (``PRETRAINED``, reproduced by the command in its JSON
meta), else the short run's own (nearly untrained) policy, and the text says which; one
simulator throughput measurement. (One rollout, not a hand-controller one plus a learned one:
each compiles the simulator anew, and compilation is most of the demo's time.)
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["run_demo"]

STEPS, AGENTS, SEED = 40, 24, 0
TRAIN_ITERATIONS = 4  # a demonstration of the loop, not a competent policy
PRETRAINED = Path(__file__).parent / "learn" / "pretrained" / "easy_policy.npz"


def _trained_runs(workdir: Path) -> list[Path]:
    """Policies exported by ``simlab drive train`` next to the demo's run folder or in ./runs."""
    parents = workdir.resolve().parents
    roots = {Path("runs").resolve(), *(parents[1:2])}  # runs/demo-<time>/drive -> runs/
    found = [p for r in roots if r.is_dir() for p in r.glob("drive-train-*/artefacts/policy.npz")]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def run_demo(report, workdir: Path) -> None:
    from simlab.drive.bench import bench_sim

    policy, which = _learning(report, workdir)
    _town(report, workdir, policy, which)
    runs = _trained_runs(workdir)
    if runs:
        report.text(
            f"A trained policy exists ({runs[-1]}). Evaluate it with "
            f"`simlab drive eval {runs[-1].parents[1]}`, or watch it with "
            f"`simlab drive render --policy {runs[-1].parents[1]}`."
        )
    else:
        report.text(
            "No trained run of yours was found in `runs/` (looked for `runs/drive-train-*/"
            "artefacts/policy.npz`). Train one with `simlab drive train --preset easy` and "
            "watch it with `simlab drive render --policy <run folder>`."
        )

    rec = bench_sim(worlds=256, agents=32, steps=8, with_obs=False, repeats=1)
    report.table(
        ["case", "worlds × slots", "steps", "compile (s)", "run (s)", "agent-steps/s",
         "driving-years/h"],
        [[rec["mode"], f"{rec['worlds']} × {rec['agents']}", rec["steps"], rec["compile_s"],
          round(rec["run_s"], 3), rec["agent_steps_per_s"], rec["driving_years_per_hour"]]],
    )  # fmt: skip
    report.text(
        "Simulator speed at a small size (uniform random actions, dynamics + events + resets, "
        "no observations), measured now on this machine; timings on a shared machine are "
        "pessimistic. The full benchmark (4096 × 32 and 256 × 150, with and without "
        "observations) is `simlab drive bench` (spec targets: 2 M agent-steps/s sim-only, "
        "0.5 M with observations)."
    )


def _town(report, workdir: Path, policy, which: str) -> None:
    """A learned policy driving every agent of a procedural town: events, last frame, GIF."""
    import matplotlib.pyplot as plt
    import numpy as np

    from simlab.drive.render import final_figure, load_driver, load_map, rollout, write_gif

    t0 = time.perf_counter()
    m = load_map("town", SEED)
    net, env_fields = load_driver(policy)
    traj = rollout(m, STEPS, AGENTS, SEED, policy=net, env_fields=env_fields)
    gif = write_gif(workdir / "town.gif", m, traj, every=2, driver="learned policy")
    render_s = time.perf_counter() - t0
    ev = {k: int(np.sum(v)) for k, v in traj["events"].items()}
    report.text(
        f"A seeded procedural grid town ({len(m.lane_len)} lanes, {len(m.s_a)} stop lines, "
        f"{len(m.junctions)} junction polygons) with {AGENTS} agent slots, rolled out for "
        f"{STEPS} steps of 0.3 s, every agent driven by {which} (greedy actions). Boxes are "
        "coloured by each agent's conditioning (α_collision), stop lines by their light "
        f"state; events are marked. Events in this rollout: {ev['collision']} collisions, "
        f"{ev['offroad']} off-road, {ev['red_light']} red-light violations, "
        f"{ev['waypoint']} waypoints and {ev['goal']} final goals reached (this policy is far "
        "from the paper's: see `bench/drive`). Rollout + GIF took "
        f"{render_s:.1f} s (including compilation)."
    )
    fig = final_figure(m, traj)
    report.figure(fig, "drive_town", "Procedural town after the rollout, with all its events.")
    plt.close("all")
    report.image(gif, "The learned policy driving the town (one frame every 0.6 s).")


def _learning(report, workdir: Path):
    """A few training iterations of the easy preset. Returns (policy path, description) of
    the policy the town rollout shows: the packaged one when it ships, else this run's."""
    import json

    from simlab.drive.learn.config import load_drive_config
    from simlab.drive.learn.experiment import run_training

    t0 = time.perf_counter()
    overrides = (f"train.iterations={TRAIN_ITERATIONS}", "train.eval_every=0",
                 "train.checkpoint_every=1000")  # fmt: skip
    cfg = load_drive_config("easy", None, overrides)
    run, _ = run_training(cfg, workdir / "train", show_progress=False)
    train_s = time.perf_counter() - t0
    recs = [json.loads(line) for line in (run.path / "metrics.jsonl").read_text().splitlines()]
    recs = [r for r in recs if "loss" in r]
    keys = ("return_per_life", "goal_per_life", "collision_per_life", "offroad_per_life",
            "frac_filtered", "explained_var", "agent_steps_per_s")  # fmt: skip
    report.text(
        f"Self-play PPO, {TRAIN_ITERATIONS} iterations of the `easy` preset ({cfg.worlds} "
        f"worlds × up to {cfg.env.n_agents} agents × {cfg.train.rollout} steps per iteration, "
        f"advantage filtering on): {train_s:.0f} s including compilation. Four iterations "
        "show the loop end to end; they do not make a driver (see the learned policy below "
        "and `bench/drive/learn_curve.py` for a learning curve)."
    )
    report.table(["iteration", *keys], [[r["step"], *(r.get(k) for k in keys)] for r in recs])

    if not PRETRAINED.exists():
        return run.artefacts / "policy", "the short run above (barely trained)"
    meta = json.loads(PRETRAINED.with_suffix(".json").read_text()).get("meta", {})
    return PRETRAINED, (
        f"the packaged `easy` policy ({meta.get('agent_steps', 0) / 1e6:.1f} M training "
        f"agent-steps; reproduce: `{meta.get('command', '?')}`)"
    )
