"""Simulator throughput (spec §12): agent-steps per second, compile time, driving-years per hour.

``bench_sim(worlds, agents, steps, with_obs)`` jit-compiles one ``lax.scan`` over ``steps``
simulator steps of ``worlds`` × ``agents`` slots driven by uniformly random actions (the
behaviour of an untrained policy: crashes, removals and respawns all happen), times the
compile and the run separately, and returns a JSON-ready dict. The state buffer is donated.

What is counted: an agent-step is one transition of an *active* agent (spec §10.1:
throughput over alive slots); slot-steps (W·A·T) are reported beside it. With ``with_obs``
every step also builds the full observation (spec §6) of every slot and stores it in the
scan carry, as a rollout stores what its policy reads (a checksum of the last one is
returned). The map bank is an argument of the jitted rollout, as in training (a closure
constant would let XLA constant-fold gathers from it). The observation is not fed to a
network (policy cost is the learner's, measured in ``bench/drive/bench_ppo.py``).
Consuming each observation by a checksum instead, as this benchmark did before, lets XLA
fuse the blocks into the reductions without ever writing them, which no learner can do: it
measured the old observe 10 % faster and the current one 1.6x slower than when stored
(1024 x 32).
"""

from __future__ import annotations

import functools
import json
import os
import platform
import sys
import time

__all__ = [
    "FULL_SIZES",
    "QUICK_SIZES",
    "SECONDS_PER_YEAR",
    "bench_sim",
    "driving_years_per_hour",
    "machine",
    "procedural_bank",
    "run_suite",
]

SECONDS_PER_YEAR = 3.156e7
FULL_SIZES = ((4096, 32), (256, 150))  # worlds x agent slots (spec §12 / issue 6)
QUICK_SIZES = ((256, 32), (16, 150))


def driving_years_per_hour(agent_steps_per_s: float, dt: float) -> float:
    """Simulated driving time per wall-clock hour, in years (spec §10.1)."""
    return agent_steps_per_s * dt * 3600.0 / SECONDS_PER_YEAR


@functools.lru_cache(maxsize=4)
def procedural_bank(seed: int = 0, n: int = 3):
    """A ``MapBank`` of ``n`` seeded procedural maps (grid town, highway, roundabout, ...)."""
    from simlab.drive.bank import make_bank
    from simlab.drive.mapdata import build_map
    from simlab.drive.procgen import procedural_graphs

    return make_bank([build_map(g) for g in procedural_graphs(seed, n)])


def _rollout_fn(cfg, worlds: int, agents: int, steps: int, with_obs: bool):
    import jax
    import jax.numpy as jnp

    from simlab.drive import env, rng
    from simlab.drive.observe import observe

    def roll(bank, state, seed):
        def observe_now(st):
            obs = observe(bank, cfg, st)
            return {k: v for k, v in obs.items() if k != "active"}

        def body(carry, t):
            st, n_act, last = carry
            act = rng.randint(rng.fold_in(seed, t), (worlds, agents), 0, 12)
            st, _, _, _, info = env.step(bank, cfg, st, act, with_obs=False)
            n_act = n_act + jnp.sum(info["valid"], dtype=jnp.int32)
            if with_obs:  # stored in the carry, as a rollout stores what the policy reads
                last = observe_now(st)
            return (st, n_act, last), None

        last = None
        if with_obs:
            shapes = jax.eval_shape(observe_now, state)
            last = jax.tree_util.tree_map(lambda s: jnp.zeros(s.shape, s.dtype), shapes)
        init = (state, jnp.int32(0), last)
        (state, n_act, last), _ = jax.lax.scan(body, init, jnp.arange(steps, dtype=jnp.uint32))
        chk = sum(jnp.sum(v) for v in last.values()) if with_obs else jnp.float32(0.0)
        return state, n_act, chk

    return jax.jit(roll, donate_argnums=1)


