"""Neural variational lower bounds on mutual information (baselines for the MVN check, spec §7):
InfoNCE (van den Oord et al. 2018), NWJ (Nguyen–Wainwright–Jordan 2010) and MINE (Belghazi et
al. 2018: the Donsker–Varadhan bound trained with a moving-average gradient correction).

A critic f(x, y) (an equinox MLP on the concatenation [x, y]) is trained with optax Adam on fresh
batches of B joint samples (x_i, y_i) ∼ p(x, y); products of marginals pair x_i with y_j, j ≠ i.
On a batch, with F_ij = f(x_i, y_j), in nats:

* InfoNCE: mean_i [F_ii − log (1/B) Σ_j F_ij-exp]  ≤ I(X;Y) in expectation, and ≤ log B always;
* NWJ:     mean_i F_ii − e^{−1} mean_{i≠j} exp F_ij  ≤ I in expectation;
* DV:      mean_i F_ii − log mean_{i≠j} exp F_ij      ≤ I for the true expectation (the batch
  estimate of the log term is biased, so the batch DV value is not a guaranteed bound).

Unlike EEVI these need no model density, but they are only lower bounds (no upper bound), InfoNCE
saturates at log B and all are noisy for large I. The critic's loop over steps is one
``lax.scan``; a batch is one (B, B) evaluation of the critic (vmapped, no Python loops).
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

__all__ = ["Critic", "batch_bounds", "estimate_mi", "gaussian_sampler", "train_critic"]

METHODS = ("infonce", "nwj", "mine")


class Critic(eqx.Module):
    """f(x, y) = MLP([x, y]) → scalar; x (dx,), y (dy,)."""

    mlp: eqx.nn.MLP

    def __init__(self, key, dx: int, dy: int, width: int = 64, depth: int = 2):
        self.mlp = eqx.nn.MLP(dx + dy, "scalar", width, depth, jax.nn.relu, key=key)

    def pairs(self, x, y):
        """F (B, B) with F[i, j] = f(x_i, y_j); x (B, dx), y (B, dy)."""
        one = lambda xi, yj: self.mlp(jnp.concatenate([xi, yj]))  # noqa: E731
        return jax.vmap(lambda xi: jax.vmap(lambda yj: one(xi, yj))(y))(x)


def batch_bounds(F) -> dict:
    """The three bounds (nats) on one batch score matrix F (B, B) (diagonal = joint pairs)."""
    B = F.shape[0]
    diag = jnp.diag(F)
    off = ~jnp.eye(B, dtype=bool)
    log_mean_off = jax.nn.logsumexp(jnp.where(off, F, -jnp.inf)) - math.log(B * (B - 1))
    return {
        "infonce": jnp.mean(diag - (jax.nn.logsumexp(F, axis=1) - math.log(B))),
        "nwj": jnp.mean(diag) - jnp.sum(jnp.where(off, jnp.exp(F - 1.0), 0.0)) / (B * (B - 1)),
        "mine": jnp.mean(diag) - log_mean_off,
    }


def train_critic(
    key,
    sample,
    dx: int,
    dy: int,
    method: str = "infonce",
    steps: int = 2000,
    batch: int = 128,
    lr: float = 1e-3,
    width: int = 64,
    ema: float = 0.99,
):
    """Train a critic for ``method`` ∈ {"infonce", "nwj", "mine"}.

    ``sample(key, B)`` -> (x (B, dx), y (B, dy)) joint draws (jax-traceable). MINE's gradient
    uses the moving average m of mean_{i≠j} exp F_ij (rate ``1 − ema``) in the denominator of
    ∇ log mean exp, the bias correction of Belghazi et al. Returns (critic, per-step batch
    values of the bound (steps,))."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    k_init, k_run = jax.random.split(key)
    critic = Critic(k_init, dx, dy, width)
    opt = optax.adam(lr)

    def loss(c, k, m):
        x, y = sample(k, batch)
        F = c.pairs(x, y)
        vals = batch_bounds(F)
        if method != "mine":
            return -vals[method], (vals[method], m)
        B = F.shape[0]
        off = ~jnp.eye(B, dtype=bool)
        mean_exp = jnp.sum(jnp.where(off, jnp.exp(F), 0.0)) / (B * (B - 1))
        m_new = ema * m + (1 - ema) * jax.lax.stop_gradient(mean_exp)
        # value: the DV bound; gradient: ∇ mean F − ∇ mean_exp / m (m a constant)
        surrogate = jnp.mean(jnp.diag(F)) - mean_exp / m_new
        return -surrogate, (vals["mine"], m_new)

    params, static = eqx.partition(critic, eqx.is_array)  # the scan carries arrays only

    def loss_p(p, k, m):
        return loss(eqx.combine(p, static), k, m)

    @jax.jit
    def run(params, key):
        def step(carry, k):
            p, s, m = carry
            (_, (val, m)), g = jax.value_and_grad(loss_p, has_aux=True)(p, k, m)
            u, s = opt.update(g, s, p)
            return (optax.apply_updates(p, u), s, m), val

        init = (params, opt.init(params), jnp.ones(()))
        (p, _, _), vals = jax.lax.scan(step, init, jax.random.split(key, steps))
        return p, vals

    p, vals = run(params, k_run)
    return eqx.combine(p, static), vals


def estimate_mi(key, critic: Critic, sample, batch: int = 128, n_batches: int = 50) -> dict:
    """Each bound evaluated on ``n_batches`` fresh held-out batches: {method: (mean, SE)} in
    nats, plus ``log_batch`` = log B (InfoNCE's ceiling)."""

    @jax.jit
    def one(k):
        x, y = sample(k, batch)
        return batch_bounds(critic.pairs(x, y))

    vals = jax.vmap(one)(jax.random.split(key, n_batches))
    out = {}
    for m in METHODS:
        v = np.asarray(vals[m], np.float64)
        out[m] = (float(v.mean()), float(v.std(ddof=1) / np.sqrt(len(v))))
    out["log_batch"] = math.log(batch)
    return out


def gaussian_sampler(cov: np.ndarray, n: int):
    """``sample(key, B)`` -> (x (B, n), y (B, d − n)) from N(0, cov), x = the first n
    coordinates. Each coordinate is divided by its standard deviation (MI is invariant to it,
    and the critic trains better on unit-scale inputs)."""
    cov = np.asarray(cov, np.float64)
    sd = np.sqrt(np.diag(cov))
    chol = np.linalg.cholesky(cov / np.outer(sd, sd))

    def sample(key, B):
        L = jnp.asarray(chol, jnp.result_type(float))
        v = jax.random.normal(key, (B, L.shape[0]), L.dtype) @ L.T
        return v[:, :n], v[:, n:]

    return sample
