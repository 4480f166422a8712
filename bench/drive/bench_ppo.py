"""Throughput of self-play PPO on the simulator: end-to-end agent-steps/s and PPO update time.

For each preset (smoke, cpu) and with/without advantage filtering, on procedural maps:
* ``iteration_s``: one jitted training iteration (rollout + GAE + filter + update), median of
  ``--iters`` timed iterations after one warm-up (compile) iteration;
* ``rollout_s``: the same rollout alone (jitted separately, same sizes), median;
* ``update_s`` = iteration_s − rollout_s (GAE, filtering and the PPO epochs);
* ``agent_steps_per_s``: alive agent-steps of the iteration / iteration_s (learning included);
* ``frac_filtered``, ``updates`` (minibatch steps) of the last iteration; ``compile_s``.

    python bench/drive/bench_ppo.py [--presets smoke,cpu] [--iters 3] [--filter on]
                                    [--set worlds=128 ...]

Prints one JSON object. Timings depend on machine load; ``loadavg`` is reported alongside.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import time


def bench(preset: str, adv_filter: bool, iters: int, overrides: tuple[str, ...] = ()) -> dict:
    import equinox as eqx
    import jax

    from simlab.drive.learn.config import load_drive_config
    from simlab.drive.learn.experiment import train_env
    from simlab.drive.learn.rollout import rollout
    from simlab.drive.learn.train import Trainer, summarize

    cfg = load_drive_config(preset, overrides=overrides)
    tcfg = dataclasses.replace(
        cfg.train, ppo=dataclasses.replace(cfg.train.ppo, adv_filter=adv_filter)
    )
    env = train_env(cfg)
    trainer = Trainer(tcfg, env)
    ts = trainer.init()
    t0 = time.perf_counter()
    ts, m = trainer.iterate(ts)
    jax.block_until_ready(m)
    compile_s = time.perf_counter() - t0
    it_times, recs = [], []
    for _ in range(iters):
        t0 = time.perf_counter()
        ts, m = trainer.iterate(ts)
        rec = summarize(m)
        it_times.append(time.perf_counter() - t0)
        recs.append(rec)

    @eqx.filter_jit
    def collect(ts, env):
        obs = env.observe(ts.env_state, ts.obs_key)
        return rollout(ts.policy, env, ts.env_state, obs, ts.obs_key, ts.ep_return, ts.key,
                       tcfg.rollout, tcfg.store_obs)  # fmt: skip

    jax.block_until_ready(collect(ts, env))
    ro_times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        jax.block_until_ready(collect(ts, env))
        ro_times.append(time.perf_counter() - t0)
    it_s, ro_s = statistics.median(it_times), statistics.median(ro_times)
    steps = statistics.median(r["agent_steps"] for r in recs)
    return {
        "preset": preset,
        "adv_filter": adv_filter,
        "worlds": cfg.worlds,
        "agents": cfg.env.n_agents,
        "rollout": tcfg.rollout,
        "net": tcfg.net,
        "compile_s": compile_s,
        "iteration_s": it_s,
        "rollout_s": ro_s,
        "update_s": it_s - ro_s,
        "agent_steps_per_iteration": steps,
        "agent_steps_per_s": steps / it_s,
        "rollout_agent_steps_per_s": steps / ro_s,
        "frac_filtered": recs[-1]["frac_filtered"],
        "updates": recs[-1]["updates"],
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", default="smoke,cpu")
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--filter", choices=("both", "on", "off"), default="both")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="config override, as in `simlab drive train --set` (repeatable)",
    )
    args = ap.parse_args()
    results = []
    for preset in args.presets.split(","):
        for adv_filter in {"both": (True, False), "on": (True,), "off": (False,)}[args.filter]:
            results.append(bench(preset, adv_filter, args.iters, tuple(args.set)))
            print(json.dumps(results[-1]), flush=True)
    print(json.dumps({"loadavg": os.getloadavg(), "cpus": os.cpu_count(), "results": results}))


if __name__ == "__main__":
    main()
