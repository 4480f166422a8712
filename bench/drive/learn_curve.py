"""A reproducible self-play learning curve on CPU: train, evaluate before and after, plot.

    nice -n 10 python bench/drive/learn_curve.py [--preset easy] [--set key=value ...]
                                                 [--out runs/learn_curve] [--save-policy P]

Trains ``simlab drive train --preset <preset>`` (default ``easy``, see
``simlab.drive.learn.config``) in a new run folder under ``--out``, with the periodic
held-out evaluations of the preset. Before training, the initial policy (same seed, so the
very network training starts from) is evaluated with the same function and settings
(``artefacts/eval-initial.json``); after training, the final policy is evaluated greedily and
with sampled actions. Writes ``artefacts/learning_curves.png`` (``plot_run.py``) and prints
one JSON object: wall time, agent-steps, first/last training windows, the evaluations.
``--save-policy P`` also writes the final policy to ``P.npz``/``P.json`` with this command
line, the agent-steps and the held-out evaluation in its meta (how the packaged demo policy
``simlab/drive/learn/pretrained/easy_policy`` is made).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

EVAL_KEYS = ("goal_per_life", "waypoint_per_life", "collision_per_life", "offroad_per_life",
             "red_light_per_life", "timeout_per_life", "return_per_life", "lives", "km",
             "collision_per_km", "offroad_per_km", "km_between_incidents", "mean_speed",
             "comfort_share", "episodes", "episode_goal", "episode_collision",
             "episode_offroad", "episode_timeout")  # fmt: skip


def main() -> None:
    import jax
    from plot_run import plot_run

    from simlab.drive.learn.config import load_drive_config
    from simlab.drive.learn.evaluate import evaluate
    from simlab.drive.learn.experiment import eval_env, run_training, train_env
    from simlab.drive.learn.train import Trainer

    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="easy")
    ap.add_argument("--set", action="append", default=[])
    ap.add_argument("--out", type=Path, default=Path("runs/learn_curve"))
    ap.add_argument("--no-progress", action="store_true")
    ap.add_argument("--save-policy", type=Path, default=None)
    args = ap.parse_args()
    cfg = load_drive_config(args.preset, None, tuple(args.set))
    held_out = eval_env(cfg, "standard")
    key = jax.random.PRNGKey(cfg.eval.seed)

    def ev(policy, greedy=True):
        rec = evaluate(policy, held_out, key, cfg.eval.steps, greedy=greedy)
        return {k: float(rec[k]) for k in EVAL_KEYS if k in rec}

    t0 = time.perf_counter()
    initial = Trainer(cfg.train, train_env(cfg)).init().policy
    before = {"greedy": ev(initial), "sampled": ev(initial, greedy=False)}
    run, ts = run_training(cfg, args.out, show_progress=not args.no_progress)
    (run.artefacts / "eval-initial.json").write_text(json.dumps(before["greedy"], indent=1))
    after = {"greedy": ev(ts.policy), "sampled": ev(ts.policy, greedy=False)}
    wall = time.perf_counter() - t0
    summary = plot_run(run.path, window=10)
    out = {
        "preset": args.preset,
        "overrides": args.set,
        "run": str(run.path),
        "wall_s": wall,
        "loadavg_end": os.getloadavg(),
        "eval_worlds": held_out.num_worlds,
        "eval_steps": cfg.eval.steps,
        "initial_policy": before,
        "final_policy": after,
        "training": summary,
    }
    (run.artefacts / "learn_curve.json").write_text(json.dumps(out, indent=1, default=float))
    if args.save_policy is not None:
        from simlab.drive.learn.experiment import policy_meta
        from simlab.drive.learn.interface import export_policy

        meta = {
            "command": "nice -n 10 .venv/bin/python bench/drive/learn_curve.py "
            + " ".join(f"--preset {args.preset}".split() + [f"--set {o}" for o in args.set]),
            "agent_steps": summary["agent_steps"],
            "held_out_greedy": after["greedy"],
            **policy_meta(cfg, ts),
        }
        args.save_policy.parent.mkdir(parents=True, exist_ok=True)
        export_policy(ts.policy, args.save_policy, cfg.env.dt, meta)
        out["saved_policy"] = str(args.save_policy.with_suffix(".npz"))
    print(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
