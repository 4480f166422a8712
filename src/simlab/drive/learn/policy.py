"""The Deep-Sets driving policy (spec §8): separate actor and critic networks in equinox.

An observation is a dict of named blocks (the simulator's layout is read from an example, so
the network adapts to whatever blocks it emits):

* a **vector** block is an array ``[..., F]`` (ego state S, goals G, conditioning C);
* a **set** block is a ``SetBlock(x [..., N, F], valid [..., N] bool)`` (lanes, road edges,
  stop lines/lights, other agents).

Each block has its own encoder ``Dense(F, w) → LayerNorm → ReLU → Dense(w, w)`` (one hidden
layer, the CPU choice of §8). Set blocks are then reduced by a channel-wise max over their
valid rows; a set with no valid row pools to 0. The encodings are concatenated in block-name
order and go through the GELU backbone and a linear head: 12 logits for the actor, one
scalar for the critic. Actor and critic share nothing (the paper found this more robust at
low entropy). Leading batch dimensions ``...`` are arbitrary: everything is a matmul over the
last axis, so ``[T, W, A]`` batches need no vmap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp

__all__ = [
    "POLICY_CONFIGS",
    "ActorCritic",
    "DeepSetsNet",
    "PolicyConfig",
    "SetBlock",
    "make_policy",
    "masked_max",
    "num_params",
    "obs_spec",
]

N_ACTIONS = 12


class SetBlock(NamedTuple):
    """A set-valued observation block: features ``x [..., N, F]`` and ``valid [..., N]``."""

    x: jax.Array
    valid: jax.Array


@dataclass(frozen=True)
class PolicyConfig:
    """Network sizes. ``encoder_width`` w per block; ``backbone`` hidden widths."""

    encoder_width: int = 64
    backbone: tuple[int, ...] = (256, 256, 256)
    n_actions: int = N_ACTIONS

    def __post_init__(self):
        if self.encoder_width < 1 or not self.backbone or min(self.backbone) < 1:
            raise ValueError("encoder_width and backbone widths must be positive")


# §8's table: smoke (CI) ~30 k parameters per net, cpu ~0.25 M, full (paper) ~3 M.
POLICY_CONFIGS = {
    "smoke": PolicyConfig(32, (64, 64)),
    "cpu": PolicyConfig(64, (256, 256, 256)),
    "full": PolicyConfig(128, (1024, 1024, 1024)),
}


def obs_spec(obs: dict) -> dict[str, tuple[str, int]]:
    """Block name -> ("set" | "vec", feature count F), read from an example observation."""
    spec = {}
    for name in sorted(obs):
        block = obs[name]
        if isinstance(block, SetBlock):
            spec[name] = ("set", int(block.x.shape[-1]))
        else:
            spec[name] = ("vec", int(block.shape[-1]))
    return spec


class Dense(eqx.Module):
    """``x @ w + b`` over the last axis; w [F_in, F_out] (PyTorch-style uniform init)."""

    w: jax.Array
    b: jax.Array

    def __init__(self, n_in: int, n_out: int, key: jax.Array, scale: float = 1.0):
        bound = 1.0 / math.sqrt(n_in)
        kw, kb = jax.random.split(key)
        self.w = scale * jax.random.uniform(kw, (n_in, n_out), jnp.float32, -bound, bound)
        self.b = scale * jax.random.uniform(kb, (n_out,), jnp.float32, -bound, bound)

    def __call__(self, x: jax.Array) -> jax.Array:
        # One 2-D GEMM over the flattened leading dims: for set blocks [B, N, F] XLA CPU
        # computes the weight gradient of the 3-D form about 1.3x slower (same values).
        lead = x.shape[:-1]
        return (x.reshape(-1, x.shape[-1]) @ self.w + self.b).reshape(*lead, self.w.shape[1])


class LayerNorm(eqx.Module):
    """Layer normalisation over the last axis with learned gain and bias."""

    g: jax.Array
    b: jax.Array
    eps: float = eqx.field(static=True, default=1e-5)

    def __init__(self, n: int):
        self.g = jnp.ones((n,), jnp.float32)
        self.b = jnp.zeros((n,), jnp.float32)

    def __call__(self, x: jax.Array) -> jax.Array:
        mu = x.mean(-1, keepdims=True)
        var = jnp.square(x - mu).mean(-1, keepdims=True)
        return (x - mu) * jax.lax.rsqrt(var + self.eps) * self.g + self.b


class Encoder(eqx.Module):
    """Per-element encoder: Dense → LayerNorm → ReLU → Dense."""

    inp: Dense
    norm: LayerNorm
    out: Dense

    def __init__(self, n_in: int, width: int, key: jax.Array):
        k1, k2 = jax.random.split(key)
        self.inp = Dense(n_in, width, k1)
        self.norm = LayerNorm(width)
        self.out = Dense(width, width, k2)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(jax.nn.relu(self.norm(self.inp(x))))


def masked_max(h: jax.Array, valid: jax.Array) -> jax.Array:
    """Channel-wise max of ``h [..., N, C]`` over rows with ``valid [..., N]``; 0 if none."""
    # The max is taken as a gather at the per-channel arg-max: the same values, and its
    # gradient (a scatter to one row per channel) is ~2x cheaper on XLA CPU than the
    # transpose of a reduce-max, about half of an encoder's backward pass. (Exact ties
    # send the gradient to one row instead of splitting it: another subgradient.)
    neg = jnp.finfo(h.dtype).min
    arg = jnp.argmax(jnp.where(valid[..., None], h, neg), axis=-2)
    pooled = jnp.take_along_axis(h, arg[..., None, :], axis=-2)[..., 0, :]
    return jnp.where(jnp.any(valid, axis=-1)[..., None], pooled, 0.0)


class DeepSetsNet(eqx.Module):
    """One Deep-Sets network: block encoders → concat → GELU backbone → linear head."""

    encoders: dict[str, Encoder]
    backbone: list[Dense]
    head: Dense
    spec: dict[str, tuple[str, int]] = eqx.field(static=True)

    def __init__(self, spec, cfg: PolicyConfig, n_out: int, key: jax.Array, head_scale=1.0):
        names = sorted(spec)
        keys = jax.random.split(key, len(names) + len(cfg.backbone) + 1)
        self.spec = {n: tuple(spec[n]) for n in names}
        self.encoders = {n: Encoder(spec[n][1], cfg.encoder_width, k) for n, k in zip(names, keys)}
        widths = (cfg.encoder_width * len(names), *cfg.backbone)
        self.backbone = [
            Dense(a, b, k) for a, b, k in zip(widths[:-1], widths[1:], keys[len(names) :])
        ]
        self.head = Dense(widths[-1], n_out, keys[-1], scale=head_scale)

    def __call__(self, obs: dict) -> jax.Array:
        """Output ``[..., n_out]`` for observation blocks with leading dims ``...``."""
        parts = []
        for name, enc in self.encoders.items():
            block = obs[name]
            if self.spec[name][0] == "set":
                parts.append(masked_max(enc(block.x), block.valid))
            else:
                parts.append(enc(block))
        h = jnp.concatenate(parts, axis=-1)
        for layer in self.backbone:
            h = jax.nn.gelu(layer(h))
        return self.head(h)


class ActorCritic(eqx.Module):
    """Separate actor (logits ``[..., 12]``) and critic (value ``[...]``) networks."""

    actor: DeepSetsNet
    critic: DeepSetsNet

    def __call__(self, obs: dict) -> tuple[jax.Array, jax.Array]:
        """(logits [..., n_actions], value [...]) for a batch of observations."""
        return self.actor(obs), self.critic(obs)[..., 0]


def make_policy(spec: dict, cfg: PolicyConfig, key: jax.Array) -> ActorCritic:
    """A freshly initialised actor-critic for observations of layout ``spec`` (see obs_spec).

    The actor head starts at 1/100 scale so the initial policy is close to uniform.
    Initialisation is jitted (one compilation instead of one per eager random op).
    """
    return _init(tuple(sorted(spec.items())), cfg, key)


@eqx.filter_jit
def _init(spec: tuple, cfg: PolicyConfig, key: jax.Array) -> ActorCritic:
    spec = dict(spec)
    ka, kc = jax.random.split(key)
    return ActorCritic(
        actor=DeepSetsNet(spec, cfg, cfg.n_actions, ka, head_scale=0.01),
        critic=DeepSetsNet(spec, cfg, 1, kc, head_scale=1.0),
    )


def num_params(tree) -> int:
    """Number of scalar parameters in the array leaves of ``tree``."""
    leaves = jax.tree_util.tree_leaves(tree)
    return sum(math.prod(x.shape) for x in leaves if hasattr(x, "shape"))
