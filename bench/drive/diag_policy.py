"""Where a trained driving policy fails: stalls (greedy, held-out) and off-road (sampled, training).

    python bench/drive/diag_policy.py runs/<run>/drive-train-<time> [--steps 1200]

1. Greedy actions on the held-out maps (8 worlds, episodes of ``--steps``): the action
   histogram, the share of active agent-steps below 0.3 m/s, and every stall (≥ 30 steps
   = 9 s below 0.3 m/s after the first 3 steps of a life) with the route and straight-line
   distance to the target, the nearest other agent and the first stop slot of the
   observation (position in the ego frame, junction flag, light state).
2. Sampled actions on the training maps (600 steps): |curvature| of the lane, speed, lateral
   offset and heading error at off-road events against all agent-steps, and the share of
   off-road events on curved lanes (|κ| > 0.02 /m).
Prints text; used for bench/drive/NOTES.md, "Self-play learning, session 7".
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def rollout_records(env, policy, key, steps: int, greedy: bool):
    """Per-step records [T, W, A] of a policy driving ``env`` from a reset."""
    import equinox as eqx
    import jax
    import jax.numpy as jnp

    from simlab.drive.bank import route_distance
    from simlab.drive.scenario import quad_frame

    @eqx.filter_jit
    def go(policy, env, key):
        def body(st, k):
            obs = env.observe(st)
            logits, _ = policy(obs)
            a = jnp.argmax(logits, -1) if greedy else jax.random.categorical(k, logits)
            g = st.goal_lane.shape[-1]
            gi = jnp.minimum(st.goal_idx, g - 1)[..., None]
            pick = lambda v: jnp.take_along_axis(v, gi, -1)[..., 0]  # noqa: E731
            dx = st.x[..., :, None] - st.x[..., None, :]
            dy = st.y[..., :, None] - st.y[..., None, :]
            other = st.active[..., None, :] & ~jnp.eye(st.x.shape[-1], dtype=bool)
            fr = quad_frame(env.bank, st.quad, st.x, st.y, st.psi)
            new, _, _, _, out = env.step(st, a)
            rec = dict(
                v=st.v, active=st.active, life=st.life_steps, action=a,
                route=route_distance(env.bank, st.lane, st.s, pick(st.goal_lane), pick(st.goal_s)),
                eucl=jnp.hypot(pick(st.goal_xyz[..., 0]) - st.x, pick(st.goal_xyz[..., 1]) - st.y),
                nearest=jnp.where(other, jnp.hypot(dx, dy), jnp.inf).min(-1),
                stop=obs["stops"].x[..., 0, :], stop_valid=obs["stops"].valid[..., 0],
                curv=fr["curvature"], offset=fr["offset"], heading=fr["heading_error"],
                alive=out["alive"], offroad=out["events"]["offroad"] > 0,
            )  # fmt: skip
            return new, rec

        return jax.lax.scan(body, env.reset(key), jax.random.split(key, steps))[1]

    return jax.device_get(go(policy, env, key))


def stalls(r, min_steps: int = 30):
    """(world, agent, step, record index) of every run of ``min_steps`` slow active steps."""
    slow = r["active"] & (np.abs(r["v"]) < 0.3) & (r["life"] > 3)
    out = []
    for w, a in zip(*np.nonzero(slow.any(0))):
        run = 0
        for t in range(slow.shape[0]):
            run = run + 1 if slow[t, w, a] else 0
            if run == min_steps:
                out.append((w, a, t))
    return out


def main() -> None:
    import jax

    from simlab.core.run import RunDir
    from simlab.drive.learn.config import load_drive_config
    from simlab.drive.learn.experiment import eval_env, load_policy, train_env

    ap = argparse.ArgumentParser()
    ap.add_argument("run", type=Path)
    ap.add_argument("--steps", type=int, default=1200)
    args = ap.parse_args()
    run = RunDir.open(args.run)
    cfg = load_drive_config("easy", run.path / "config.toml", (f"env.max_steps={args.steps}",))
    policy = load_policy(run, cfg)

    r = rollout_records(eval_env(cfg, "standard", 8), policy, jax.random.PRNGKey(cfg.eval.seed),
                        args.steps, greedy=True)  # fmt: skip
    act = r["active"]
    print("greedy, held-out: action histogram", np.bincount(r["action"][act], minlength=12))
    slow = (act & (np.abs(r["v"]) < 0.3)).sum() / act.sum()
    print(f"share of active agent-steps below 0.3 m/s: {slow:.3f}")
    found = stalls(r)
    print(f"stalls of >= 9 s: {len(found)} by {len({(w, a) for w, a, _ in found})} agents")
    for w, a, t in found:
        q = {k: r[k][t, w, a] for k in ("route", "eucl", "nearest", "stop", "stop_valid")}
        s = q["stop"]
        print(f"  w{w} a{a} t={t}: route {q['route']:.0f} m, straight {q['eucl']:.0f} m, "
              f"nearest agent {q['nearest']:.1f} m, stop slot valid={int(q['stop_valid'])} "
              f"at ({50 * (s[0] + s[2]):.1f}, {50 * (s[1] + s[3]):.1f}) m junction={int(s[5])} "
              f"light={'RYGO'[int(s[6:10].argmax())]}")  # fmt: skip

    cfg_train = load_drive_config("easy", run.path / "config.toml", ("worlds=32",))
    r = rollout_records(train_env(cfg_train), policy, jax.random.PRNGKey(7), 600, greedy=False)
    alive, off = r["alive"], r["offroad"]
    for name in ("curv", "v", "offset", "heading"):
        x = np.abs(r[name])
        print(f"sampled, training maps: |{name}| median all {np.median(x[alive]):.3f}, "
              f"at off-road {np.median(x[off]):.3f} (n = {off.sum()})")  # fmt: skip
    curved = np.abs(r["curv"]) > 0.02
    print(f"share on curved lanes: agent-steps {curved[alive].mean():.3f}, "
          f"off-road events {curved[off].mean():.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