def bench_sim(
    worlds: int,
    agents: int,
    steps: int = 32,
    with_obs: bool = False,
    seed: int = 0,
    repeats: int = 2,
    bank=None,
    devices: int = 1,
    env: dict | None = None,
) -> dict:
    """Time ``steps`` simulator steps of ``worlds`` × ``agents`` (see the module doc);
    ``env``: further ``EnvConfig`` fields (e.g. ``partner_select``).

    Returns dict(mode, worlds, agents, steps, compile_s (lower + compile, s), run_s (best of
    ``repeats`` timed runs after a warm-up, s), cpu_s (process CPU time of that run, all
    threads, s), agent_steps (active transitions in that run),
    active_fraction, agent_steps_per_s, slot_steps_per_s, driving_years_per_hour, dt,
    checksum (finite when observations are consumed))."""
    import jax

    from simlab.drive.config import EnvConfig
    from simlab.drive.env import reset

    bank = procedural_bank() if bank is None else bank
    cfg = EnvConfig(n_agents=agents, random_agent_count=False, **(env or {}))
    state = jax.jit(reset, static_argnums=(1, 3))(bank, cfg, jax.random.key(seed), worlds)
    if devices > 1:  # worlds split across CPU devices (one per core); XLA partitions the step
        state = shard_worlds(state, worlds, devices)
    jax.block_until_ready(state)
    fn = _rollout_fn(cfg, worlds, agents, steps, with_obs)
    t0 = time.perf_counter()
    compiled = fn.lower(bank, state, jax.numpy.uint32(seed)).compile()
    compile_s = time.perf_counter() - t0
    state, n_act, chk = compiled(bank, state, jax.numpy.uint32(seed))  # warm-up run
    jax.block_until_ready(n_act)
    best, n_best, cpu = float("inf"), 0, 0.0
    for r in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        state, n_act, chk = compiled(bank, state, jax.numpy.uint32(seed + 1 + r))
        n_act = int(n_act)  # forces completion
        dt_run, cpu_run = time.perf_counter() - t0, time.process_time() - c0
        if dt_run < best:
            best, n_best, cpu = dt_run, n_act, cpu_run
    slots = worlds * agents * steps
    rate = n_best / best
    return dict(
        mode="sim+obs" if with_obs else "sim",
        worlds=worlds,
        agents=agents,
        steps=steps,
        compile_s=round(compile_s, 3),
        run_s=best,
        cpu_s=cpu,
        agent_steps=n_best,
        active_fraction=round(n_best / slots, 4),
        agent_steps_per_s=round(rate),
        slot_steps_per_s=round(slots / best),
        driving_years_per_hour=round(driving_years_per_hour(rate, cfg.dt), 3),
        dt=cfg.dt,
        devices=devices,
        checksum=float(chk),
    )


def shard_worlds(state, worlds: int, devices: int):
    """Place every [W, ...] array of a state split over ``devices`` JAX devices along W."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    from simlab.core.errors import ConfigError

    devs = jax.devices()
    if len(devs) < devices or worlds % devices:
        raise ConfigError(
            f"--devices {devices}: needs {devices} JAX devices (have {len(devs)}) and must divide "
            f"the {worlds} worlds"
        )
    mesh = Mesh(np.array(devs[:devices]), ("w",))

    def put(x):
        split = x.ndim >= 1 and x.shape[0] == worlds
        return jax.device_put(
            x, NamedSharding(mesh, PartitionSpec("w") if split else PartitionSpec())
        )

    return jax.tree_util.tree_map(put, state)


def machine() -> dict:
    """Where the numbers came from: CPU count, load average, JAX version and backend."""
    import jax

    return dict(
        cpus=os.cpu_count(),
        devices=len(jax.devices()),
        load_avg_1min=round(os.getloadavg()[0], 2),
        platform=platform.platform(),
        jax=jax.__version__,
        backend=jax.default_backend(),
    )


def run_suite(
    quick: bool = False, steps: int | None = None, repeats: int = 2, mode="both", devices=1
):
    """Every (size, mode) case of the spec's benchmark; ``quick`` uses small sizes."""
    sizes = QUICK_SIZES if quick else FULL_SIZES
    steps = steps or (8 if quick else 16)
    modes = {"sim": (False,), "obs": (True,), "both": (False, True)}[mode]
    cases = []
    for w, a in sizes:
        for o in modes:
            cases.append(bench_sim(w, a, steps, with_obs=o, repeats=repeats, devices=devices))
            print(json.dumps(cases[-1]), file=sys.stderr, flush=True)  # progress
    return dict(
        machine=machine(),
        targets=dict(sim_agent_steps_per_s=2e6, obs_agent_steps_per_s=5e5),
        policy="uniform random actions",
        cases=cases,
    )


