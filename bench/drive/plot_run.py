"""Learning curves of a `simlab drive train` run: PNG in the run's artefacts, JSON summary.

    python bench/drive/plot_run.py RUN_FOLDER [--window 10]

Plots return per life, goal / collision / off-road / timeout rates per life, entropy,
fraction filtered and agent-steps/s against training agent-steps (moving average over
``--window`` iterations), with the periodic held-out evaluations as markers (and
``eval-initial.json`` in the run's artefacts, when present, at 0 agent-steps). Prints the
first and last window's values.

Per-life quantities are averaged over a window as ratios of sums (Σ rate·lives / Σ lives):
lives end unevenly across iterations (an iteration holding many worlds' episode ends counts
hundreds of timeouts, the next a few dozen lives), so a plain mean of per-iteration rates
over-weights the iterations with few lives (for session 7's run B: goals per life 0.33
plain vs 0.16 per life, timeouts 0.10 vs 0.57).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

KEYS = ("return_per_life", "goal_per_life", "collision_per_life", "offroad_per_life",
        "timeout_per_life", "entropy", "frac_filtered", "agent_steps_per_s")  # fmt: skip


def window_mean(train: list[dict], key: str, w: int) -> np.ndarray:
    """Moving average of ``key`` over ``w`` iterations; per-life keys weighted by lives."""
    y = np.array([np.nan if r.get(key) is None else r[key] for r in train], float)
    wt = np.array([r.get("lives", 1.0) if key.endswith("_per_life") else 1.0 for r in train])
    ok = np.isfinite(y)
    box = np.ones(w)
    num = np.convolve(np.where(ok, y * wt, 0.0), box, mode="valid")
    den = np.convolve(np.where(ok, wt, 0.0), box, mode="valid")
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def plot_run(run: Path, window: int = 10) -> dict:
    """Write ``run/artefacts/learning_curves.png``; return the summary dict."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from simlab.core.run import read_metrics

    recs = read_metrics(run / "metrics.jsonl")
    train = [r for r in recs if "loss" in r]
    evals = [r for r in recs if "eval/km" in r]
    initial = run / "artefacts" / "eval-initial.json"
    if initial.exists():
        first = json.loads(initial.read_text())
        evals = [{"step": 0, **{f"eval/{k}": v for k, v in first.items()}}, *evals]
    steps = np.array([r["total_agent_steps"] for r in train])
    at_step = {0: 0.0, **{r["step"]: r["total_agent_steps"] for r in train}}
    w = max(1, min(window, len(train)))
    fig, axes = plt.subplots(2, 4, figsize=(17, 7))
    summary = {"iterations": len(train), "agent_steps": float(steps[-1]) if len(steps) else 0}
    for ax, key in zip(axes.flat, KEYS):
        y = np.array([np.nan if r.get(key) is None else r[key] for r in train], float)
        smooth = window_mean(train, key, w)
        ax.plot(steps, y, alpha=0.3, label="training (sampled actions)")
        ax.plot(steps[w - 1 :], smooth)
        ev = [(at_step[r["step"]], r.get(f"eval/{key}")) for r in evals if r["step"] in at_step]
        ev = [(s, v) for s, v in ev if v is not None]
        if ev:
            ax.plot(*zip(*ev), "o-", label="held-out eval (greedy)")
            ax.legend(fontsize=7)
        ax.set_title(key)
        ax.set_xlabel("agent-steps")
        summary[key] = {"first": float(smooth[0]), "last": float(smooth[-1])}
    fig.tight_layout()
    out = run / "artefacts" / "learning_curves.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    summary["figure"] = str(out)
    summary["evals"] = [{k: r[k] for k in r if k == "step" or k.startswith("eval/")} for r in evals]
    return summary


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--window", type=int, default=10)
    args = ap.parse_args()
    print(json.dumps(plot_run(args.run, args.window), indent=1, default=float))


if __name__ == "__main__":
    main()
