"""SmolLM2-135M-Instruct (LoRA) in the API world: SFT warm start, then LOOP, within a CPU budget.

    nice -n 10 .venv/bin/python bench/agents/run_smollm2.py --out runs/smollm2 --stop-at 05:00

Defaults: one torch thread and bf16 only on AVX512 CPUs (both measured; see NOTES.md).

Stages (each saves its output under ``--out``; a rerun skips finished stages and resumes LOOP
from its last iteration's checkpoint):

1. ``eval_base.json``: the untrained policy on the evaluation subsets (greedy, one run);
   ``--skip-base`` skips it.
2. ``sft.pt`` / ``sft.json``: SFT warm start on ground-truth conversations of difficulty-1
   *train* tasks (real environment observations; loss on assistant tokens only, see
   ``simlab.agents.rl.sft``).
   With ``--probe-tasks n``: ``probe_sft.json``, K rollouts at T = 1 of the SFT policy on n
   train tasks, and the fraction of groups whose rewards differ (LOOP's learning signal).
3. ``eval_sft.json``: the SFT-only policy on the same subsets.
4. ``loop_ckpt.pt`` / ``curve.json``: LOOP iterations (spec §3.5 defaults, LoRA lr 5e-5) on
   difficulty-1 train tasks, ``--tasks-per-iter`` tasks x ``--k`` rollouts at T = 1, until
   ``--iterations`` or the wall-clock ``--stop-at`` (UTC HH:MM) minus the expected final
   evaluation. Optional dev evaluations every ``--dev-every`` iterations.
5. ``eval_loop.json`` and ``result.json``: the SFT+LOOP policy, the summary (rewards, TGC/SGC,
   tokens/s of rollouts and training, peak RSS vs parameter bytes, load average). When LOOP
   made no update at all, the SFT evaluation stands for the SFT+LOOP policy (they are equal).

Evaluation subsets (fixed, stated in the result): the first ``--eval-tasks`` difficulty-1 tasks
of ``dev`` and of ``test_normal`` (scenarios never seen in training) taken one variant per
scenario in turn; both splits are decoded greedily as one batch.
Mean reward (fraction of tests passed) is reported beside TGC/SGC, which are near 0 at 135M.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import time
from pathlib import Path


def episodes_json(rs) -> list[dict]:
    return [
        {
            "task": r.task.id,
            "scenario": r.task.scenario.name,
            "reward": r.reward,
            "success": bool(r.success),
            "messages": r.messages,
            "responses": r.responses,
            "generated_tokens": r.n_llm,
        }
        for r in rs
    ]


def summarise(eps: list[dict]) -> dict:
    from simlab.agents.rl.metrics import behaviour, episode_turns

    n = max(1, len(eps))
    by: dict[str, list[bool]] = {}
    for e in eps:
        by.setdefault(e["scenario"], []).append(e["success"])
    return {
        "episodes": len(eps),
        "tgc": 100.0 * sum(e["success"] for e in eps) / n,
        "sgc": 100.0 * sum(all(v) for v in by.values()) / max(1, len(by)),
        "mean_reward": sum(e["reward"] for e in eps) / n,
        "full_reward_frac": sum(e["reward"] >= 1 - 1e-9 for e in eps) / n,
        "behaviour": behaviour([episode_turns(e["messages"], e["responses"]) for e in eps]),
    }


def by_scenario_round_robin(tasks: list) -> list:
    """Tasks reordered as variant 0 of every scenario, then variant 1, ... (load order puts a
    scenario's variants side by side, so a prefix of it can cover a single scenario)."""
    by: dict[str, list] = {}
    for task in tasks:
        by.setdefault(task.scenario.name, []).append(task)
    return [
        g[i]
        for i in range(max(map(len, by.values()), default=0))
        for g in by.values()
        if i < len(g)
    ]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_json(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1))
    os.replace(tmp, path)


