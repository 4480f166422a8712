"""Throughput of our LOOP against TRL's GRPOTrainer configured to approximate LOOP (issue 9).

    nice -n 10 .venv/bin/python bench/agents/bench_trl.py --out runs/trl-vs-loop/result.json \
        --stop-at 10:55

Both sides play the same multi-turn episodes of OUR API world (simlab.agents.rl.world.WorldEnv,
difficulty-1 train tasks drawn once with a fixed seed), same prompt rendering (system prompt
with the worked example + task context, ChatML per message), K generations per task at T = 1,
the same new tokens per turn and turn limit, SmolLM2-135M-Instruct in fp32 with LoRA r = 16
(alpha 32, dropout 0, the same seeded adapters), one torch thread. Each side runs in its own
subprocess (so peak RSS is per side), one after the other:

* ``ours``: ``simlab.agents.rl.rollout.collect`` (one KV cache per batch reused across turns,
  LoRA merged while sampling) and ``simlab.agents.rl.loop.Learner.update`` (old log-probs
  recomputed, then ``epochs`` passes of minibatches of M trajectories).
* ``trl``: ``trl.GRPOTrainer`` with a ``rollout_func`` that drives the same world turn by turn
  through TRL's own transformers generation path (``GRPOTrainer._generate_single_turn``: a
  left-padded ``generate`` over the whole history each turn, as TRL's tool loop does) and
  returns ``env_mask`` so observation tokens are context only; the reward is the world's.
  Configuration approximating LOOP: ``beta=0`` (no reference model), ``scale_rewards="none"``,
  clip range [1/(1+ε), 1+ε] via ``epsilon=1-1/(1+ε)``, ``epsilon_high=ε``,
  ``importance_sampling_level="token"``, ``num_iterations`` = our epochs,
  ``loss_type="grpo"`` (per-trajectory token mean, then mean over the micro-batch, divided by
  the accumulation steps = LOOP's per-trajectory loss / M with one trajectory per micro-batch),
  constant lr, AdamW with our weight decay, grad-norm clip 1.0, no gradient checkpointing, fp32.
  LOOP's leave-one-out advantage ``K/(K-1)(R - mean R)`` is obtained exactly by
  ``reward_weights=[K/(K-1)]`` (TRL then subtracts the group mean).

Rewards used for the advantages: by default the world's reward plus a fixed offset
``0.25·(k mod 2)`` for the k-th rollout of a task (``--reward world+alt``), on both sides, so
that no group ties and both sides train on every rollout (LOOP drops |A| < 0.01 before its
update, TRL would still forward/backward zero-advantage rollouts; on this model the world's
rewards tie in every group, see NOTES.md). ``--reward world`` uses the world's reward alone.
The world's rewards are reported in either case.

Per side, per iteration: generated tokens/s in rollouts (sampled tokens, all rows / rollout
wall seconds), trained tokens/s in the update (real sequence tokens forwarded + backwarded over
all epochs / update wall seconds, the old-log-prob pass included in the seconds), wall seconds
per iteration, process CPU seconds beside wall (self, and the world's sandbox children), peak
RSS, and the model's parameter bytes. Iteration 0 is a warm-up and excluded from the means.
The box is shared: the 1-minute load average is recorded at each iteration.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run_smollm2 import stop_time  # the same UTC HH:MM deadline

# ----------------------------------------------------------------------------- helpers


def cpu_now() -> tuple[float, float]:
    """(this process's CPU seconds, CPU seconds of its reaped children: the sandboxes)."""
    s = resource.getrusage(resource.RUSAGE_SELF)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime, c.ru_utime + c.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def train_rewards(world: list[float], mode: str) -> list[float]:
    """Rewards of one task's K rollouts (in row order) used for the advantages."""
    if mode == "world":
        return list(world)
    if mode == "world+alt":
        return [r + 0.25 * (k % 2) for k, r in enumerate(world)]
    raise ValueError(f"unknown --reward {mode!r} (valid: world, world+alt)")


def setup(args):
    """Threads, the policy (LoRA, seeded), the env factory and the iteration's tasks."""
    import random

    import torch

    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.world import WorldEnv, world_tasks

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    t = time.perf_counter()
    policy = load_policy(args.model, lora=True, seed=args.seed)
    load_s = time.perf_counter() - t
    tok = policy.chat.tokenizer

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False))

    def make_env():
        return WorldEnv(
            max_turns=args.max_turns, max_output_tokens=args.max_output_tokens, count_tokens=count
        )

    pool = world_tasks("train", seed=0, max_difficulty=1)
    rng = random.Random(args.seed + 1)
    tasks = rng.sample(pool, args.iterations * args.tasks_per_iter)
    per_iter = [
        tasks[i * args.tasks_per_iter : (i + 1) * args.tasks_per_iter]
        for i in range(args.iterations)
    ]
    info = {
        "load_seconds": load_s,
        "model_params": sum(p.numel() for p in policy.model.parameters()),
        "model_param_mb": sum(p.numel() * p.element_size() for p in policy.model.parameters())
        / 2**20,
        "trainable_params": sum(p.numel() for p in policy.trainable_parameters()),
        "threads": torch.get_num_threads(),
    }
    return policy, make_env, per_iter, info


