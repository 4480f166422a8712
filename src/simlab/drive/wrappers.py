"""Gymnasium-vector and PettingZoo-parallel wrappers over the functional core
(``simlab.drive.env``: ``reset`` / ``step`` on a ``WorldState``).

Both are thin: they keep one ``WorldState``, call the jitted core once per ``step`` and
convert its [W, A] arrays to NumPy in the shape each API expects. All randomness comes from
the core (seeded by ``reset(seed=...)``), so a seed fixes the whole trajectory for fixed
actions.

``DriveVectorEnv`` (``gymnasium.vector.VectorEnv``, the fast path for batched learners):
  one sub-environment per agent slot, ``num_envs = n_worlds · n_agents`` (slot (w, a) is
  index w·A + a). ``single_observation_space`` is a ``Dict`` of float32 ``Box`` blocks
  (``ego`` [14], ``goals`` [G, 6], ``coef`` [10], ``lanes`` [80, 10], ``boundary`` [80, 6],
  ``stops`` [4, 11], ``agents`` [N, 10]; layout in ``simlab.drive.observe``) and
  ``single_action_space`` is ``Discrete(12)``. Autoreset is ``SAME_STEP`` and happens inside
  the core: when a slot's life ends (terminated: goal, collision, off-road; truncated: its
  world was reset at the episode limit) the returned observation already belongs to the
  slot's next life. ``infos["final_obs"]`` (same structure as the observation) with mask
  ``infos["_final_obs"]`` holds the last observation of truncated lives, which value
  bootstrapping needs; on steps where a truncation happened (and only then) the core step is
  run a second time with world resets suppressed (``_Core._without_resets``), so the
  pre-reset state can be observed (``final_obs=False`` skips it). Terminated lives need no
  final observation and get none.

  Slots are not all occupied: a world holds U{min_agents, n_agents} agents and removed
  agents wait for a free spawn. ``infos["active"]`` marks slots whose observation is real
  (others are zeros), ``infos["valid"]`` the slots whose transition counts (active before the
  step; their reward, termination and truncation are meaningful, the rest are 0/False), and
  ``infos["erratic"]`` the blind / braking drivers PPO excludes. Event flags ``collision``,
  ``offroad``, ``red_light``, ``wrong_way``, ``waypoint``, ``goal`` are [num_envs] bools.

``DriveParallelEnv`` (``pettingzoo.ParallelEnv``, convenient for per-agent code): agents are
  *lives*, named ``"w{world}_a{slot}_l{life}"``. A life that ends is removed from ``agents``
  and never returns (PettingZoo's rule); the slot's next life appears as a new agent in the
  same step. Because lives keep starting, ``possible_agents`` is every name seen since the
  last ``reset`` (it grows) rather than a list fixed in advance. ``step`` returns
  observations for the current ``agents`` and, when ``final_obs`` is on, for lives truncated
  in this step; rewards, terminations, truncations and infos for the lives that acted and for
  those that start in this step (reward 0, not done, empty info). Missing actions default
  to ``NOOP`` (no jerk). This wrapper builds Python dicts over agents, so it is for
  convenience, not speed.

Both require the ``gymnasium`` and ``pettingzoo`` packages (dependencies of simlab).
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import Any, ClassVar

import equinox as eqx
import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pettingzoo
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space

from simlab.drive import env as core
from simlab.drive.bank import MapBank
from simlab.drive.config import EnvConfig
from simlab.drive.observe import OBS_DIMS, observe
from simlab.drive.state import N_REWARD, WorldState

__all__ = ["BLOCKS", "EVENTS", "NOOP", "DriveParallelEnv", "DriveVectorEnv", "observation_space"]

BLOCKS = ("ego", "goals", "coef", "lanes", "boundary", "stops", "agents")
EVENTS = ("collision", "offroad", "red_light", "wrong_way", "waypoint", "goal")
NOOP = 7  # action index 3·i_long + i_lat with zero longitudinal and lateral jerk

# Module-level jitted core functions: every wrapper instance with the same config and array
# shapes shares one compilation.
_reset = jax.jit(core.reset, static_argnums=(1, 3))
_step = jax.jit(core.step, static_argnums=(1, 4))
_observe = jax.jit(observe, static_argnums=1)


def observation_space(cfg: EnvConfig) -> spaces.Dict:
    """The observation space of one agent: a Dict of float32 Boxes (unbounded; ``coef`` in
    [0, 1]). Shapes follow ``cfg``'s slot counts."""
    rows = dict(goals=cfg.n_goals, lanes=cfg.n_lanes, boundary=cfg.n_boundary,
                stops=cfg.n_stops, agents=cfg.n_partners)  # fmt: skip
    out = {}
    for name in BLOCKS:
        if name == "coef":
            out[name] = spaces.Box(0.0, 1.0, (N_REWARD,), np.float32)
            continue
        shape = (rows[name], OBS_DIMS[name]) if name in rows else (OBS_DIMS[name],)
        out[name] = spaces.Box(-np.inf, np.inf, shape, np.float32)
    return spaces.Dict(out)


