"""RAVI-MCVI: unadjusted Langevin proposals with learned reverse kernels (paper Fig. 3).

**Proposal.** x_1 ∼ q0 = N(0, 3²), then M steps of ULA with step ε = 0.015:
x_{t+1} = x_t + ε∇log π(x_t) + √(2ε) ξ_t, kernel k(x_{t+1} | x_t) = N(x_t + ε∇log π(x_t), 2ε).
The output is x = x_{M+1}; the auxiliary variables are u = x_{1:M} and q(x) is intractable.

**Meta-inference** (a :class:`simlab.ravi.sp.SequentialMeta`): backward SMC over x_M, …, x_1
with learned reverse kernels r_t(x_t | x_{t+1}) (an equinox MLP with step embeddings) and
intermediate targets m_t (Gaussian fits of the forward marginals):

    init: log W = log m_{M+1}(x_{M+1});  step t = M..1: x_t ∼ r_t(· | x_{t+1}),
    log W += log m_t(x_t) − log m_{t+1}(x_{t+1}) + log k(x_{t+1} | x_t) − log r_t(x_t | x_{t+1})

One particle telescopes to log q0(x_1) + Σ log k − Σ log r: K = 1 is MCVI (Salimans et al.
2015), K > 1 is RAVI-MCVI(K); ``random_weighted`` retains the true trajectory (cSMC).

Targets are 1-D and normalised (log Z = 0), so −ELBO = KL-type gap ≥ 0 in expectation.
Shapes: scalars x are float arrays of shape (); chains are [M_MAX + 1] (x_1..x_{M_MAX+1}).
M may be a traced int32 (loops are ``fori_loop``), so one compilation serves every M.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.stats import norm

from simlab.gen import logmath
from simlab.ravi.sp import RaviProposal, SequentialMeta, importance

__all__ = [
    "EPS",
    "M_MAX",
    "TARGETS",
    "Marginals",
    "ReverseKernel",
    "ais_mala",
    "ais_schedule",
    "fit_marginals",
    "forward_chain",
    "learned_marginal_weights",
    "mcvi_proposal",
    "mcvi_weights",
    "train_reverse_kernel",
]

EPS = 0.015
Q0_SD = 3.0
M_MAX = 100


def log_unimodal(x):
    """log N(x; −1, 0.2²)."""
    return norm.logpdf(x, -1.0, 0.2)


def log_multimodal(x):
    """log [0.5 N(−3, 0.3²) + 0.2 N(0, 1) + 0.3 N(2, 0.2²)]."""
    comps = jnp.stack(
        [
            jnp.log(0.5) + norm.logpdf(x, -3.0, 0.3),
            jnp.log(0.2) + norm.logpdf(x, 0.0, 1.0),
            jnp.log(0.3) + norm.logpdf(x, 2.0, 0.2),
        ]
    )
    return logmath.logsumexp(comps, axis=0)


TARGETS: dict[str, Callable] = {"unimodal": log_unimodal, "multimodal": log_multimodal}


def log_q0(x):
    return norm.logpdf(x, 0.0, Q0_SD)


def _drift(log_target, x, eps):
    return x + eps * jax.grad(log_target)(x)


def log_k(log_target, x_next, x, eps=EPS):
    """log k(x_next | x) = log N(x_next; x + ε∇log π(x), 2ε)."""
    return norm.logpdf(x_next, _drift(log_target, x, eps), jnp.sqrt(2 * eps))


def forward_chain(key, log_target, M, eps=EPS, m_max=M_MAX):
    """One ULA chain: (xs [m_max + 1] with xs[t−1] = x_t for t ≤ M+1, log q(x_{1:M+1}))."""
    k0, k1 = jax.random.split(key)
    x1 = Q0_SD * jax.random.normal(k0, dtype=jnp.result_type(float))
    noise = jax.random.normal(k1, (m_max,), dtype=x1.dtype)
    xs = jnp.zeros(m_max + 1, x1.dtype).at[0].set(x1)

    def body(t, state):
        xs, lq = state
        x = xs[t]
        x_next = _drift(log_target, x, eps) + jnp.sqrt(2 * eps) * noise[t]
        return xs.at[t + 1].set(x_next), lq + log_k(log_target, x_next, x, eps)

    return jax.lax.fori_loop(0, M, body, (xs, log_q0(x1)))


class ReverseKernel(eqx.Module):
    """r_t(x_t | x_{t+1}) = N(mean, exp(log_sd)²) from an MLP on [e_t, x_{t+1}].

    e_t: a learned 10-d step embedding (table [100, 10], init N(0, 1)); layers 11 → 100 → 100
    → 20 → 2 with ReLU. ``t`` is 1-based (the index of the step being predicted).
    """

    emb: jax.Array
    layers: list

    def __init__(self, key, n_steps: int = M_MAX, dim: int = 10):
        ks = jax.random.split(key, 5)
        self.emb = jax.random.normal(ks[0], (n_steps, dim))
        sizes = [dim + 1, 100, 100, 20, 2]
        self.layers = [eqx.nn.Linear(a, b, key=k) for a, b, k in zip(sizes, sizes[1:], ks[1:])]

    def __call__(self, t, x_next):
        """(mean, sd) of r_t(· | x_next); t: int (1-based), x_next: float scalar."""
        h = jnp.concatenate([self.emb[t - 1], jnp.reshape(x_next, (1,)).astype(self.emb.dtype)])
        for layer in self.layers[:-1]:
            h = jax.nn.relu(layer(h))
        mean, log_sd = self.layers[-1](h)
        return mean, jnp.exp(log_sd)


@dataclass(frozen=True)
class Marginals:
    """Gaussian step marginals m_t = N(mean[t], sd[t]²) for t = 1..M_MAX+1 ([M_MAX + 2]; index
    0 unused); m_1 = q0 exactly."""

    mean: jax.Array
    sd: jax.Array

    def logpdf(self, t, x):
        return norm.logpdf(x, self.mean[t], self.sd[t])


def fit_marginals(key, log_target, n_chains: int = 100, eps=EPS, m_max=M_MAX) -> Marginals:
    """Fit m_t (t = 2..m_max+1) to ``n_chains`` warm-up chains of m_max steps; m_1 = q0."""
    xs, _ = jax.vmap(lambda k: forward_chain(k, log_target, m_max, eps, m_max))(
        jax.random.split(key, n_chains)
    )
    mean = jnp.concatenate([jnp.zeros(2), xs[:, 1:].mean(0)])
    sd = jnp.concatenate([jnp.array([1.0, Q0_SD]), xs[:, 1:].std(0, ddof=1)])
    return Marginals(mean, sd)


def _meta(log_target, reverse, marg: Marginals, eps) -> SequentialMeta:
    """Backward SMC over x_M..x_1 given x = x_{M+1}; args = (M,)."""

    def init(x, M):
        return x, marg.logpdf(M + 1, x)

    def propose(key, x_next, s, x, M):
        mean, sd = reverse(M - s, x_next)
        return mean + sd * jax.random.normal(key, dtype=jnp.result_type(float))

    def extend(x_next, s, x_t, x, M):
        t = M - s
        mean, sd = reverse(t, x_next)
        incr = (
            marg.logpdf(t, x_t)
            - marg.logpdf(t + 1, x_next)
            + log_k(log_target, x_next, x_t, eps)
            - norm.logpdf(x_t, mean, sd)
        )
        return x_t, incr

    return SequentialMeta(init, propose, extend, n_steps=lambda x, M: M)


def mcvi_proposal(
    log_target, reverse, marginals: Marginals, K: int = 1, ess_threshold=0.0, eps=EPS
) -> RaviProposal:
    """The ULA proposal with backward-SMC meta-inference as an SP; call with args (M,).

    ``reverse(t, x_next) -> (mean, sd)``: a :class:`ReverseKernel` or any such function.
    K = 1: MCVI; K > 1: RAVI-MCVI(K). ess_threshold: fraction of K (0 = SIR, never resample).
    """

    def sample_joint(key, M):
        xs, lq = forward_chain(key, log_target, M, eps)
        x = xs[M]
        # u in meta order: u[s] = x_{M−s} = xs[M−1−s] for s < M.
        u = xs[jnp.clip(M - 1 - jnp.arange(M_MAX), 0, M_MAX)]
        return x, u, lq

    return RaviProposal(sample_joint, _meta(log_target, reverse, marginals, eps), K, ess_threshold)


def mcvi_weights(key, log_target, reverse, marginals, M, K, n, ess_threshold=0.0):
    """[n] IS weights log w = log π(x) − log q̂(x) of RAVI-MCVI(K) at M steps.

    mean = ELBO_RAVI estimate (E ≤ log Z = 0); logmeanexp = log_z_hat (E[exp] = Z = 1)."""
    prop = mcvi_proposal(log_target, reverse, marginals, K, ess_threshold)
    return importance(key, log_target, prop, n, args=(M,)).log_weights


def learned_marginal_weights(key, log_target, marginals: Marginals, M, n):
    """[n] weights of proposing from the fitted marginal m_{M+1} directly (the law of x_{M+1}).

    (The authors' code uses m_M, one step earlier: their quirk 9.)"""
    x = marginals.mean[M + 1] + marginals.sd[M + 1] * jax.random.normal(
        key, (n,), dtype=jnp.result_type(float)
    )
    return jax.vmap(log_target)(x) - marginals.logpdf(M + 1, x)


def train_reverse_kernel(
    key,
    log_target,
    epochs: int = 100,
    chains: int = 200,
    lr: float = 1e-4,
    kernel: ReverseKernel | None = None,
    eps=EPS,
    on_epoch: Callable | None = None,
):
    """Fit r_t by maximum likelihood on forward chains of M_MAX steps (inclusive KL).

    Each epoch simulates ``chains`` chains and takes one Adam step per chain on
    −Σ_{t=1..100} log r_t(x_t | x_{t+1}). Returns (kernel, losses [epochs], mean per-chain loss).
    ``on_epoch(epoch, loss)`` is called after each epoch (progress bars).
    """
    k_init, key = jax.random.split(key)
    kernel = ReverseKernel(k_init) if kernel is None else kernel
    opt = optax.adam(lr)
    params, static = eqx.partition(kernel, eqx.is_array)
    opt_state = opt.init(params)
    ts = jnp.arange(1, M_MAX + 1)

    def loss_fn(params, xs):
        r = eqx.combine(params, static)
        mean, sd = jax.vmap(r)(ts, xs[1:])
        return -jnp.sum(norm.logpdf(xs[:-1], mean, sd))

    @jax.jit
    def epoch(params, opt_state, key):
        xs, _ = jax.vmap(lambda k: forward_chain(k, log_target, M_MAX, eps))(
            jax.random.split(key, chains)
        )

        def step(carry, traj):
            params, opt_state = carry
            loss, g = jax.value_and_grad(loss_fn)(params, traj)
            updates, opt_state = opt.update(g, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), xs)
        return params, opt_state, losses.mean()

    losses = []
    for e in range(epochs):
        key, k = jax.random.split(key)
        params, opt_state, loss = epoch(params, opt_state, k)
        losses.append(float(loss))
        if on_epoch is not None:
            on_epoch(e, losses[-1])
    return eqx.combine(params, static), np.array(losses)