def summary(iters: list[dict]) -> dict:
    """Means over the measured iterations (all but the warm-up iteration 0)."""
    meas = [r for r in iters if r["iteration"] > 0]
    out: dict = {"measured_iterations": len(meas)}
    if not meas:
        return out
    tot = {k: sum(r[k] for r in meas) for k in meas[0] if isinstance(meas[0][k], (int, float))}
    out.update(
        {
            "gen_tokens_per_s": tot["gen_tokens"] / tot["rollout_s"],
            "gen_tokens_per_rollout_cpu_s": tot["gen_tokens"] / tot["rollout_cpu_s"],
            "trained_tokens_per_s": tot["trained_tokens"] / tot["update_s"],
            "trained_tokens_per_update_cpu_s": tot["trained_tokens"] / tot["update_cpu_s"],
            "wall_s_per_iteration": tot["wall_s"] / len(meas),
            "cpu_s_per_iteration": tot["cpu_s"] / len(meas),
            "rollout_s_per_iteration": tot["rollout_s"] / len(meas),
            "update_s_per_iteration": tot["update_s"] / len(meas),
            "gen_tokens_per_iteration": tot["gen_tokens"] / len(meas),
            "trained_tokens_per_iteration": tot["trained_tokens"] / len(meas),
            "loadavg_1min_mean": tot["loadavg_1min"] / len(meas),
        }
    )
    return out


# ----------------------------------------------------------------------------- ours


def run_ours(args, deadline: float) -> dict:
    import torch

    from simlab.agents.rl.loop import Learner, LoopConfig, assign_advantages
    from simlab.agents.rl.rollout import RolloutConfig, collect

    policy, make_env, per_iter, info = setup(args)
    rc = RolloutConfig(
        k=args.k,
        temperature=1.0,
        max_turns=args.max_turns,
        max_new_tokens=args.max_new_tokens,
        early_stop=False,  # TRL has none; every rollout is played to its end on both sides
        bf16=False,
    )
    cfg = LoopConfig(
        lr=args.lr,
        epochs=args.epochs,
        minibatch=args.minibatch,
        clip_eps=args.clip_eps,
        max_grad_norm=args.max_grad_norm,
        bf16=False,
    )
    learner = Learner(policy, cfg, temperature=1.0, seed=args.seed)
    gen = torch.Generator().manual_seed(args.seed + 17)
    iters: list[dict] = []
    for it, tasks in enumerate(per_iter):
        if iters and time.time() + 1.2 * iters[-1]["wall_s"] > deadline:
            info["stopped_by_deadline"] = True
            break
        w0, (c0, k0) = time.perf_counter(), cpu_now()
        rs, st = collect(policy, tasks, make_env, rc, gen)
        w1, (c1, k1) = time.perf_counter(), cpu_now()
        world = [r.reward for r in rs]
        for g in sorted({r.group for r in rs}):
            grp = [r for r in rs if r.group == g]
            for r, x in zip(grp, train_rewards([r.reward for r in grp], args.reward)):
                r.reward = x
        assign_advantages(rs, cfg)
        m = learner.update(rs, it)
        w2, (c2, k2) = time.perf_counter(), cpu_now()
        kept = [r for r in rs if abs(r.advantage) >= cfg.adv_min]
        seq = sum(min(len(r.ids), cfg.max_seq_len) for r in kept)
        rec = {
            "iteration": it,
            "tasks": [t.id for t in tasks],
            "rollouts": len(rs),
            "world_rewards": [round(x, 4) for x in world],
            "turns_per_rollout": sum(len(r.turns) for r in rs) / max(1, len(rs)),
            "gen_tokens": st.generated_tokens,
            "prefill_tokens": st.prefill_tokens,
            "rollout_s": w1 - w0,
            "rollout_cpu_s": c1 - c0,
            "rollout_children_cpu_s": k1 - k0,
            "trained_rollouts": len(kept),
            "seq_tokens": seq,
            "llm_tokens": sum(r.n_llm for r in kept),
            "trained_tokens": seq * int(m.get("steps", 0) > 0) * cfg.epochs,
            "optimizer_steps": m.get("steps", 0.0),
            "update_s": w2 - w1,
            "update_cpu_s": c2 - c1,
            "wall_s": w2 - w0,
            "cpu_s": (c2 - c0) + (k2 - k0),
            "loss": m.get("loss"),
            "clip_frac": m.get("clip_frac"),
            "loadavg_1min": os.getloadavg()[0],
        }
        iters.append(rec)
        print(
            json.dumps({"side": "ours", **{k: v for k, v in rec.items() if k != "tasks"}}),
            flush=True,
        )
    return {**info, "iterations": iters, "peak_rss_mb": peak_rss_mb(), **summary(iters)}


