"""PPO with advantage filtering (spec §9): GAE, the clipped loss and the filtered update.

Everything here is a pure function of arrays and is traced inside the training iteration's
``jit`` (see ``simlab.drive.learn.train``). Shapes: rollouts are ``[T, B]`` (time × agent
slots, B = worlds × agents); the update works on the flattened N = T·B samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

from simlab.drive.learn.filter import compact, filter_threshold

__all__ = [
    "PPOConfig",
    "cosine_lr",
    "ent_schedule",
    "gae",
    "make_optimizer",
    "ppo_loss",
    "ppo_update",
]


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters (spec §9; [S] values as defaults)."""

    gamma: float = 0.999
    lam: float = 0.95
    clip: float = 0.2
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    # Entropy coefficient at the last iteration; None keeps ``ent_coef`` throughout. In
    # between it moves linearly with the iteration (``ent_schedule``).
    ent_coef_final: float | None = None
    max_grad_norm: float = 0.5
    lr: float = 5e-4
    epochs: int = 3
    minibatch: int = 4096
    adv_filter: bool = True
    filter_beta: float = 0.25
    filter_scale: float = 0.01
    adam_eps: float = 1e-5

    def __post_init__(self):
        if not (0 < self.gamma <= 1 and 0 <= self.lam <= 1):
            raise ValueError("gamma must be in (0, 1] and lam in [0, 1]")
        if self.epochs < 1 or self.minibatch < 1:
            raise ValueError("epochs and minibatch must be >= 1")
        if self.ent_coef < 0 or (self.ent_coef_final is not None and self.ent_coef_final < 0):
            raise ValueError("ent_coef and ent_coef_final must be >= 0")


def cosine_lr(lr0: float, k: jax.Array, total: jax.Array | int) -> jax.Array:
    """α_k = α₀/2·[1 − cos(π − πk/K)]: α₀ at k = 0, falling to 0 at k = K (iterations)."""
    total = jnp.asarray(total, jnp.float32)
    k = jnp.minimum(jnp.asarray(k, jnp.float32), total)
    return lr0 / 2 * (1 - jnp.cos(jnp.pi - jnp.pi * k / total))


def ent_schedule(cfg: PPOConfig, k: jax.Array, total: jax.Array | int) -> jax.Array:
    """Entropy coefficient at iteration k of K: ``ent_coef`` → ``ent_coef_final`` linearly
    (constant when ``ent_coef_final`` is None)."""
    if cfg.ent_coef_final is None:
        return jnp.asarray(cfg.ent_coef, jnp.float32)
    frac = jnp.minimum(jnp.asarray(k, jnp.float32) / jnp.asarray(total, jnp.float32), 1.0)
    return cfg.ent_coef + (cfg.ent_coef_final - cfg.ent_coef) * frac


def gae(
    rewards: jax.Array,
    values: jax.Array,
    last_value: jax.Array,
    terminated: jax.Array,
    truncated: jax.Array,
    final_values: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates and value targets, both [T, B].

    rewards r_t, values V(s_t), terminated, truncated, final_values: [T, B]; last_value
    V(s_T) of the observation after the last step: [B]. At a termination the next value is 0
    (no bootstrap); at a truncation it is ``final_values`` = V of the last state before the
    reset (infinite-horizon emulation); otherwise it is V(s_{t+1}). Either ends the episode,
    so the λ-recursion does not cross it:
        δ_t = r_t + γ·V_next,t − V(s_t),   A_t = δ_t + γλ(1 − done_t)·A_{t+1}.
    """
    next_v = jnp.concatenate([values[1:], last_value[None]], axis=0)
    next_v = jnp.where(terminated, 0.0, jnp.where(truncated, final_values, next_v))
    delta = rewards + gamma * next_v - values
    cont = gamma * lam * (1.0 - (terminated | truncated).astype(values.dtype))

    def back(a_next, xs):
        d, c = xs
        a = d + c * a_next
        return a, a

    _, adv = jax.lax.scan(back, jnp.zeros_like(last_value), (delta, cont), reverse=True)
    return adv, adv + values


def make_optimizer(cfg: PPOConfig) -> optax.GradientTransformation:
    """Global-norm clipping then Adam's direction; the caller scales by −α_k (cosine)."""
    return optax.chain(
        optax.clip_by_global_norm(cfg.max_grad_norm), optax.scale_by_adam(eps=cfg.adam_eps)
    )


def ppo_loss(policy, mb: dict, w: jax.Array, cfg: PPOConfig, ent_coef=None):
    """Clipped PPO loss on one minibatch; ``w`` [M] is 1 for real samples, 0 for padding.
    ``ent_coef`` (scalar, may be traced) overrides ``cfg.ent_coef``.

    Advantages are normalised over the minibatch's real samples. Loss =
    −min(ρA, clip(ρ, 1±ε)A) + c_v·½(V − R)² − c_e·H, each averaged over real samples.
    """
    logits, value = policy(mb["obs"])
    logp_all = jax.nn.log_softmax(logits)
    logp = jnp.take_along_axis(logp_all, mb["action"][:, None], axis=-1)[:, 0]
    n = jnp.maximum(w.sum(), 1.0)
    adv = mb["adv"]
    mu = (adv * w).sum() / n
    std = jnp.sqrt((jnp.square(adv - mu) * w).sum() / n)
    adv = (adv - mu) / (std + 1e-8)
    ratio = jnp.exp(logp - mb["logp"])
    pg = -jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - cfg.clip, 1 + cfg.clip) * adv)
    v_loss = 0.5 * jnp.square(value - mb["ret"])
    entropy = -(jnp.exp(logp_all) * logp_all).sum(-1)
    pg, v_loss, entropy = ((x * w).sum() / n for x in (pg, v_loss, entropy))
    clipfrac = ((jnp.abs(ratio - 1) > cfg.clip) * w).sum() / n
    approx_kl = (((ratio - 1) - (logp - mb["logp"])) * w).sum() / n
    c_ent = cfg.ent_coef if ent_coef is None else ent_coef
    loss = pg + cfg.vf_coef * v_loss - c_ent * entropy
    return loss, {
        "pg_loss": pg,
        "v_loss": v_loss,
        "entropy": entropy,
        "clipfrac": clipfrac,
        "approx_kl": approx_kl,
    }