def _frozen(cfg: EnvConfig) -> EnvConfig:
    """The same simulator with world resets disabled (for final observations)."""
    return dataclasses.replace(cfg, max_steps=2**30, reset_inactive_fraction=1e30)


class _Core:
    """The shared state machine: a ``WorldState`` advanced by the jitted core, with outputs
    as NumPy arrays of shape [W, A, ...]."""

    def __init__(self, bank: MapBank, cfg: EnvConfig, n_worlds: int, final_obs: bool):
        if n_worlds < 1:
            raise ValueError("n_worlds must be >= 1")
        self.bank, self.cfg, self.n_worlds, self.final_obs = bank, cfg, n_worlds, final_obs
        self.state: WorldState | None = None
        self._seeds = np.random.default_rng()

    def reset(self, seed: int | None) -> dict:
        if seed is not None:
            self._seeds = np.random.default_rng(seed)
        key = jax.random.key(int(self._seeds.integers(2**31)))
        self.state = _reset(self.bank, self.cfg, key, self.n_worlds)
        return self._obs(_observe(self.bank, self.cfg, self.state), self.state.active)

    def step(self, actions: np.ndarray) -> tuple:
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        actions = jnp.asarray(np.asarray(actions, np.int32).reshape(self.state.shape))
        old = self.state
        # the observation is a separate call, so it shares reset()'s compiled ``observe``
        new, _, reward, _, info = _step(self.bank, self.cfg, old, actions, False)
        obs = _observe(self.bank, self.cfg, new)
        self.state = new
        info = jax.device_get(info)
        valid = info["valid"]
        out = dict(
            obs=self._obs(obs, new.active),
            reward=np.where(valid, np.asarray(reward), 0.0).astype(np.float32),
            terminated=info["terminated"] & valid,
            truncated=info["truncated"] & valid,
            valid=valid,
            active=np.asarray(new.active),
            erratic=np.asarray(info["erratic"]),
            **{k: info[k] & valid for k in EVENTS},
        )
        out["final_obs"] = None
        if self.final_obs and out["truncated"].any():
            final = _observe(self.bank, self.cfg, self._without_resets(old, actions))
            out["final_obs"] = self._obs(final, out["truncated"])
        return out

    def _without_resets(self, old: WorldState, actions) -> WorldState:
        """s_{t+1} of every world as if no world were reset, from the same compiled step.

        The core resets a world at the episode limit (``step``) or when too many of its
        ``n_target`` agents are inactive. Here the episode clock is moved to 0, the lights'
        clock offsets absorb the elapsed time (the core's light clock is step·dt + offset, so
        light phases are unchanged up to float rounding of the sum, ~1 ms at worst), and the
        target count is raised, so neither rule fires and the rest of the step is the one
        the agents took. Only the observation of the result is used. Should a reset still
        happen (the core's rules changed), the step is redone with resets disabled in the
        config, which costs a second compilation."""
        clock = np.asarray(old.step, np.float32)[:, None] * np.float32(self.cfg.dt)
        shifted = eqx.tree_at(
            lambda s: (s.step, s.light_offset, s.n_target),
            old,
            (jnp.zeros_like(old.step), jnp.asarray(clock + np.asarray(old.light_offset)),
             jnp.full_like(old.n_target, 2**30)),
        )  # fmt: skip
        st = _step(self.bank, self.cfg, shifted, actions, False)[0]
        if not np.all(np.asarray(st.step) == 1):
            # correct but slower (a second compilation): say so, the shift above is stale
            warnings.warn(
                "final_obs: a reset rule fired despite the clock shift; recomputing with resets "
                "disabled (slower). simlab.drive.wrappers needs updating to the core's rules.",
                RuntimeWarning,
                stacklevel=2,
            )
            st = _step(self.bank, _frozen(self.cfg), old, actions, False)[0]
        return st

    @staticmethod
    def _obs(obs: dict, mask) -> dict:
        """Feature blocks as NumPy float32 [W, A, ...], zeroed where ``mask`` is False."""
        m = np.asarray(mask)
        out = {}
        for k in BLOCKS:
            x = np.array(obs[k], np.float32)
            x[~m] = 0.0
            out[k] = x
        return out


