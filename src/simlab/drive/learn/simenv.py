"""The driving simulator (``simlab.drive.env``) behind the learner's environment interface.

``SimEnv(bank, cfg, num_worlds)`` is an equinox module (the map bank is its array data; the
simulator config and the world count are static), with the methods ``rollout`` expects:

* ``observe(state, key)``: the simulator's observation (a pure function of the state: its
  dropout and noise come from the state's own key, so ``key`` is unused) as policy blocks:
  ``ego`` and ``coef`` are vectors; ``goals``, ``lanes``, ``boundary``, ``stops`` and
  ``agents`` are ``SetBlock``s (the simulator's trailing ``valid`` column becomes the mask).
* ``step(state, actions, key)``: one simulator step (its randomness also comes from the
  state's key). ``learn`` = active and not erratic; ``events`` = goal, waypoint, collision,
  offroad, red_light, wrong_way, timeout (truncated lives), comfort (steps with |a_long| > 3,
  |a_lat| > 3 or |C·jerk| > 5 m/s³), speed (sum of |v|, m/s) and distance (m).
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
from simlab.drive.bank import MapBank
from simlab.drive.config import EnvConfig
from simlab.drive.dynamics import action_jerks
from simlab.drive.learn.policy import SetBlock
from simlab.drive.observe import observe

__all__ = ["SET_BLOCKS", "SimEnv", "procedural_bank", "to_blocks"]

SET_BLOCKS = ("goals", "lanes", "boundary", "stops", "agents")


def to_blocks(raw: dict) -> dict:
    """Simulator observation dict -> policy blocks (set blocks split into x and valid).

    Per-slot masks that are not features (``active``) are dropped."""
    out = {}
    for name, x in raw.items():
        if name == "active":
            continue
        if name in SET_BLOCKS:
            out[name] = SetBlock(x[..., :-1], x[..., -1] > 0.5)
        else:
            out[name] = x
    return out


@functools.lru_cache(maxsize=8)
def procedural_bank(seed: int = 0, n: int = 3) -> MapBank:
    """A bank of ``n`` seeded procedural maps (grid towns, highways, roundabouts); cached."""
    from simlab.drive.bank import make_bank
    from simlab.drive.mapdata import build_map
    from simlab.drive.procgen import procedural_graphs

    return make_bank([build_map(g) for g in procedural_graphs(seed, n)])


class SimEnv(eqx.Module):
    bank: MapBank
    cfg: EnvConfig = eqx.field(static=True)
    num_worlds: int = eqx.field(static=True)

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
        j_long, j_lat = action_jerks(actions)
        jerk = jnp.maximum(jnp.abs(state.c_throttle * j_long), jnp.abs(state.c_steer * j_lat))
        comfort = (jnp.abs(new.a_long) > 3) | (jnp.abs(new.a_lat) > 3) | (jerk > 5)
        f = lambda x: (x & alive).astype(jnp.float32)  # noqa: E731
        events = {
            "goal": f(info["goal"]),
            "waypoint": f(info["waypoint"]),
            "collision": f(info["collision"]),
            "offroad": f(info["offroad"]),
            "red_light": f(info["red_light"]),
            "wrong_way": f(info["wrong_way"]),
            "timeout": f(trunc),
            "comfort": f(comfort),
            "speed": jnp.where(alive, jnp.abs(info["speed"]), 0.0),
            "distance": jnp.where(alive, jnp.abs(info["dist"]), 0.0),
        }
        out = {
            "alive": alive,
            "learn": alive & ~info["erratic"],
            "events": events,
            "final_state": final_state,
        }
        return new, reward, term, trunc, out
