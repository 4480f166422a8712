"""Algorithm 1 (spec §3.5): iterations of collect + LOOP update, dev evaluation, checkpoints.

Environments: ``"toy"`` (the scripted two-turn game of ``toy.py``) or ``"world"`` (the API world
through ``world.WorldEnv``; training tasks of difficulty ≤ ``max_train_difficulty``).
"""

from __future__ import annotations

import dataclasses
import random
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from simlab.agents.rl.loop import LoopConfig
from simlab.agents.rl.rollout import RolloutConfig

__all__ = ["TrainConfig", "evaluate", "loop_iteration", "make_source", "train"]


@dataclass(frozen=True)
class TrainConfig:
    model: str = "tiny-random"
    lora: bool = True
    seed: int = 0
    env: Literal["toy", "world"] = "toy"
    iterations: int = 10
    tasks_per_iteration: int = 6
    max_train_difficulty: int = 2
    toy_choices: int = 2
    toy_tasks: int = 32
    eval_every: int = 2
    eval_rollouts: int = 2  # per dev task, T = 0 (spec: 2 rollouts, greedy)
    eval_max_tasks: int = 0  # 0 = all dev tasks
    max_output_tokens: int = 384
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    loop: LoopConfig = field(default_factory=LoopConfig)


class _Source:
    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg
        if cfg.env == "toy":
            from simlab.agents.rl.toy import toy_tasks

            n = cfg.toy_tasks
            self.splits = {
                "train": toy_tasks(n, cfg.toy_choices),
                "dev": toy_tasks(max(2, n // 4), cfg.toy_choices, offset=n),
                "test_normal": toy_tasks(max(2, n // 4), cfg.toy_choices, offset=2 * n),
            }
        else:
            from simlab.agents.rl.world import world_tasks

            self.splits = {}
            self._world_tasks = world_tasks

    def tasks(self, split: str) -> list[Any]:
        if split not in self.splits:
            if self.cfg.env != "world":
                raise ValueError(f"unknown split {split!r}")
            limit = self.cfg.max_train_difficulty if split == "train" else 3
            self.splits[split] = self._world_tasks(split, self.cfg.seed, limit)
        return self.splits[split]

    def make_env(self, max_turns: int):
        if self.cfg.env == "toy":
            from simlab.agents.rl.toy import ToyEnv

            return lambda: ToyEnv(self.cfg.toy_choices)
        from simlab.agents.rl.world import WorldEnv

        return lambda: WorldEnv(max_turns=max_turns, max_output_tokens=self.cfg.max_output_tokens)

    def scenario(self, task: Any) -> str:
        return str(getattr(getattr(task, "scenario", None), "name", id(task)))


def make_source(cfg: TrainConfig) -> _Source:
    return _Source(cfg)


def loop_iteration(
    policy, learner, tasks, make_env, rollout_cfg: RolloutConfig, generator, iteration: int = 0
):
    """One iteration of Algorithm 1: K rollouts per task from the current policy, leave-one-out
    advantages, the update. Returns (rollouts, CollectStats, update metrics)."""
    from simlab.agents.rl.loop import assign_advantages
    from simlab.agents.rl.rollout import collect

    rs, stats = collect(policy, tasks, make_env, rollout_cfg, generator)
    assign_advantages(rs, learner.cfg)
    return rs, stats, learner.update(rs, iteration)


def evaluate(
    policy,
    source: _Source,
    split: str,
    cfg: TrainConfig,
    runs: int,
    temperature: float,
    seed: int,
    max_tasks: int = 0,
) -> dict[str, float]:
    """TGC and SGC (percent) on ``split``: mean ± std over ``runs`` runs of one rollout per task,
    mean reward, and the behavioural metrics of ``metrics.behaviour`` over all rollouts (keys
    prefixed ``b_``; ``b_give_up_rate`` is NaN when no API call failed)."""
    import torch

    from simlab.agents.rl.metrics import behaviour, episode_turns
    from simlab.agents.rl.rollout import collect

    tasks = source.tasks(split)
    if max_tasks:
        tasks = tasks[:max_tasks]
    rc = dataclasses.replace(cfg.rollout, k=runs, temperature=temperature, early_stop=False)
    gen = torch.Generator().manual_seed(seed)
    rs, _ = collect(policy, tasks, source.make_env(rc.max_turns), rc, gen)
    tgc, sgc, rew = [], [], []
    for run in range(runs):
        mine = [r for i, r in enumerate(rs) if i % runs == run]
        tgc.append(100.0 * sum(r.success for r in mine) / max(1, len(mine)))
        by: dict[str, list[bool]] = {}
        for r in mine:
            by.setdefault(source.scenario(r.task), []).append(r.success)
        sgc.append(100.0 * sum(all(v) for v in by.values()) / max(1, len(by)))
        rew.append(sum(r.reward for r in mine) / max(1, len(mine)))

    def sd(x):
        return statistics.pstdev(x) if len(x) > 1 else 0.0

    beh = behaviour([episode_turns(r.messages, r.responses) for r in rs])
    return {
        "tgc": statistics.mean(tgc),
        "tgc_std": sd(tgc),
        "sgc": statistics.mean(sgc),
        "sgc_std": sd(sgc),
        "reward": statistics.mean(rew),
        "tasks": float(len(tasks)),
        **{f"b_{k}": float("nan") if v is None else float(v) for k, v in beh.items()},
    }


def train(cfg: TrainConfig, run_dir: Path, resume: bool = False, progress: bool = True) -> dict:
    """Run Algorithm 1 into ``run_dir`` (a ``simlab.core.run.RunDir`` path); returns a summary.

    Checkpoints (trainable weights, AdamW state, RNG states, iteration) after every iteration;
    ``best.pt`` holds the best-dev weights. ``resume`` continues from the newest checkpoint.
    """
    import torch

    from simlab.agents.rl.loop import Learner
    from simlab.agents.rl.models import load_policy
    from simlab.core.checkpoint import Checkpointer, save_torch
    from simlab.core.progress import ProgressBar
    from simlab.core.run import Metrics

    torch.manual_seed(cfg.seed)
    policy = load_policy(cfg.model, lora=cfg.lora, seed=cfg.seed)
    learner = Learner(policy, cfg.loop, temperature=cfg.rollout.temperature, seed=cfg.seed)
    source = make_source(cfg)
    train_tasks = source.tasks("train")
    ckpt = Checkpointer(run_dir / "checkpoints", keep=2, torch=True)
    start, best = 0, -1.0
    rng = random.Random(cfg.seed)
    gen = torch.Generator().manual_seed(cfg.seed + 17)
    if resume and (found := ckpt.restore()) is not None:
        state, start, meta = found
        learner.load_state_dict(state["learner"])
        gen.set_state(state["gen"])
        rng.setstate(_tuple(meta["rng"]))
        best = meta["best"]
    summary: dict[str, Any] = {}
    with (
        Metrics(run_dir, resume_step=start if resume else None) as metrics,
        ProgressBar(cfg.iterations, "LOOP", unit="iter", start=start, disable=not progress) as bar,
    ):
        for it in range(start, cfg.iterations):
            tasks = rng.sample(train_tasks, min(cfg.tasks_per_iteration, len(train_tasks)))
            make_env = source.make_env(cfg.rollout.max_turns)
            rs, st, m = loop_iteration(policy, learner, tasks, make_env, cfg.rollout, gen, it)
            rec = {
                "train_reward": sum(r.reward for r in rs) / max(1, len(rs)),
                "train_success": sum(r.success for r in rs) / max(1, len(rs)),
                "rollouts": float(len(rs)),
                "dropped_frac": st.dropped / max(1, st.started),
                "gen_tokens_per_s": st.generated_tokens / max(st.seconds, 1e-9),
                "collect_seconds": st.seconds,
                **{k: v for k, v in m.items()},
            }
            if cfg.eval_every and ((it + 1) % cfg.eval_every == 0 or it + 1 == cfg.iterations):
                ev = evaluate(
                    policy, source, "dev", cfg, cfg.eval_rollouts, 0.0, cfg.seed, cfg.eval_max_tasks
                )
                rec.update({f"dev_{k}": v for k, v in ev.items()})
                if ev["tgc"] + 1e-3 * ev["reward"] > best:
                    best = ev["tgc"] + 1e-3 * ev["reward"]
                    save_torch(run_dir / "best.pt", policy.trainable_state(), it + 1)
            metrics.log(it + 1, **rec)
            meta = {"rng": _jsonable(rng.getstate()), "best": best}
            ckpt.save(it + 1, {"learner": learner.state_dict(), "gen": gen.get_state()}, meta)
            bar.update(1, reward=f"{rec['train_reward']:.2f}")
            summary = rec
    return summary


def _jsonable(state):
    return [state[0], list(state[1]), state[2]]


def _tuple(state):
    return (state[0], tuple(state[1]), state[2])