class DriveVectorEnv(gymnasium.vector.VectorEnv):
    """Gymnasium vector environment over W worlds × A agent slots (see module doc).

    bank: a ``MapBank``; cfg: the simulator config (``cfg.n_agents`` slots per world);
    n_worlds: W; final_obs: compute ``infos["final_obs"]`` for truncated lives."""

    metadata: ClassVar[dict] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(self, bank: MapBank, cfg: EnvConfig, n_worlds: int, final_obs: bool = True):
        self._core = _Core(bank, cfg, n_worlds, final_obs)
        self.num_envs = n_worlds * cfg.n_agents
        self.single_observation_space = observation_space(cfg)
        self.single_action_space = spaces.Discrete(12)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)

    @property
    def world_state(self) -> WorldState | None:
        """The current ``WorldState`` pytree (for rendering or analysis)."""
        return self._core.state

    def _flat(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.num_envs, *x.shape[2:])

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """(obs, infos): obs a dict of [num_envs, ...] float32 arrays; infos["active"]."""
        super().reset(seed=seed)
        obs = self._core.reset(seed)
        active = np.asarray(self._core.state.active)
        return {k: self._flat(v) for k, v in obs.items()}, {"active": self._flat(active)}

    def step(self, actions):
        """actions: [num_envs] ints in [0, 12). Returns (obs, rewards [num_envs] float32,
        terminations, truncations [num_envs] bool, infos)."""
        out = self._core.step(np.asarray(actions).reshape(self.num_envs))
        infos: dict[str, Any] = {
            k: self._flat(out[k]) for k in ("valid", "active", "erratic", *EVENTS)
        }
        if out["final_obs"] is not None:
            infos["final_obs"] = {k: self._flat(v) for k, v in out["final_obs"].items()}
            infos["_final_obs"] = self._flat(out["truncated"])
        obs = {k: self._flat(v) for k, v in out["obs"].items()}
        return (obs, self._flat(out["reward"]), self._flat(out["terminated"]),
                self._flat(out["truncated"]), infos)  # fmt: skip


class DriveParallelEnv(pettingzoo.ParallelEnv):
    """PettingZoo parallel environment whose agents are lives (see module doc)."""

    metadata: ClassVar[dict] = {
        "name": "simlab_drive",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(self, bank: MapBank, cfg: EnvConfig, n_worlds: int = 1, final_obs: bool = True):
        self._core = _Core(bank, cfg, n_worlds, final_obs)
        self._obs_space = observation_space(cfg)
        self._act_space = spaces.Discrete(12)
        self._life = np.zeros((n_worlds, cfg.n_agents), np.int64)
        self._active = np.zeros((n_worlds, cfg.n_agents), bool)
        self._seen: dict[str, None] = {}
        self.agents: list[str] = []

    @property
    def possible_agents(self) -> list[str]:
        """Every life seen since the last reset (grows as new lives start)."""
        return list(self._seen)

    @property
    def world_state(self) -> WorldState | None:
        return self._core.state

    def observation_space(self, agent: str) -> spaces.Dict:
        return self._obs_space

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_space

    def _name(self, w: int, a: int) -> str:
        return f"w{w}_a{a}_l{self._life[w, a]}"

    def _refresh_agents(self, active: np.ndarray) -> None:
        self._active = active
        self.agents = [self._name(w, a) for w, a in zip(*np.nonzero(active))]
        self._seen.update(dict.fromkeys(self.agents))

    def reset(self, seed: int | None = None, options: dict | None = None):
        """(observations, infos) keyed by the current agents."""
        obs = self._core.reset(seed)
        self._life[:] = 0
        self._seen = {}
        self._refresh_agents(np.asarray(self._core.state.active))
        idx = list(zip(*np.nonzero(self._active)))
        observations = {n: {k: obs[k][w, a] for k in BLOCKS} for n, (w, a) in zip(self.agents, idx)}
        return observations, {n: {} for n in self.agents}

    def step(self, actions: dict):
        """actions: {agent: int}. Returns (observations, rewards, terminations, truncations,
        infos) as dicts keyed by agent name."""
        acting = list(zip(*np.nonzero(self._active)))
        names = [self._name(w, a) for w, a in acting]
        grid = np.full(self._active.shape, NOOP, np.int32)
        for n, (w, a) in zip(names, acting):
            if n in actions:
                grid[w, a] = int(actions[n])
        out = self._core.step(grid)
        rewards, terms, truncs, infos = {}, {}, {}, {}
        observations = {}
        for n, (w, a) in zip(names, acting):
            rewards[n] = float(out["reward"][w, a])
            terms[n] = bool(out["terminated"][w, a])
            truncs[n] = bool(out["truncated"][w, a])
            infos[n] = {k: bool(out[k][w, a]) for k in ("erratic", *EVENTS)}
            if truncs[n] and out["final_obs"] is not None:
                observations[n] = {k: out["final_obs"][k][w, a] for k in BLOCKS}
            if terms[n] or truncs[n]:
                self._life[w, a] += 1
        # a slot that was empty and is now occupied starts the life its counter already names
        # (counters advance when a life ends)
        active = out["active"]
        self._refresh_agents(active)
        for n, (w, a) in zip(self.agents, zip(*np.nonzero(active))):
            observations[n] = {k: out["obs"][k][w, a] for k in BLOCKS}
            if n not in rewards:  # a life that starts now: it has not acted yet
                rewards[n], terms[n], truncs[n], infos[n] = 0.0, False, False, {}
        return observations, rewards, terms, truncs, infos
