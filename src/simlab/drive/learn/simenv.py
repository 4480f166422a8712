"""The driving simulator (``simlab.drive.env``) behind the learner's environment interface.

``SimEnv(bank, cfg, num_worlds)`` is an equinox module (the map bank is its array data; the
simulator config and the world count are static), with the methods ``rollout`` expects:

* ``observe(state, key)``: the simulator's observation (a pure function of the state: its
  dropout and noise come from the state's own key, so ``key`` is unused) as policy blocks:
  ``ego`` and ``coef`` are vectors; ``goals``, ``lanes``, ``boundary``, ``stops`` and
  ``agents`` are ``SetBlock``s (the simulator's trailing ``valid`` column becomes the mask).
* ``step(state, actions, key)``: one simulator step (its randomness also comes from the
  state's key). ``learn`` = active and not erratic; ``events`` = goal, waypoint, collision,
  offroad, red_light, wrong_way, timeout (truncated lives), ``episodes`` (ended first lives:
  those begun at the world's reset) and ``episode_<goal|collision|offroad|timeout>`` (how
  they ended), comfort (steps with |a_long| > 3,
  |a_lat| > 3 or |C·jerk| > 5 m/s³), speed (sum of |v|, m/s), distance (m) and ``r_<term>``
  (each reward term of ``simlab.drive.reward``, summed: the scale and sign of every term);
  ``jerk`` (applied |C·j|, m/s³), ``progress`` and ``route_start`` (m, see ``_progress``).
  ``final_state`` for truncation bootstrapping: on steps where some world is truncated (and
  only then, under ``lax.cond``), the same step is recomputed with world resets disabled,
  giving the pre-reset state s_T whose value bootstraps the truncated lives.
"""

from __future__ import annotations

import dataclasses
import functools

import equinox as eqx
import jax
import jax.numpy as jnp

from simlab.drive import env as sim
from simlab.drive.bank import MapBank, route_distance
from simlab.drive.config import EnvConfig
from simlab.drive.dynamics import action_jerks
from simlab.drive.learn.policy import SetBlock
from simlab.drive.observe import observe

__all__ = [
    "IDLE_SPEED",
    "SET_BLOCKS",
    "SimEnv",
    "add_idle_penalty",
    "add_progress_reward",
    "procedural_bank",
    "to_blocks",
]

SET_BLOCKS = ("goals", "lanes", "boundary", "stops", "agents")


# Route-distance columns (km) of the simulator's layout (``simlab.drive.observe``): goals[4]
# (cumulative route distance), lanes[7] (to the current target) and lanes[8] (relative to the
# ego's). An unreachable target reads 1e5 m = 100 km, a hundred times the scale of every other
# feature: it swamps the encoders' first LayerNorm (and every max-pool over lanes), hiding the
# geometry. Clipping at ROUTE_CLIP km keeps "far or unreachable" distinguishable and bounded.
# The policy reads them in units of ROUTE_UNIT km (100 m): in km, the lanes that lead to the
# target differ from those that lead away by a few hundredths (tens of metres), a signal
# ten times weaker than the positions (/100 m) it must be compared with.
ROUTE_CLIP = 2.0
ROUTE_UNIT = 0.1
ROUTE_COLUMNS = {"goals": (4,), "lanes": (7, 8)}


def _clip_columns(x: jax.Array, cols: tuple[int, ...], c: float, unit: float) -> jax.Array:
    x = jnp.asarray(x)
    return x.at[..., list(cols)].set(jnp.clip(x[..., list(cols)], -c, c) / unit)


def to_blocks(raw: dict) -> dict:
    """Simulator observation dict -> policy blocks (set blocks split into x and valid).

    Per-slot masks that are not features (``active``) are dropped; route distances are
    clipped to ±``ROUTE_CLIP`` km and expressed in ``ROUTE_UNIT`` km (see
    ``ROUTE_COLUMNS``)."""
    out = {}
    for name, x in raw.items():
        if name == "active":
            continue
        if name in ROUTE_COLUMNS:
            x = _clip_columns(x, ROUTE_COLUMNS[name], ROUTE_CLIP, ROUTE_UNIT)
        if name in SET_BLOCKS:
            out[name] = SetBlock(x[..., :-1], x[..., -1] > 0.5)
        else:
            out[name] = x
    return out