def ais_schedule(M: int) -> np.ndarray:
    """[M] inverse temperatures: ⌊M/5⌋ linear steps to 0.005, then geometric steps to 1."""
    L = M // 5
    lin = 0.005 * np.arange(1, L + 1) / max(L, 1)
    G = M - L
    geo = 0.005 * (1 / 0.005) ** (np.arange(1, G + 1) / G) if G > 0 else np.zeros(0)
    return np.concatenate([lin, geo])


def ais_mala(key, log_target, M: int, n: int, eps=EPS):
    """[n] AIS log-weights (E[exp] = Z = 1) on the path π_β ∝ q0^{1−β} π^β with M MALA steps.

    Start with an exact q0 draw (β = 0, weight 0); at each β: log W += log π_β(x) −
    log π_{β_prev}(x), then one MALA step (proposal N(x + ε∇log π_β, 2ε), MH-corrected)
    targeting π_β.
    """
    betas = jnp.asarray(ais_schedule(M), dtype=jnp.result_type(float))
    prev = jnp.concatenate([jnp.zeros(1, betas.dtype), betas[:-1]])

    def one(key):
        k0, key = jax.random.split(key)
        x = Q0_SD * jax.random.normal(k0, dtype=betas.dtype)

        def step(carry, inp):
            x, log_w, key = carry
            b, bp = inp
            key, kp, ku = jax.random.split(key, 3)

            def lp(z):
                return (1 - b) * log_q0(z) + b * log_target(z)

            log_w = log_w + lp(x) - ((1 - bp) * log_q0(x) + bp * log_target(x))
            y = _drift(lp, x, eps) + jnp.sqrt(2 * eps) * jax.random.normal(kp, dtype=x.dtype)
            log_a = (
                lp(y)
                - lp(x)
                + norm.logpdf(x, _drift(lp, y, eps), jnp.sqrt(2 * eps))
                - norm.logpdf(y, _drift(lp, x, eps), jnp.sqrt(2 * eps))
            )
            x = jnp.where(jnp.log(jax.random.uniform(ku, dtype=x.dtype)) < log_a, y, x)
            return (x, log_w, key), None

        (x, log_w, _), _ = jax.lax.scan(step, (x, jnp.zeros((), x.dtype), key), (betas, prev))
        return log_w

    return jax.vmap(one)(jax.random.split(key, n))
