"""Learning curves of a `simlab drive train` run: PNG in the run's artefacts, JSON summary.

    python bench/drive/plot_run.py RUN_FOLDER [--window 10]

Plots return per life, goal / collision / off-road rates per life, fraction filtered and
agent-steps/s against training agent-steps (moving average over ``--window`` iterations),
with the periodic held-out evaluations as markers. Prints the first and last window's means.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simlab.core.run import read_metrics

    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--window", type=int, default=10)
    args = ap.parse_args()
    recs = read_metrics(args.run / "metrics.jsonl")
    train = [r for r in recs if "loss" in r]
    evals = [r for r in recs if "eval/km" in r]
    steps = np.array([r["total_agent_steps"] for r in train])
    at_step = {r["step"]: r["total_agent_steps"] for r in train}
    keys = ["return_per_life", "goal_per_life", "collision_per_life", "offroad_per_life",
            "frac_filtered", "agent_steps_per_s"]  # fmt: skip
    w = max(1, min(args.window, len(train)))
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    summary = {"iterations": len(train), "agent_steps": float(steps[-1]) if len(steps) else 0}
    for ax, key in zip(axes.flat, keys):
        y = np.array([np.nan if r.get(key) is None else r[key] for r in train], float)
        smooth = np.convolve(np.nan_to_num(y), np.ones(w) / w, mode="valid")
        ax.plot(steps, y, alpha=0.3)
        ax.plot(steps[w - 1 :], smooth)
        ev = [(at_step[r["step"]], r.get(f"eval/{key}")) for r in evals if r["step"] in at_step]
        ev = [(s, v) for s, v in ev if v is not None]
        if ev:
            ax.plot(*zip(*ev), "o", label="held-out eval")
            ax.legend()
        ax.set_title(key)
        ax.set_xlabel("agent-steps")
        summary[key] = {"first": float(np.nanmean(y[:w])), "last": float(np.nanmean(y[-w:]))}
    fig.tight_layout()
    out = args.run / "artefacts" / "learning_curves.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=90)
    summary["figure"] = str(out)
    summary["evals"] = [{k: r[k] for k in r if k == "step" or k.startswith("eval/")} for r in evals]
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
