"""A small batched multi-agent reach-the-goal task with the learner's environment interface.

W worlds × A slots in the square [-1, 1]². Each world holds n ~ U{1, A} agents (the other slots
are empty). Action a ∈ {0..11} moves an agent 0.1 along heading 2πa/12. Reward: progress
toward the goal (distance reduction) plus 1 on reaching it (within 0.15: terminal, the agent
respawns with a new goal) and -1 on coming within 0.05 of another agent (terminal, respawn).
Every ``horizon`` steps the whole world is truncated and reset (bootstrapped in GAE). A
fraction of agents is erratic: half of their actions are replaced by random ones, and their
transitions are excluded from learning. Observation blocks: ``ego`` [2] (position), ``goal``
[3] (relative goal, distance) and ``agents`` (relative positions of the others, a SetBlock).
A random policy reaches about 0.01 goals per agent-step; heading straight for the goal, about
0.1.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from simlab.drive.learn.policy import SetBlock

SPEED = 0.1
GOAL_RADIUS = 0.15
COLLIDE_RADIUS = 0.05


class ToyState(NamedTuple):
    pos: jax.Array  # [W, A, 2]
    goal: jax.Array  # [W, A, 2]
    alive: jax.Array  # [W, A] bool
    erratic: jax.Array  # [W, A] bool
    t: jax.Array  # [W] int32 steps since the world's reset


class ToyEnv(NamedTuple):
    """Pure functions over ``ToyState``; hashable config so it can be a static jit argument."""

    num_worlds: int = 8
    num_agents: int = 8
    horizon: int = 40
    erratic_frac: float = 0.1
    dt: float = 1.0

    def _spawn(self, key, w):
        kp, kg, kn, ke = jax.random.split(key, 4)
        a = self.num_agents
        pos = jax.random.uniform(kp, (w, a, 2), minval=-1.0, maxval=1.0)
        goal = jax.random.uniform(kg, (w, a, 2), minval=-1.0, maxval=1.0)
        n = jax.random.randint(kn, (w, 1), 1, a + 1)
        alive = jnp.arange(a)[None, :] < n
        erratic = jax.random.uniform(ke, (w, a)) < self.erratic_frac
        return pos, goal, alive, erratic

    def reset(self, key: jax.Array) -> ToyState:
        pos, goal, alive, erratic = self._spawn(key, self.num_worlds)
        return ToyState(pos, goal, alive, erratic, jnp.zeros((self.num_worlds,), jnp.int32))

    def observe(self, state: ToyState, key: jax.Array | None = None) -> dict:
        rel_goal = state.goal - state.pos
        dist = jnp.linalg.norm(rel_goal, axis=-1, keepdims=True)
        rel = state.pos[:, None, :, :] - state.pos[:, :, None, :]  # [W, A(ego), A(other), 2]
        rd = jnp.linalg.norm(rel, axis=-1, keepdims=True)
        eye = jnp.eye(self.num_agents, dtype=bool)[None]
        valid = state.alive[:, None, :] & ~eye & state.alive[:, :, None]
        return {
            "ego": state.pos,
            "goal": jnp.concatenate([rel_goal, dist], -1),
            "agents": SetBlock(jnp.concatenate([rel, rd], -1), valid),
        }

    def step(self, state: ToyState, actions: jax.Array, key: jax.Array):
        """One step. Returns (state, reward, terminated, truncated, info), all [W, A]."""
        k_err, k_act, k_spawn, k_reset = jax.random.split(key, 4)
        random_a = jax.random.randint(k_act, actions.shape, 0, 12)
        flip = state.erratic & (jax.random.uniform(k_err, actions.shape) < 0.5)
        actions = jnp.where(flip, random_a, actions)
        ang = 2 * jnp.pi * actions / 12
        move = SPEED * jnp.stack([jnp.cos(ang), jnp.sin(ang)], -1)
        new_pos = jnp.clip(state.pos + move, -1.0, 1.0)
        d0 = jnp.linalg.norm(state.goal - state.pos, axis=-1)
        d1 = jnp.linalg.norm(state.goal - new_pos, axis=-1)
        goal = d1 < GOAL_RADIUS
        pair = jnp.linalg.norm(new_pos[:, None] - new_pos[:, :, None], axis=-1)
        eye = jnp.eye(self.num_agents, dtype=bool)[None]
        both = state.alive[:, None, :] & state.alive[:, :, None] & ~eye
        collision = jnp.any(both & (pair < COLLIDE_RADIUS), axis=-1)
        alive = state.alive
        reward = jnp.where(alive, (d0 - d1) + goal - 1.0 * collision, 0.0)
        terminated = alive & (goal | collision)
        t = state.t + 1
        truncated = alive & (t >= self.horizon)[:, None] & ~terminated
        pre = ToyState(new_pos, state.goal, alive, state.erratic, t)
        # Respawn terminated agents in place of a new random position and goal.
        pos_n, goal_n, _, _ = self._spawn(k_spawn, self.num_worlds)
        pos = jnp.where(terminated[..., None], pos_n, new_pos)
        goals = jnp.where(terminated[..., None], goal_n, state.goal)
        # Worlds at the horizon reset entirely (new agent count, erratic flags, positions).
        wreset = t >= self.horizon
        r_pos, r_goal, r_alive, r_err = self._spawn(k_reset, self.num_worlds)
        wr = wreset[:, None]
        nxt = ToyState(
            jnp.where(wr[..., None], r_pos, pos),
            jnp.where(wr[..., None], r_goal, goals),
            jnp.where(wr, r_alive, alive),
            jnp.where(wr, r_err, state.erratic),
            jnp.where(wreset, 0, t),
        )
        info = {
            "alive": alive,
            "learn": alive & ~state.erratic,
            "final_state": pre,
            "events": {
                "goal": (alive & goal).astype(jnp.float32),
                "collision": (alive & collision).astype(jnp.float32),
                "distance": jnp.where(alive, jnp.linalg.norm(new_pos - state.pos, axis=-1), 0.0),
            },
        }
        return nxt, reward, terminated, truncated, info
