"""Training and evaluation runs on the simulator: what ``simlab drive train|eval`` call.

* ``run_training(cfg, out)`` makes a run folder (or resumes one) and trains on procedural maps
  with periodic evaluation on held-out procedural maps (``maps.eval_seed``); the final
  policy is also exported to ``artefacts/policy.npz|json`` (``interface.DrivingPolicy``).
* ``load_policy(run)`` restores the newest checkpoint's policy.
* ``run_eval(run, ...)`` evaluates it on held-out maps, in the standard or long-form mode,
  and writes ``artefacts/eval-<mode>.json``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import jax

from simlab.core.errors import DataError
from simlab.core.run import RunDir
from simlab.drive.learn.config import DriveConfig, longform_env
from simlab.drive.learn.evaluate import evaluate
from simlab.drive.learn.interface import export_policy
from simlab.drive.learn.simenv import SimEnv, procedural_bank
from simlab.drive.learn.train import Trainer, TrainState, train

__all__ = ["eval_env", "load_policy", "policy_meta", "run_eval", "run_training", "train_env"]


def train_env(cfg: DriveConfig) -> SimEnv:
    bank = procedural_bank(cfg.maps.seed, cfg.maps.procedural, cfg.maps.lane_row_step)
    return SimEnv(bank, cfg.env, cfg.worlds, cfg.progress_reward, cfg.idle_penalty)


def eval_env(cfg: DriveConfig, mode: str | None = None, worlds: int | None = None) -> SimEnv:
    """Held-out procedural maps; deterministic observations (no dropout)."""
    mode = mode or cfg.eval.mode
    bank = procedural_bank(cfg.maps.eval_seed, cfg.maps.procedural, cfg.maps.lane_row_step)
    env_cfg = dataclasses.replace(cfg.env, training=False)
    if mode == "longform":
        env_cfg = longform_env(cfg.env)
    return SimEnv(bank, env_cfg, worlds or cfg.eval.worlds, cfg.progress_reward, cfg.idle_penalty)


def run_training(
    cfg: DriveConfig, out: Path, resume: Path | None = None, show_progress: bool = True
) -> tuple[RunDir, TrainState]:
    """Train (or resume the run folder ``resume``); returns the run and the final state."""
    run = RunDir.open(resume) if resume is not None else RunDir.create(out, "drive-train", cfg)
    env = train_env(cfg)
    held_out = eval_env(cfg, "standard") if cfg.train.eval_every else None

    def periodic(policy, iteration):
        # The same scenarios at every evaluation (and in `simlab drive eval`): comparable.
        return evaluate(policy, held_out, jax.random.PRNGKey(cfg.eval.seed), cfg.eval.steps)

    ts = train(
        cfg.train, env, run, resume=resume is not None, evaluate=periodic,
        show_progress=show_progress,
    )  # fmt: skip
    # Framework-neutral copy of the final policy (simlab.drive.learn.interface).
    export_policy(ts.policy, run.artefacts / "policy", cfg.env.dt, policy_meta(cfg, ts))
    return run, ts


def policy_meta(cfg: DriveConfig, ts: TrainState) -> dict:
    """The meta an exported policy carries: its iteration and the simulator settings
    (observation counts, goal rules, maps, learner-side shaping), so a renderer or evaluator
    can rebuild the world the policy was trained in."""
    return {
        "iteration": int(ts.iteration),
        "env": dataclasses.asdict(cfg.env),
        "maps": dataclasses.asdict(cfg.maps),
        "progress_reward": cfg.progress_reward,
        "idle_penalty": cfg.idle_penalty,
    }


def load_policy(run: RunDir, cfg: DriveConfig):
    """The policy of the newest checkpoint in ``run``."""
    ckpt = run.checkpointer()
    if ckpt.latest() is None:
        raise DataError(f"run folder {run.path}: no checkpoint to evaluate")
    trainer = Trainer(cfg.train, train_env(cfg))
    like = jax.device_get(trainer.init())
    ts, _, _ = ckpt.restore(like=like)
    return jax.tree_util.tree_map(jax.numpy.asarray, ts.policy)


def run_eval(
    run_path: Path,
    cfg: DriveConfig,
    mode: str = "standard",
    worlds: int | None = None,
    steps: int | None = None,
    show_progress: bool = True,
    greedy: bool = True,
) -> dict[str, float]:
    """Evaluate the run's newest policy on held-out maps; writes artefacts/eval-<mode>.json
    (greedy actions) or artefacts/eval-<mode>-sampled.json (actions sampled from π)."""
    run = RunDir.open(run_path)
    policy = load_policy(run, cfg)
    env = eval_env(cfg, mode, worlds)
    steps = steps or (env.cfg.max_steps if mode == "longform" else cfg.eval.steps)
    rec = evaluate(policy, env, jax.random.PRNGKey(cfg.eval.seed), steps, greedy=greedy,
                   show_progress=show_progress)  # fmt: skip
    rec = {"mode": mode, "worlds": env.num_worlds, "steps": steps, "greedy": greedy, **rec}
    path = run.artefacts / f"eval-{mode}{'' if greedy else '-sampled'}.json"
    path.write_text(json.dumps(rec, indent=2, default=float) + "\n")
    return rec