# ----------------------------------------------------------------------------- TRL


def run_trl(args, deadline: float) -> dict:
    import tempfile

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    import trl
    from datasets import Dataset
    from transformers import TrainerCallback
    from trl import GRPOConfig, GRPOTrainer

    policy, make_env, per_iter, info = setup(args)
    info["trl_version"] = trl.__version__
    chat = policy.chat
    tok = chat.tokenizer
    tok.padding_side = "left"
    if tok.pad_token_id is None:
        tok.pad_token = tok.convert_ids_to_tokens(chat.pad_id)
    stop_set = set(chat.stop_ids)
    by_id = {t.id: t for tasks in per_iter for t in tasks}
    k = args.k
    rollout_log: list[dict] = []

    def rollout_func(prompts: list[str], trainer) -> dict:
        """Multi-turn episodes in our world; TRL's generation per turn over the whole history.

        ``prompts`` holds each task id ``num_generations`` times (TRL's RepeatSampler).
        """
        w0, (c0, k0) = time.perf_counter(), cpu_now()
        n = len(prompts)
        envs = [make_env() for _ in range(n)]
        prompt_ids, comp, mask, world = [], [[] for _ in range(n)], [[] for _ in range(n)], []
        gen_tokens = prefill_tokens = 0
        turns = [0] * n
        try:
            for env, p in zip(envs, prompts):
                ids = [
                    t for m in env.reset(by_id[p]) for t in chat.message(m["role"], m["content"])
                ]
                prompt_ids.append(ids + list(chat.assistant_prefix))
            world = [0.0] * n
            live = list(range(n))
            for turn in range(args.max_turns):
                batch = [prompt_ids[i] + comp[i] for i in live]
                prefill_tokens += sum(len(b) for b in batch)
                outs, _ = trainer._generate_single_turn(batch, None, {}, 1)
                nxt_live = []
                for i, toks in zip(live, outs):
                    toks = list(toks)
                    gen_tokens += len(toks)
                    turns[i] += 1
                    comp[i] += toks
                    mask[i] += [1] * len(toks)
                    sampled_stop = bool(toks) and toks[-1] in stop_set
                    text = chat.decode(toks[:-1] if sampled_stop else toks)
                    obs, reward, done = envs[i].step(text)
                    world[i] = float(reward)
                    if done or turn == args.max_turns - 1:
                        continue
                    ctx = ([] if sampled_stop else [chat.end_id]) + list(chat.newline)
                    ctx += chat.message("user", obs) + list(chat.assistant_prefix)
                    comp[i] += ctx
                    mask[i] += [0] * len(ctx)
                    nxt_live.append(i)
                live = nxt_live
                if not live:
                    break
        finally:
            for env in envs:
                env.close()
        used = []
        for g in range(0, n, k):
            used += train_rewards(world[g : g + k], args.reward)
        w1, (c1, k1) = time.perf_counter(), cpu_now()
        rollout_log.append(
            {
                "tasks": sorted(set(prompts)),
                "rollouts": n,
                "world_rewards": [round(x, 4) for x in world],
                "turns_per_rollout": sum(turns) / n,
                "gen_tokens": gen_tokens,
                "prefill_tokens": prefill_tokens,
                "rollout_s": w1 - w0,
                "rollout_cpu_s": c1 - c0,
                "rollout_children_cpu_s": k1 - k0,
                "seq_tokens": sum(len(p) + len(c) for p, c in zip(prompt_ids, comp)),
                "llm_tokens": sum(map(sum, mask)),
                "padded_seq_tokens": n * (max(map(len, prompt_ids)) + max(map(len, comp))),
                "t_start": w0,
                "cpu_start": c0 + k0,
            }
        )
        return {
            "prompt_ids": prompt_ids,
            "completion_ids": comp,
            "logprobs": None,
            "env_mask": mask,
            "train_reward": used,
        }

    def reward_fn(prompts, completions, train_reward, **kw) -> list[float]:
        return [float(x) for x in train_reward]

    steps_per_iter = args.epochs * (args.tasks_per_iter * k // args.minibatch)
    step_ends: list[tuple[float, float, float]] = []  # (wall, self+children CPU, loadavg)

    class Clock(TrainerCallback):
        def on_step_end(self, a, state, control, **kw):
            c, ch = cpu_now()
            step_ends.append((time.perf_counter(), c + ch, os.getloadavg()[0]))
            if len(step_ends) % steps_per_iter == 0:
                it = len(step_ends) // steps_per_iter - 1
                r = rollout_log[it]
                print(
                    json.dumps(
                        {
                            "side": "trl",
                            "iteration": it,
                            "wall_s": step_ends[-1][0] - r["t_start"],
                            "rollout_s": r["rollout_s"],
                            "gen_tokens": r["gen_tokens"],
                            "world_rewards": r["world_rewards"],
                        }
                    ),
                    flush=True,
                )
                wall = step_ends[-1][0] - r["t_start"]
                if time.time() + 1.2 * wall > deadline and it + 1 < len(per_iter):
                    info["stopped_by_deadline"] = True
                    control.should_training_stop = True
            return control

    eps = args.clip_eps
    out_dir = tempfile.mkdtemp(prefix="bench-trl-")
    cfg = GRPOConfig(
        output_dir=out_dir,
        report_to="none",
        save_strategy="no",
        logging_steps=1,
        disable_tqdm=True,
        use_cpu=True,
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        seed=args.seed,
        # Batch layout: one trajectory per micro-batch (LOOP: one unpadded forward per
        # trajectory), M micro-batches per optimizer step, the whole iteration's rollouts
        # generated at once and reused for num_iterations epochs.
        per_device_train_batch_size=1,
        gradient_accumulation_steps=args.minibatch,
        steps_per_generation=args.tasks_per_iter * k,
        num_generations=k,
        num_iterations=args.epochs,
        max_steps=args.iterations * steps_per_iter,
        shuffle_dataset=False,
        # Loss and advantages
        beta=0.0,
        scale_rewards="none",
        loss_type="grpo",
        importance_sampling_level="token",
        epsilon=1.0 - 1.0 / (1.0 + eps),
        epsilon_high=eps,
        reward_weights=[k / (k - 1)],
        # Optimiser
        learning_rate=args.lr,
        lr_scheduler_type="constant",
        warmup_steps=0,
        weight_decay=0.01,
        max_grad_norm=args.max_grad_norm,
        optim="adamw_torch",
        # Sampling: pure ancestral at T = 1, per-turn token budget
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        repetition_penalty=1.0,
        max_completion_length=args.max_turns * (args.max_new_tokens + args.max_output_tokens + 64),
        generation_kwargs={"max_new_tokens": args.max_new_tokens},
    )
    data = Dataset.from_dict({"prompt": [t.id for tasks in per_iter for t in tasks]})
    trainer = GRPOTrainer(
        model=policy.model,
        reward_funcs=reward_fn,
        args=cfg,
        train_dataset=data,
        processing_class=tok,
        rollout_func=rollout_func,
        callbacks=[Clock()],
    )
    trainer.train()
    iters = []
    for it, r in enumerate(rollout_log):
        ends = (
            step_ends[(it + 1) * steps_per_iter - 1]
            if len(step_ends) >= (it + 1) * steps_per_iter
            else None
        )
        if ends is None:
            break
        t_end, cpu_end, load = ends
        upd_s = t_end - r["t_start"] - r["rollout_s"]
        upd_cpu = cpu_end - r["cpu_start"] - r["rollout_cpu_s"] - r["rollout_children_cpu_s"]
        rec = {
            **{x: v for x, v in r.items() if x not in ("t_start", "cpu_start")},
            "iteration": it,
            "trained_rollouts": r["rollouts"],
            "trained_tokens": r["seq_tokens"] * args.epochs,
            "padded_trained_tokens": r["padded_seq_tokens"] * args.epochs,
            "optimizer_steps": steps_per_iter,
            "update_s": upd_s,
            "update_cpu_s": upd_cpu,
            "wall_s": t_end - r["t_start"],
            "cpu_s": cpu_end - r["cpu_start"],
            "loadavg_1min": load,
        }
        iters.append(rec)
    logs = [h for h in trainer.state.log_history if "loss" in h]
    info["trl_log_last"] = logs[-1] if logs else None
    return {**info, "iterations": iters, "peak_rss_mb": peak_rss_mb(), **summary(iters)}


# ----------------------------------------------------------------------------- main


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/trl-vs-loop/result.json")
    ap.add_argument("--side", choices=("both", "ours", "trl"), default="both")
    ap.add_argument("--order", default="ours,trl", help="order of the sides when --side both")
    ap.add_argument("--stop-at", default=None, help="UTC HH:MM by which everything must end")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--iterations", type=int, default=4, help="including one warm-up")
    ap.add_argument("--tasks-per-iter", type=int, default=1)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--max-turns", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=80)
    ap.add_argument("--max-output-tokens", type=int, default=256)
    ap.add_argument("--epochs", type=int, default=2, help="LOOP epochs = TRL num_iterations")
    ap.add_argument("--minibatch", type=int, default=4, help="M trajectories per optimizer step")
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--clip-eps", type=float, default=0.1)
    ap.add_argument("--max-grad-norm", type=float, default=1.0)
    ap.add_argument("--reward", choices=("world+alt", "world"), default="world+alt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    if (args.tasks_per_iter * args.k) % args.minibatch:
        raise SystemExit("bench_trl: tasks-per-iter * k must be a multiple of --minibatch")
    if args.k < 2:
        raise SystemExit("bench_trl: --k must be >= 2")
    deadline = stop_time(args.stop_at)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)

    if args.side != "both":
        res = (run_ours if args.side == "ours" else run_trl)(args, deadline)
        res["config"] = vars(args)
        out.write_text(json.dumps(res, indent=1))
        return

    # Parent: each side in its own process (peak RSS per side), back to back.
    result: dict = {"config": vars(args), "uptime_start": os.popen("uptime").read().strip()}
    for side in args.order.split(","):
        path = out.with_name(out.stem + f".{side}.json")
        cmd = [sys.executable, __file__, "--side", side, "--out", str(path)]
        for key, val in vars(args).items():
            if key not in ("out", "side", "order") and val is not None:
                cmd += [f"--{key.replace('_', '-')}", str(val)]
        t0 = time.time()
        timeout = max(1.0, deadline - t0) if deadline < float("inf") else None
        try:
            proc = subprocess.run(cmd, timeout=timeout)
            ok = proc.returncode == 0 and path.is_file()
            result[side] = json.loads(path.read_text()) if ok else {"error": proc.returncode}
        except subprocess.TimeoutExpired:
            result[side] = {"error": "killed at --stop-at"}
        result[side]["process_wall_s"] = time.time() - t0
        result[side]["uptime_after"] = os.popen("uptime").read().strip()
    keys = (
        "gen_tokens_per_s",
        "trained_tokens_per_s",
        "wall_s_per_iteration",
        "cpu_s_per_iteration",
        "peak_rss_mb",
        "model_param_mb",
        "loadavg_1min_mean",
    )
    result["comparison"] = {
        side: {x: result[side].get(x) for x in keys} for side in args.order.split(",")
    }
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["comparison"], indent=1))


if __name__ == "__main__":
    main()