def stop_time(hhmm: str | None) -> float:
    """Epoch seconds of the next UTC ``HH:MM`` (inf if None)."""
    if not hhmm:
        return float("inf")
    h, m = map(int, hhmm.split(":"))
    now = dt.datetime.now(dt.UTC)
    t = now.replace(hour=h, minute=m, second=0, microsecond=0)
    if t < now:
        t += dt.timedelta(days=1)
    return t.timestamp()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--out", default="runs/smollm2")
    ap.add_argument("--stop-at", default=None, help="UTC HH:MM by which everything must end")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--tasks-per-iter", type=int, default=3)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--eval-tasks", type=int, default=12, help="per split (difficulty 1)")
    ap.add_argument("--dev-every", type=int, default=0)
    ap.add_argument("--max-turns", type=int, default=8)
    ap.add_argument("--max-new-tokens", type=int, default=80)
    ap.add_argument("--max-output-tokens", type=int, default=256)
    ap.add_argument("--lr", type=float, default=5e-5)
    ap.add_argument("--sft-lr", type=float, default=3e-4)
    ap.add_argument("--sft-epochs", type=int, default=2)
    ap.add_argument("--sft-minibatch", type=int, default=2)
    ap.add_argument("--sft-tasks", type=int, default=30, help="difficulty-1 train tasks for SFT")
    ap.add_argument(
        "--sft-init",
        default=None,
        help="a trainable-state file (an earlier run's sft.pt) to start SFT from: "
        "--sft-epochs more epochs continue it",
    )
    ap.add_argument("--temperature", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (0 = torch's default). On an oversubscribed box 2 OpenMP threads "
        "were measured ~10x slower per decode step than 1 (threads wait at barriers)",
    )
    ap.add_argument(
        "--bf16",
        choices=("auto", "on", "off"),
        default="auto",
        help="bf16 autocast; auto = only if the CPU has AVX512 (without it bf16 matmuls were "
        "measured 3-6x slower than fp32)",
    )
    ap.add_argument("--skip-base", action="store_true", help="no evaluation of the base model")
    ap.add_argument(
        "--only-base", action="store_true", help="stop after the base evaluation (run it apart)"
    )
    ap.add_argument(
        "--probe-tasks", type=int, default=0, help="after SFT: K rollouts on n train tasks"
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    deadline = stop_time(args.stop_at)

    import torch

    from simlab.agents.rl.loop import Learner, LoopConfig
    from simlab.agents.rl.models import load_policy
    from simlab.agents.rl.rollout import RolloutConfig, collect
    from simlab.agents.rl.sft import SftConfig, ground_truth_conversation, sft_train
    from simlab.agents.rl.trainer import loop_iteration
    from simlab.agents.rl.world import WorldEnv, world_tasks

    t_start = time.time()
    cap = torch.backends.cpu.get_cpu_capability()
    bf16 = args.bf16 == "on" or (args.bf16 == "auto" and "AVX512" in cap)
    print(json.dumps({"cpu_capability": cap, "bf16": bf16, "threads": args.threads}), flush=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    policy = load_policy(args.model, lora=True, seed=args.seed)
    tok = policy.chat.tokenizer
    load_s = time.time() - t_start

    def count(text: str) -> int:
        return len(tok.encode(text, add_special_tokens=False))

    env_kw = dict(max_turns=args.max_turns, max_output_tokens=args.max_output_tokens)

    def make_env():
        return WorldEnv(count_tokens=count, **env_kw)

    train_pool = world_tasks("train", seed=0, max_difficulty=1)
    evalsets = {
        s: by_scenario_round_robin(world_tasks(s, seed=0, max_difficulty=1))[: args.eval_tasks]
        for s in ("dev", "test_normal")
    }
    common = dict(max_turns=args.max_turns, max_new_tokens=args.max_new_tokens, bf16=bf16)
    eval_rc = RolloutConfig(k=1, temperature=0.0, early_stop=False, **common)
    train_rc = RolloutConfig(k=args.k, temperature=args.temperature, **common)

    def evaluate(tag: str, splits=("dev", "test_normal")) -> dict:
        # All splits' tasks in one batch: batched decoding costs far less than one batch each.
        tasks = [t for s in splits for t in evalsets[s]]
        t0 = time.time()
        rs, st = collect(policy, tasks, make_env, eval_rc, torch.Generator().manual_seed(1234))
        seconds = time.time() - t0
        res = {}
        for s in splits:
            ids = {t.id for t in evalsets[s]}
            eps = episodes_json([r for r in rs if r.task.id in ids])
            (out / f"episodes_{tag}_{s}.json").write_text(json.dumps(eps))
            res[s] = summarise(eps)
            brief = {k: res[s][k] for k in ("mean_reward", "full_reward_frac", "tgc")}
            print(json.dumps({"eval": tag, "split": s, **brief}), flush=True)
        res["collect"] = {
            "gen_tokens": st.generated_tokens,
            "prefill_tokens": st.prefill_tokens,
            "gen_tokens_per_s": st.generated_tokens / max(st.seconds, 1e-9),
            "seconds": seconds,
            "loadavg_1min": os.getloadavg()[0],
        }
        print(json.dumps({"eval": tag, **res["collect"]}), flush=True)
        return res

    def stage_eval(tag: str) -> dict:
        path = out / f"eval_{tag}.json"
        if path.is_file():
            return json.loads(path.read_text())
        res = evaluate(tag)
        write_json(path, res)
        return res

    # 1. untrained
    base = None if args.skip_base else stage_eval("base")
    if args.only_base:
        return

    # 2. SFT warm start on train ground truths
    sft_path = out / "sft.pt"
    if sft_path.is_file():
        policy.load_trainable_state(torch.load(sft_path))
        sft_info = json.loads((out / "sft.json").read_text())
    else:
        # Variant 0 of every scenario first, so a small SFT set still covers every scenario.
        sft_tasks = by_scenario_round_robin(train_pool)[: args.sft_tasks]
        t = time.time()
        # The ground truth may need more turns than the rollout budget; replay it in full.
        convs = [
            ground_truth_conversation(
                task, count_tokens=count, max_turns=50, max_output_tokens=args.max_output_tokens
            )
            for task in sft_tasks
        ]
        replay_s = time.time() - t
        if args.sft_init:
            policy.load_trainable_state(torch.load(args.sft_init))

        def log(step, m):
            if step % 2 == 0:
                print(json.dumps({"sft_step": step, **m}), flush=True)

        info = sft_train(
            policy,
            convs,
            SftConfig(
                lr=args.sft_lr,
                epochs=args.sft_epochs,
                minibatch=args.sft_minibatch,
                bf16=bf16,
                seed=args.seed,
            ),
            log=log,
        )
        sft_info = {
            **info,
            "tasks": [x.id for x in sft_tasks],
            "init": args.sft_init,
            "replay_seconds": replay_s,
            "loadavg_1min": os.getloadavg()[0],
            "peak_rss_mb": rss_mb(),
        }
        torch.save(policy.trainable_state(), sft_path)
        write_json(out / "sft.json", sft_info)
        print(
            json.dumps({k: v for k, v in sft_info.items() if k not in ("losses", "tasks")}),
            flush=True,
        )

    # Probe: do K samples of the SFT policy on train tasks get unequal rewards?
    probe_path = out / "probe_sft.json"
    if args.probe_tasks and not probe_path.is_file():
        ptasks = train_pool[:: max(1, len(train_pool) // args.probe_tasks)][: args.probe_tasks]
        rs, st = collect(
            policy, ptasks, make_env, train_rc, torch.Generator().manual_seed(args.seed + 5)
        )
        groups: dict[str, list[float]] = {}
        for r in rs:
            groups.setdefault(r.task.id, []).append(round(r.reward, 4))
        probe = {
            "groups": groups,
            "groups_with_signal": sum(max(g) > min(g) for g in groups.values()) / len(groups),
            "gen_tokens": st.generated_tokens,
            "prefill_tokens": st.prefill_tokens,
            "seconds": st.seconds,
            "gen_tokens_per_s": st.generated_tokens / max(st.seconds, 1e-9),
            "loadavg_1min": os.getloadavg()[0],
        }
        (out / "episodes_probe_sft.json").write_text(json.dumps(episodes_json(rs)))
        write_json(probe_path, probe)
        print(json.dumps(probe), flush=True)

    # 3. SFT only
    sft_eval = stage_eval("sft")

    # 4. LOOP
    learner = Learner(
        policy, LoopConfig(lr=args.lr, bf16=bf16), temperature=args.temperature, seed=args.seed
    )
    gen = torch.Generator().manual_seed(args.seed + 17)
    rng = random.Random(args.seed + 1)
    curve: list[dict] = []
    ckpt = out / "loop_ckpt.pt"
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        learner.load_state_dict(state["learner"])
        gen.set_state(state["gen"])
        rng.setstate(state["rng"])
        curve = state["curve"]
    elif (out / "eval_loop.json").is_file():
        raise SystemExit(f"{out}: eval_loop.json exists but loop_ckpt.pt is missing")
    eval_s = sft_eval["collect"]["seconds"]
    t_loop = time.time()
    done_before = len(curve)
    final_path = out / "eval_loop.json"
    while not final_path.is_file() and len(curve) < args.iterations:
        it = len(curve)
        n_here = it - done_before
        per_iter = (time.time() - t_loop) / n_here if n_here else 0.0
        if time.time() + per_iter + 1.3 * eval_s > deadline:
            break
        tasks = rng.sample(train_pool, min(args.tasks_per_iter, len(train_pool)))
        rs, st, m = loop_iteration(policy, learner, tasks, make_env, train_rc, gen, it)
        groups: dict[int, list[float]] = {}
        for r in rs:
            groups.setdefault(r.group, []).append(r.reward)
        rec = {
            "iteration": it + 1,
            "tasks": [x.id for x in tasks],
            "train_reward": sum(r.reward for r in rs) / max(1, len(rs)),
            "train_success": sum(r.success for r in rs) / max(1, len(rs)),
            "groups_with_signal": sum(max(g) - min(g) > 1e-9 for g in groups.values())
            / max(1, len(groups)),
            "rollouts": len(rs),
            "dropped_frac": st.dropped / max(1, st.started),
            "gen_tokens": st.generated_tokens,
            "gen_tokens_per_s": st.generated_tokens / max(st.seconds, 1e-9),
            "collect_seconds": st.seconds,
            "rewards": [round(r.reward, 4) for r in rs],
            **m,
            "elapsed_s": time.time() - t_start,
            "loadavg_1min": os.getloadavg()[0],
        }
        if args.dev_every and (it + 1) % args.dev_every == 0:
            d = evaluate(f"loop_it{it + 1}", ("dev",))["dev"]  # mean over the dev subset
            rec["dev_reward"] = d["mean_reward"]
            rec["dev_tgc"] = d["tgc"]
        curve.append(rec)
        state = {
            "learner": learner.state_dict(),
            "gen": gen.get_state(),
            "rng": rng.getstate(),
            "curve": curve,
        }
        torch.save(state, ckpt.with_suffix(".tmp"))
        os.replace(ckpt.with_suffix(".tmp"), ckpt)
        write_json(out / "curve.json", curve)
        print(
            json.dumps({k: v for k, v in rec.items() if k not in ("rewards", "tasks")}), flush=True
        )

    # 5. SFT + LOOP
    updates = sum(int(c.get("steps", 0)) for c in curve)
    # Without a single update the policy is the SFT policy and greedy decoding would only
    # reproduce eval_sft.json, so that evaluation stands for both.
    final = stage_eval("loop") if updates else {**sft_eval, "same_as": "eval_sft.json"}
    params = list(policy.lm.parameters())
    result = {
        "config": vars(args),
        "eval_subsets": {s: [t.id for t in ts] for s, ts in evalsets.items()},
        "load_seconds": load_s,
        "base": base,
        "sft_only": sft_eval,
        "sft_loop": final,
        "sft": {k: v for k, v in sft_info.items() if k not in ("losses", "tasks")},
        "sft_loss_first_last": [sft_info["losses"][:5], sft_info["losses"][-5:]],
        "iterations_done": len(curve),
        "updates_done": updates,
        "curve": [
            {
                k: c.get(k)
                for k in (
                    "iteration",
                    "train_reward",
                    "groups_with_signal",
                    "kept",
                    "steps",
                    "loss",
                    "clip_frac",
                    "gen_tokens_per_s",
                    "update_tokens_per_s",
                    "dev_reward",
                )
            }
            for c in curve
        ],
        "peak_rss_mb": rss_mb(),
        "model_params": sum(p.numel() for p in params),
        "model_param_mb": sum(p.numel() * p.element_size() for p in params) / 2**20,
        "trainable_params": sum(p.numel() for p in policy.trainable_parameters()),
        "loadavg_1min_end": os.getloadavg()[0],
        "wall_seconds_this_run": time.time() - t_start,
    }
    write_json(out / "result.json", result)
    print(json.dumps({k: result[k] for k in ("iterations_done", "updates_done", "peak_rss_mb")}))


if __name__ == "__main__":
    main()