@functools.lru_cache(maxsize=8)
def procedural_bank(seed: int = 0, n: int = 3, lane_row_step: float = 40.0) -> MapBank:
    """A bank of ``n`` seeded procedural maps (grid towns, highways, roundabouts), their
    W_lane rows ``lane_row_step`` m long; cached."""
    from simlab.drive.bank import make_bank
    from simlab.drive.mapdata import MapBuild, build_map
    from simlab.drive.procgen import procedural_graphs

    build = MapBuild(lane_row_step=lane_row_step)
    return make_bank([build_map(g, build) for g in procedural_graphs(seed, n)])


ROUTE_CAP = 2000.0  # m; a leg longer than this is unreachable (the map's 1e5 m sentinel)


def _route_legs(bank: MapBank, st, lane, s) -> jax.Array:
    """Route distance (m) [W, A] from (lane, s) through every remaining target of ``st`` to
    the final goal, each leg capped at ROUTE_CAP."""
    g = st.goal_lane.shape[-1]
    k = st.goal_idx[..., None] + jnp.arange(g)  # [W, A, G]
    valid = k < st.n_targets[..., None]
    kc = jnp.minimum(k, g - 1)
    glane = jnp.take_along_axis(st.goal_lane, kc, -1)
    gs = jnp.take_along_axis(st.goal_s, kc, -1)
    prev_lane = jnp.concatenate([lane[..., None], glane[..., :-1]], -1)
    prev_s = jnp.concatenate([s[..., None], gs[..., :-1]], -1)
    legs = jnp.minimum(route_distance(bank, prev_lane, prev_s, glane, gs), ROUTE_CAP)
    return jnp.where(valid, legs, 0.0).sum(-1)


def _progress(bank: MapBank, state, new, info, done) -> tuple[jax.Array, jax.Array]:
    """Per-agent progress of one step (spec §10.1), both [W, A] in metres.

    progress: reduction of the route distance to the current target; the full remaining
    distance when the target is reached, 0 on the step a life ends otherwise (the pose after
    it may belong to a new life), and clipped to ±(|distance driven| + 1 m) so lane changes
    and unreachable targets cannot produce jumps. route_start: for agents taking the first
    step of a life, the route distance from their position through all targets to the final
    goal (the denominator of the progress ratio)."""
    g = state.goal_lane.shape[-1]
    gi = jnp.minimum(state.goal_idx, g - 1)[..., None]
    t_lane = jnp.take_along_axis(state.goal_lane, gi, -1)[..., 0]
    t_s = jnp.take_along_axis(state.goal_s, gi, -1)[..., 0]
    before = jnp.minimum(route_distance(bank, state.lane, state.s, t_lane, t_s), ROUTE_CAP)
    after = jnp.minimum(route_distance(bank, new.lane, new.s, t_lane, t_s), ROUTE_CAP)
    reached = info["goal"] | info["waypoint"]
    step = jnp.where(reached, before, jnp.where(done, 0.0, before - after))
    lim = jnp.abs(info["dist"]) + 1.0
    progress = jnp.clip(step, -lim, lim)
    first = state.active & (state.life_steps == 0)
    route_start = jnp.where(first, _route_legs(bank, state, state.lane, state.s), 0.0)
    return progress, route_start


def add_progress_reward(reward, events: dict, alive, k: float):
    """(reward + k·progress, events + ``r_progress``) for alive agents, all [W, A]:
    the learner-side shaping term, k per metre of route progress (``events["progress"]``)."""
    shaping = jnp.where(alive, k * events["progress"], 0.0)
    return reward + shaping, {**events, "r_progress": shaping}


IDLE_SPEED = 0.5  # m/s: below this an agent counts as standing still (``add_idle_penalty``)