def profile_step(worlds: int, agents: int, warm: int = 24, repeats: int = 5, seed: int = 0):
    """Per-stage wall and CPU time (ms) of one simulator step at ``worlds`` × ``agents``.

    The state is a realistic mid-episode one (``warm`` random-action steps after a reset).
    Every stage is jitted on its own, takes its inputs as materialised arrays and is timed
    as the median of ``repeats`` calls after a warm-up (compiles excluded); stages fused
    inside the full step may cost less than alone, so the stage sum is an upper bound.
    Also returns the full step with and without observations and XLA's cost analysis
    (flops, bytes accessed) of both."""
    import statistics

    import jax
    import jax.numpy as jnp

    from simlab.drive import env, observe, rng, scenario
    from simlab.drive.config import EnvConfig
    from simlab.drive.dynamics import action_jerks, bicycle_step
    from simlab.drive.partners import select_partners
    from simlab.drive.reward import reward_terms

    bank = procedural_bank()
    cfg = EnvConfig(n_agents=agents, random_agent_count=False)
    step_sim = jax.jit(lambda b, s, a: env.step(b, cfg, s, a, with_obs=False))
    st = jax.jit(env.reset, static_argnums=(1, 3))(bank, cfg, jax.random.key(seed), worlds)
    act = lambda t: rng.randint(rng.fold_in(jnp.uint32(seed), t), (worlds, agents), 0, 12)  # noqa: E731
    for t in range(warm):
        st = step_sim(bank, st, act(t))[0]
    actions = act(warm)
    out = {}

    def timed(name, fn, *args):  # fn(bank, *args): the bank is an argument, as in training
        f = jax.jit(fn)
        args = (bank, *args)
        res = f(*args)
        jax.block_until_ready(res)
        walls, cpus = [], []
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            jax.block_until_ready(f(*args))
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
        out[name] = dict(
            wall_ms=round(1e3 * statistics.median(walls), 2),
            cpu_ms=round(1e3 * statistics.median(cpus), 2),
        )
        return res

    def dyn(b, s, a):
        j_long, j_lat = action_jerks(a)
        return bicycle_step(
            s.x, s.y, s.psi, s.v, s.a_long, s.a_lat, s.phi, j_long, j_lat, s.l_wb,
            s.c_throttle, s.c_steer, s.c_acc, s.c_vel, cfg.dt,
        )  # fmt: skip

    x, y, psi, v, al, at, _phi, _dist = timed("dynamics", dyn, st, actions)
    assoc = timed(
        "lane_association",
        lambda b, s, x, y, p: scenario.associate(b, s.map_id[:, None], x, y, s.z, p, s.quad),
        st, x, y, psi,
    )  # fmt: skip
    new = dict(x=x, y=y, z=assoc["lane_z"], psi=psi)
    timed("collisions", lambda b, s, n: env.collisions(cfg, s, n), st, new)
    timed("events_all", lambda b, s, n: env.events(b, cfg, s, n), st, new)

    def rew(b, s, v, al, at, he, off):
        z = jnp.zeros_like(s.present)
        return reward_terms(s.coef, z, z, z, z, v, al, at, v, he, off, cfg.dt)

    timed("rewards", rew, st, v, al, at, assoc["heading_error"], assoc["offset"])
    key = jnp.uint32(seed + 7)
    few = jnp.zeros((worlds,), bool).at[0].set(True)
    timed("reset_1_world", lambda b, s: env._reset_worlds(b, cfg, s, few, key), st)
    timed("refill", lambda b, s: env._refill(b, cfg, s, key), st)
    timed("step_sim", lambda b, s, a: env.step(b, cfg, s, a, with_obs=False), st, actions)

    e = lambda s: observe._Ego(s)  # noqa: E731
    fr = lambda b, s: scenario.quad_frame(b, s.quad, s.x, s.y, s.psi)  # noqa: E731
    timed("obs_ego", lambda b, s: observe.ego_block(s, fr(b, s)), st)
    goals = timed("obs_goals", lambda b, s: observe.goal_block(b, cfg, s, e(s), fr(b, s)), st)
    timed("obs_coef", lambda b, s: observe.coef_block(s), st)
    timed(
        "obs_lanes", lambda b, s, g: observe.lane_block(b, cfg, e(s), g[1], g[2], g[3]), st, goals
    )
    timed("obs_boundary", lambda b, s: observe.boundary_block(b, cfg, e(s)), st)
    timed("obs_stops", lambda b, s: observe.stop_block(b, cfg, s, e(s)), st)
    part = timed(
        "obs_partner_select",
        lambda b, s: select_partners(
            s.x, s.y, s.present, cfg.n_partners, cfg.obs_radius, cfg.partner_select
        ),
        st,
    )
    timed("obs_agents", lambda b, s, p: observe.agent_block(cfg, s, e(s), p), st, part)
    timed("observe", lambda b, s: observe.observe(b, cfg, s), st)
    timed("step_obs", lambda b, s, a: env.step(b, cfg, s, a), st, actions)

    cost = {}
    for name, wo in (("step_sim", False), ("step_obs", True)):
        lowered = jax.jit(lambda b, s, a, wo=wo: env.step(b, cfg, s, a, with_obs=wo)).lower(
            bank, st, actions
        )
        ca = lowered.compile().cost_analysis()
        ca = ca[0] if isinstance(ca, list) else ca
        cost[name] = {k: float(ca[k]) for k in ("flops", "bytes accessed") if k in ca}
    return dict(
        worlds=worlds,
        agents=agents,
        active=int(jnp.sum(st.active)),
        stages=out,
        cost=cost,
        load_avg_1min=round(os.getloadavg()[0], 2),
    )
