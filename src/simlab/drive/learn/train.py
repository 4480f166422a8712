"""Self-play PPO training: one jitted iteration (rollout → GAE → filter → update) and the loop.

``Trainer(cfg, env)`` builds the policy for the environment's observation layout and a jitted
``iterate(state) -> (state, metrics)``. ``train(cfg, env, run)`` runs it with a progress bar,
JSONL + TensorBoard metrics, periodic evaluation and atomic checkpoints; ``resume=True``
continues from the newest checkpoint and reproduces the uninterrupted run bit for bit (the
whole training state, PRNG keys included, is checkpointed and the iteration is a pure
function of it).

Data parallelism: the worlds are split into ``shards`` groups; with ``devices`` > 1 the
groups are placed on a 1-D device mesh (axis "data") and XLA partitions the rollout by world
and the update by shard, all-reducing gradients. The result depends on ``shards`` (which
samples share a minibatch) but not on the number of devices, up to float summation order.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from simlab.drive.learn.policy import POLICY_CONFIGS, make_policy, obs_spec
from simlab.drive.learn.ppo import (
    PPOConfig,
    cosine_lr,
    ent_schedule,
    gae,
    make_optimizer,
    ppo_update,
)
from simlab.drive.learn.rollout import rollout

__all__ = ["TrainConfig", "TrainState", "Trainer", "summarize", "train"]

SECONDS_PER_YEAR = 3.156e7


@dataclass(frozen=True)
class TrainConfig:
    """Training-loop settings; the environment's own config is separate."""

    seed: int = 0
    net: Literal["smoke", "cpu", "full"] = "cpu"
    rollout: int = 64
    iterations: int = 200
    store_obs: bool = True
    shards: int = 1
    devices: int = 1
    checkpoint_every: int = 10
    keep_checkpoints: int = 3
    eval_every: int = 0
    # Wall-clock budget in minutes of training (0: none). Counted over resumes; the run
    # stops after the iteration that reaches it, with a checkpoint. The learning-rate
    # schedule still spans ``iterations``, so set both to match when a budget binds.
    max_minutes: float = 0.0
    ppo: PPOConfig = field(default_factory=PPOConfig)

    def __post_init__(self):
        if self.rollout < 1 or self.iterations < 1 or self.shards < 1 or self.devices < 0:
            raise ValueError("rollout, iterations and shards must be >= 1, devices >= 0")
        if self.max_minutes < 0:
            raise ValueError(f"max_minutes must be >= 0, got {self.max_minutes}")
        if self.devices > 1 and self.shards % self.devices:
            raise ValueError(f"shards ({self.shards}) must be a multiple of devices")


class TrainState(eqx.Module):
    """Everything an iteration reads: checkpointing this is an exact resume point."""

    policy: Any
    opt_state: Any
    env_state: Any
    obs_key: jax.Array  # key of the current observation (observe(env_state, obs_key))
    ep_return: jax.Array  # [W, A] running return of each agent's current life
    key: jax.Array
    iteration: jax.Array  # int32 scalar
    adv_ewma: jax.Array  # float32 scalar, Ā_max