def add_idle_penalty(reward, events: dict, alive, speed, c: float, dt: float):
    """(reward − c·Δt for alive agents slower than IDLE_SPEED, events + ``r_idle``), all
    [W, A]; speed (m/s). c is per second of standing still, wherever (red lights too)."""
    pen = jnp.where(alive & (jnp.abs(speed) < IDLE_SPEED), -c * dt, 0.0)
    return reward + pen, {**events, "r_idle": pen}


class SimEnv(eqx.Module):
    bank: MapBank
    cfg: EnvConfig = eqx.field(static=True)
    num_worlds: int = eqx.field(static=True)
    # Learner-side shaping (not part of §7): reward per metre of route progress toward the
    # current target (``_progress``); 0 = the simulator's reward unchanged.
    progress_reward: float = eqx.field(static=True, default=0.0)
    # Learner-side penalty per second of standing still (``add_idle_penalty``); 0 = none.
    idle_penalty: float = eqx.field(static=True, default=0.0)

    @property
    def dt(self) -> float:
        return self.cfg.dt

    def reset(self, key: jax.Array):
        return sim.reset(self.bank, self.cfg, key, self.num_worlds)

    def observe(self, state, key=None) -> dict:
        return to_blocks(observe(self.bank, self.cfg, state))

    def step(self, state, actions, key=None):
        new, _, reward, _, info = sim.step(self.bank, self.cfg, state, actions, with_obs=False)
        alive = info["valid"]
        term, trunc = info["terminated"] & alive, info["truncated"] & alive
        frozen = dataclasses.replace(self.cfg, max_steps=2**30, reset_inactive_fraction=1e30)
        final_state = jax.lax.cond(
            jnp.any(trunc),
            lambda s: sim.step(self.bank, frozen, s, actions, with_obs=False)[0],
            lambda s: new,
            state,
        )
        progress, route_start = _progress(self.bank, state, new, info, term | trunc)
        j_long, j_lat = action_jerks(actions)
        jerk = jnp.maximum(jnp.abs(state.c_throttle * j_long), jnp.abs(state.c_steer * j_lat))
        comfort = (jnp.abs(new.a_long) > 3) | (jnp.abs(new.a_lat) > 3) | (jerk > 5)
        f = lambda x: (x & alive).astype(jnp.float32)  # noqa: E731
        # An agent's episode is its first life, the one that began at its world's reset
        # (it has lived every step of the episode so far): it ends in the goal, an incident
        # or the episode limit, so its outcome shares are not biased by lives that begin
        # after a goal or a respawn and are cut short by the world's end.
        first = (info["life_steps"] == (state.step + 1)[:, None]) & (term | trunc)
        events = {
            "goal": f(info["goal"]),
            "waypoint": f(info["waypoint"]),
            "collision": f(info["collision"]),
            "offroad": f(info["offroad"]),
            "red_light": f(info["red_light"]),
            "wrong_way": f(info["wrong_way"]),
            "timeout": f(trunc),
            "episodes": f(first),
            **{f"episode_{n}": f(first & info[n]) for n in ("goal", "collision", "offroad")},
            "episode_timeout": f(first & trunc),
            "comfort": f(comfort),
            "speed": jnp.where(alive, jnp.abs(info["speed"]), 0.0),
            "distance": jnp.where(alive, jnp.abs(info["dist"]), 0.0),
            "jerk": jnp.where(alive, jerk, 0.0),
            "progress": jnp.where(alive, progress, 0.0),
            "route_start": jnp.where(alive, route_start, 0.0),
            # per-term reward sums (diagnostics: scale and sign of each term of §7)
            **{f"r_{n}": jnp.where(alive, r, 0.0) for n, r in info["reward_terms"].items()},
        }
        if self.progress_reward:
            reward, events = add_progress_reward(reward, events, alive, self.progress_reward)
        if self.idle_penalty:
            reward, events = add_idle_penalty(
                reward, events, alive, info["speed"], self.idle_penalty, self.cfg.dt
            )
        out = {
            "alive": alive,
            "learn": alive & ~info["erratic"],
            "events": events,
            "final_state": final_state,
        }
        return new, reward, term, trunc, out
