"""`simlab demo` section for simlab.drive: a rendered procedural town and a small speed table.

Runs in well under a minute on 2 cores: one 40-step rollout of a procedural grid town (PNG
of the last frame, GIF of the rollout) and one simulator throughput measurement at a small
size. The agents are driven by the renderer's hand-written lane-keeping controller; no
learned policy is shown (the text says whether a trained run exists and how to evaluate it).
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = ["run_demo"]

STEPS, AGENTS, SEED = 40, 24, 0


def _trained_runs(workdir: Path) -> list[Path]:
    """Policies exported by ``simlab drive train`` next to the demo's run folder or in ./runs."""
    parents = workdir.resolve().parents
    roots = {Path("runs").resolve(), *(parents[1:2])}  # runs/demo-<time>/drive -> runs/
    found = [p for r in roots if r.is_dir() for p in r.glob("drive-train-*/artefacts/policy.npz")]
    return sorted(found, key=lambda p: p.stat().st_mtime)


def run_demo(report, workdir: Path) -> None:
    import matplotlib.pyplot as plt
    import numpy as np

    from simlab.drive.bench import bench_sim
    from simlab.drive.render import final_figure, load_map, rollout, write_gif

    t0 = time.perf_counter()
    m = load_map("town", SEED)
    traj = rollout(m, STEPS, AGENTS, SEED)
    gif = write_gif(workdir / "town.gif", m, traj, every=2)
    render_s = time.perf_counter() - t0
    ev = {k: int(np.sum(v)) for k, v in traj["events"].items()}
    report.text(
        f"A seeded procedural grid town ({len(m.lane_len)} lanes, {len(m.s_a)} stop lines, "
        f"{len(m.junctions)} junction polygons) with {AGENTS} agent slots, rolled out for "
        f"{STEPS} steps of 0.3 s. **The agents are driven by a hand-written lane-keeping "
        "controller (lane-centre and heading feedback, half the speed limit), not by a learned "
        "policy**: it ignores traffic lights and other agents, so the red-light violations and "
        "collisions below are expected. Boxes are coloured by each agent's conditioning "
        "(α_collision), stop lines by their light state; events are marked. "
        f"Events in this rollout: {ev['collision']} collisions, {ev['offroad']} off-road, "
        f"{ev['red_light']} red-light violations, {ev['waypoint']} waypoints and "
        f"{ev['goal']} final goals reached. Rollout + GIF took {render_s:.1f} s (including "
        "compilation)."
    )
    runs = _trained_runs(workdir)
    if runs:
        report.text(
            f"A trained policy exists ({runs[-1]}); this demo does not drive it. Evaluate it with "
            f"`simlab drive eval {runs[-1].parents[1]}`."
        )
    else:
        report.text(
            "No trained checkpoint was found (looked for `runs/drive-train-*/artefacts/"
            "policy.npz`), so no learned driving is shown. Train one with "
            "`simlab drive train --preset cpu`."
        )
    fig = final_figure(m, traj)
    report.figure(fig, "drive_town", "Procedural town after the rollout, with all its events.")
    plt.close("all")
    report.image(gif, "Rollout of the town (one frame every 0.6 s of simulated time).")

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