def ppo_update(
    policy,
    opt_state,
    data: dict,
    learn: jax.Array,
    lr: jax.Array,
    filt: tuple[jax.Array, jax.Array],
    key: jax.Array,
    cfg: PPOConfig,
    tx: optax.GradientTransformation,
    ent_coef: jax.Array | None = None,
):
    """Filter, then ``cfg.epochs`` epochs of shuffled minibatch updates over the kept samples.

    data: samples [S, n, ...] in S data shards (S = 1 without data parallelism; with
    sharding, shard s lives on one device) with keys obs (pytree), action, logp, adv, ret.
    learn [S, n] bool: learnable samples (alive, not erratic). filt = (Ā_max, first).
    Each step takes m = minibatch / S samples from every shard (local gathers), and the loss
    averages over all S·m, so gradients are all-reduced (DD-PPO). Only the
    ceil(max_s n_kept_s / m) minibatches that hold kept samples run (a while loop with a
    traced trip count), so compute shrinks with the filter; padding is masked.
    Returns (policy, opt_state, new Ā_max, stats).
    """
    s_count, n = learn.shape
    m = max(1, min(cfg.minibatch // s_count, n))
    ewma, first = filt
    if cfg.adv_filter:
        eta, ewma = filter_threshold(
            data["adv"], learn, ewma, first, cfg.filter_beta, cfg.filter_scale
        )
        keep = learn & (jnp.abs(data["adv"]) >= eta)
    else:
        eta = jnp.zeros(())
        keep = learn
    kept = keep.sum(axis=1).astype(jnp.int32)  # [S]
    n_mb = (kept.max() + m - 1) // m
    cap = math.ceil(n / m) * m  # pad the index buffer so the last slice stays in range
    params, static = eqx.partition(policy, eqx.is_array)

    def loss_fn(p, mb, w):
        flat = jax.tree_util.tree_map(lambda x: x.reshape(-1, *x.shape[2:]), (mb, w))
        return ppo_loss(eqx.combine(p, static), *flat, cfg, ent_coef)

    grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
    take = jax.vmap(lambda x, i: x[i])  # per-shard gather: [S, n, ...], [S, m] -> [S, m, ...]

    def epoch(e, carry):
        params, opt_state, stats = carry
        ek = jax.random.split(jax.random.fold_in(key, e), s_count)
        order = jax.vmap(lambda k: jax.random.permutation(k, n).astype(jnp.int32))(ek)
        idx, _ = jax.vmap(compact)(keep, order)
        idx = jnp.pad(idx, ((0, 0), (0, cap - n)))

        def minibatch(i, carry):
            params, opt_state, stats = carry
            sel = jax.lax.dynamic_slice_in_dim(idx, i * m, m, axis=1)
            w = ((i * m + jnp.arange(m))[None, :] < kept[:, None]).astype(jnp.float32)
            mb = jax.tree_util.tree_map(lambda x: take(x, sel), data)
            (loss, aux), grads = grad_fn(params, mb, w)
            updates, opt_state = tx.update(grads, opt_state, params)
            params = jax.tree_util.tree_map(lambda p, u: p - lr * u, params, updates)
            aux = {**aux, "loss": loss, "grad_norm": optax.tree.norm(grads)}
            if hasattr(grads, "actor") and hasattr(grads, "critic"):  # before clipping
                aux["grad_norm_actor"] = optax.tree.norm(grads.actor)
                aux["grad_norm_critic"] = optax.tree.norm(grads.critic)
            stats = jax.tree_util.tree_map(jnp.add, stats, aux)
            return params, opt_state, stats

        return jax.lax.fori_loop(0, n_mb, minibatch, (params, opt_state, stats))

    names = ("pg_loss", "v_loss", "entropy", "clipfrac", "approx_kl", "loss", "grad_norm")
    if hasattr(policy, "actor") and hasattr(policy, "critic"):
        names += ("grad_norm_actor", "grad_norm_critic")
    zero = {k: jnp.zeros(()) for k in names}
    params, opt_state, stats = jax.lax.fori_loop(0, cfg.epochs, epoch, (params, opt_state, zero))
    steps = jnp.maximum(n_mb * cfg.epochs, 1).astype(jnp.float32)
    stats = {k: v / steps for k, v in stats.items()}
    n_kept = kept.sum()
    n_learn = learn.sum()
    stats.update(
        n_kept=n_kept,
        n_learn=n_learn,
        frac_filtered=1.0 - n_kept / jnp.maximum(n_learn, 1),
        eta=eta,
        adv_max_ewma=ewma,
        updates=n_mb * cfg.epochs,
    )
    return eqx.combine(params, static), opt_state, ewma, stats