def _to_shards(x: jax.Array, s: int) -> jax.Array:
    """[T, W, A, ...] -> [S, T·(W/S)·A, ...], shard s holding worlds s·W/S ... (s+1)·W/S − 1."""
    t, w = x.shape[:2]
    rest = x.shape[2:]
    x = jnp.moveaxis(x.reshape(t, s, w // s, *rest), 1, 0)
    return x.reshape(s, t * (w // s) * (rest[0] if rest else 1), *rest[1:])


class Trainer:
    """Builds the policy, optimiser, device mesh and the jitted training iteration.

    Trainers compare equal (and hash) by (config, iteration count, worlds, mesh), so the
    jitted iteration, which takes the trainer as a static argument, is compiled once per
    configuration.
    """

    def _key(self):
        # Loop-only settings do not change the compiled program.
        core = dataclasses.replace(
            self.cfg, iterations=1, checkpoint_every=1, keep_checkpoints=1, eval_every=0,
            max_minutes=0.0,
        )  # fmt: skip
        return (core, self.num_worlds, self.mesh)

    def __eq__(self, other):
        return isinstance(other, Trainer) and self._key() == other._key()

    def __hash__(self):
        return hash(self._key())

    def __init__(self, cfg: TrainConfig, env, total_iterations: int | None = None):
        self.cfg = cfg
        self.env = env
        self.total = total_iterations or cfg.iterations
        self.tx = make_optimizer(cfg.ppo)
        obs = jax.eval_shape(lambda k: env.observe(env.reset(k), k), jax.random.PRNGKey(0))
        self.spec = obs_spec(obs)
        self.num_worlds = jax.tree_util.tree_leaves(obs)[0].shape[0]
        if self.num_worlds % cfg.shards:
            raise ValueError(f"worlds ({self.num_worlds}) must be a multiple of shards")
        n_dev = cfg.devices or len(jax.devices())
        if n_dev > len(jax.devices()):
            raise ValueError(f"devices={n_dev} but only {len(jax.devices())} are visible")
        self.mesh = None
        if n_dev > 1:
            from jax.sharding import Mesh

            self.mesh = Mesh(np.array(jax.devices()[:n_dev]), ("data",))

    # -- sharding helpers ---------------------------------------------------------------
    def _shard(self, x: jax.Array, axis: int) -> jax.Array:
        """Constrain ``x`` to be split along ``axis`` over the mesh (no-op on one device)."""
        if self.mesh is None or x.ndim <= axis or x.shape[axis] % self.mesh.size:
            return x
        from jax.sharding import NamedSharding, PartitionSpec

        spec = PartitionSpec(*([None] * axis), "data")
        return jax.lax.with_sharding_constraint(x, NamedSharding(self.mesh, spec))

    def _world_sharded(self, tree):
        w = self.num_worlds

        def put(x):
            return self._shard(x, 0) if x.ndim >= 1 and x.shape[0] == w else x

        return jax.tree_util.tree_map(put, tree)

    def place(self, ts: TrainState) -> TrainState:
        """Put per-world arrays on the mesh, split by world; replicate the rest."""
        if self.mesh is None:
            return ts
        from jax.sharding import NamedSharding, PartitionSpec

        w = self.num_worlds
        split = NamedSharding(self.mesh, PartitionSpec("data"))
        rep = NamedSharding(self.mesh, PartitionSpec())

        def put(x):
            if not isinstance(x, jax.Array):
                return x
            ok = x.ndim >= 1 and x.shape[0] == w
            return jax.device_put(x, split if ok else rep)

        return jax.tree_util.tree_map(put, ts)

    # -- state ------------------------------------------------------------------------
    def init(self) -> TrainState:
        """A fresh training state from ``cfg.seed``."""
        k_pol, k_env, k_obs, key = jax.random.split(jax.random.PRNGKey(self.cfg.seed), 4)
        policy = make_policy(self.spec, POLICY_CONFIGS[self.cfg.net], k_pol)
        env_state = _reset_jit(self.env, k_env)
        obs = jax.eval_shape(self.env.observe, env_state, k_obs)
        ep_return = jnp.zeros(jax.tree_util.tree_leaves(obs)[0].shape[:2], jnp.float32)
        ts = TrainState(
            policy=policy,
            opt_state=self.tx.init(eqx.filter(policy, eqx.is_array)),
            env_state=env_state,
            obs_key=k_obs,
            ep_return=ep_return,
            key=key,
            iteration=jnp.zeros((), jnp.int32),
            adv_ewma=jnp.zeros((), jnp.float32),
        )
        return self.place(ts)

    def iterate(self, ts: TrainState) -> tuple[TrainState, dict]:
        """One training iteration (jitted); metrics are device scalars."""
        return _iterate_jit(ts, self.env, self, jnp.int32(self.total))

    def _iteration(self, ts: TrainState, env, total: jax.Array) -> tuple[TrainState, dict]:
        cfg, s = self.cfg, self.cfg.shards
        key, k_roll, k_upd = jax.random.split(ts.key, 3)
        obs = env.observe(ts.env_state, ts.obs_key)
        (env_state, obs, obs_key, ep_return), traj = rollout(
            ts.policy,
            env,
            ts.env_state,
            obs,
            ts.obs_key,
            ts.ep_return,
            k_roll,
            cfg.rollout,
            cfg.store_obs,
        )
        env_state = self._world_sharded(env_state)
        last_value = ts.policy.critic(obs)[..., 0]
        adv, ret = gae(
            traj["reward"],
            traj["value"],
            last_value,
            traj["terminated"],
            traj["truncated"],
            traj["final_value"],
            cfg.ppo.gamma,
            cfg.ppo.lam,
        )
        if cfg.store_obs:
            stored_obs = traj["obs"]
        else:  # rebuild what the actor saw from the stored states and observation keys
            stored_obs = jax.lax.map(lambda a: env.observe(*a), (traj["state"], traj["obs_key"]))
        per_sample = {
            "obs": stored_obs,
            "action": traj["action"],
            "logp": traj["logp"],
            "adv": adv,
            "ret": ret,
        }
        data = jax.tree_util.tree_map(lambda x: self._shard(_to_shards(x, s), 0), per_sample)
        learn = self._shard(_to_shards(traj["learn"], s), 0)
        lr = cosine_lr(cfg.ppo.lr, ts.iteration, total)
        ent_coef = ent_schedule(cfg.ppo, ts.iteration, total)
        first = ts.iteration == 0
        policy, opt_state, ewma, stats = ppo_update(
            ts.policy,
            ts.opt_state,
            data,
            learn,
            lr,
            (ts.adv_ewma, first),
            k_upd,
            cfg.ppo,
            self.tx,
            ent_coef,
        )
        mask = traj["learn"]
        var_ret = jnp.var(ret, where=mask)
        metrics = {
            **stats,
            "lr": lr,
            "ent_coef": ent_coef,
            "agent_steps": traj["alive"].sum(),
            "lives": traj["lives"].sum(),
            "life_return": traj["life_return"].sum(),
            "reward_mean": jnp.mean(traj["reward"], where=traj["alive"]),
            "value_mean": jnp.mean(traj["value"], where=mask),
            "explained_var": 1 - jnp.var(ret - traj["value"], where=mask) / (var_ret + 1e-8),
            "events": jax.tree_util.tree_map(jnp.sum, traj["events"]),
        }
        ts = TrainState(
            policy=policy,
            opt_state=opt_state,
            env_state=env_state,
            obs_key=obs_key,
            ep_return=self._world_sharded(ep_return),
            key=key,
            iteration=ts.iteration + 1,
            adv_ewma=ewma,
        )
        return ts, metrics


@eqx.filter_jit
def _reset_jit(env, key):
    return env.reset(key)


@eqx.filter_jit
def _iterate_jit(ts, env, trainer, total):
    # Module level so every Trainer with an equal (hashable) configuration shares one
    # compiled program: a resumed run does not recompile.
    return trainer._iteration(ts, env, total)


def summarize(m: dict, dt: float | None = None) -> dict[str, float]:
    """Host-side scalar record from an iteration's (or an evaluation's) raw sums.

    Event rates are per life (events / lives ended) and per km (events / distance); an
    ``episode_<event>`` sum becomes the share of ended episodes (an agent's first life,
    ``simenv``) with that outcome. ``dt`` is the simulator step in seconds, for driving time.
    """
    m = jax.device_get(m)
    events = {k: float(v) for k, v in m.get("events", {}).items()}
    out = {k: float(v) for k, v in m.items() if k != "events"}
    lives = max(out.get("lives", 0.0), 1.0)
    out["return_per_life"] = out.pop("life_return", 0.0) / lives
    km = events.get("distance", 0.0) / 1000.0
    out["km"] = km
    for name, v in events.items():
        if name in ("distance", "speed", "jerk", "progress", "route_start"):  # totals
            continue
        if name == "episodes":
            out[name] = v
            continue
        if name.startswith("episode_"):  # outcome shares of the ended episodes
            out[name] = v / max(events.get("episodes", 0.0), 1.0)
            continue
        if name.startswith("r_"):  # reward-term sums: per life and per agent-step
            out[f"{name}_per_life"] = v / lives
            out[f"{name}_per_step"] = v / max(out.get("agent_steps", 0.0), 1.0)
            continue
        out[f"{name}_per_life"] = v / lives
        out[f"{name}_per_km"] = v / km if km > 0 else float("nan")
    if "progress" in events:
        # Route-distance reduction over the route distance of the lives started (ratio of
        # sums, §10.1), and over the distance driven (1 = every metre driven was toward
        # the target).
        out["progress"] = events["progress"] / max(events.get("route_start", 0.0), 1.0)
        out["progress_per_distance"] = events["progress"] / max(events["distance"], 1.0)
    if dt is not None:
        out["driving_years"] = out.get("agent_steps", 0.0) * dt / SECONDS_PER_YEAR
    return out


def train(
    cfg: TrainConfig,
    env,
    run,
    resume: bool = False,
    evaluate: Callable[[Any, int], dict[str, float]] | None = None,
    callback: Callable[[int, dict], None] | None = None,
    show_progress: bool = True,
) -> TrainState:
    """Train in run folder ``run`` (a simlab.core.run.RunDir); returns the final state.

    Every iteration logs a record (step = iteration) to the run's metrics; every
    ``checkpoint_every`` iterations and at the end the whole TrainState is saved atomically,
    with host totals (agent-steps, seconds, driving-years) in the checkpoint's meta.
    ``evaluate(policy, iteration) -> {name: value}`` runs every ``eval_every`` iterations and
    is logged with an ``eval/`` prefix. ``callback(iteration, record)`` is for tests and
    tools (raising KeyboardInterrupt there interrupts the run like Ctrl-C).
    """
    from simlab.core.progress import ProgressBar

    trainer = Trainer(cfg, env)
    ts = trainer.init()
    ckpt = run.checkpointer(keep=cfg.keep_checkpoints)
    dt = float(getattr(env, "dt", 0.0)) or None
    totals = {"agent_steps": 0.0, "seconds": 0.0}
    start = 0
    if resume and ckpt.latest() is not None:
        host = jax.device_get(ts)
        restored, start, meta = ckpt.restore(like=host)
        ts = trainer.place(jax.tree_util.tree_map(jnp.asarray, restored))
        totals = meta.get("totals", totals)
    with (
        run.metrics(resume_step=start if resume else None) as log,
        ProgressBar(
            cfg.iterations, "train", unit="it", start=start, disable=not show_progress
        ) as bar,
    ):
        for k in range(start, cfg.iterations):
            t0 = time.perf_counter()
            ts, raw = trainer.iterate(ts)
            rec = summarize(raw, dt)  # the one host transfer per iteration
            secs = time.perf_counter() - t0
            totals["agent_steps"] += rec["agent_steps"]
            totals["seconds"] += secs
            rec["agent_steps_per_s"] = rec["agent_steps"] / secs
            rec["total_agent_steps"] = totals["agent_steps"]
            if dt is not None:
                rec["total_driving_years"] = totals["agent_steps"] * dt / SECONDS_PER_YEAR
            log.log(k + 1, **rec)
            if cfg.eval_every and evaluate is not None and (k + 1) % cfg.eval_every == 0:
                log.log(k + 1, **{f"eval/{n}": v for n, v in evaluate(ts.policy, k + 1).items()})
            out_of_time = cfg.max_minutes > 0 and totals["seconds"] >= 60.0 * cfg.max_minutes
            if (k + 1) % cfg.checkpoint_every == 0 or k + 1 == cfg.iterations or out_of_time:
                ckpt.save(k + 1, jax.device_get(ts), meta={"totals": totals})
            bar.update(
                1,
                ret=rec["return_per_life"],
                filt=rec["frac_filtered"],
                sps=rec["agent_steps_per_s"],
            )
            if callback is not None:
                callback(k + 1, rec)
            if out_of_time:
                break
    return ts
