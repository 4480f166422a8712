"""State-space models with exact oracles: a linear-Gaussian SSM (Kalman filter) and a 3-state
HMM (forward algorithm, forward-filtering backward-sampling)."""

import jax.numpy as jnp
import numpy as np

from simlab.gen import SequentialModel, categorical, gen, normal

A, Q, R, P0 = 0.9, 0.5, 0.8, 1.0


@gen
def lg_init(t):
    return t("x0", normal, 0.0, np.sqrt(P0))


@gen
def lg_step(t, x, i):
    x = t("x", normal, A * x, np.sqrt(Q))
    t("y", normal, x, np.sqrt(R))
    return x


def lg_model(T):
    return SequentialModel(lg_init, lg_step, T)


def kalman_loglik(ys):
    """log p(y_1..T) for x0 ∼ N(0, P0), x_t = A x_{t−1} + N(0, Q), y_t = x_t + N(0, R)."""
    m, p, ll = 0.0, P0, 0.0
    for y in ys:
        m, p = A * m, A * A * p + Q
        s = p + R
        ll += -0.5 * (np.log(2 * np.pi * s) + (y - m) ** 2 / s)
        k = p / s
        m, p = m + k * (y - m), (1 - k) * p
    return ll


PI0 = np.array([0.5, 0.3, 0.2])
TRANS = np.array([[0.8, 0.15, 0.05], [0.1, 0.7, 0.2], [0.2, 0.2, 0.6]])
EMIT = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.25, 0.25, 0.5]])


@gen
def hmm_init(t):
    return t("z0", categorical, PI0)


@gen
def hmm_step(t, z, i):
    z = t("z", categorical, jnp.asarray(TRANS)[z])
    t("y", categorical, jnp.asarray(EMIT)[z])
    return z


def hmm_model(T):
    return SequentialModel(hmm_init, hmm_step, T)


def hmm_forward(ys):
    """(log Z, filtered alphas (T+1, 3)) with z0 unobserved, steps 1..T observed."""
    alpha = PI0.copy()
    alphas, log_z = [alpha], 0.0
    for y in ys:
        alpha = (alpha @ TRANS) * EMIT[:, y]
        c = alpha.sum()
        log_z += np.log(c)
        alpha = alpha / c
        alphas.append(alpha)
    return log_z, np.array(alphas)


def hmm_posterior_draw(rng, ys, alphas):
    """An exact posterior draw (z0, z_1..T) by backward sampling."""
    T = len(ys)
    z = np.zeros(T + 1, np.int64)
    z[T] = rng.choice(3, p=alphas[T])
    for t in range(T - 1, -1, -1):
        w = alphas[t] * TRANS[:, z[t + 1]]
        z[t] = rng.choice(3, p=w / w.sum())
    return z


V_OPT = 1.0 / (1.0 / Q + 1.0 / R)


@gen
def lg_optimal_proposal(t, x, i, obs_t):
    """p(x_t | x_{t−1}, y_t) for the linear-Gaussian SSM (the locally optimal proposal)."""
    m = V_OPT * (A * x / Q + obs_t["y"] / R)
    t("x", normal, m, np.sqrt(V_OPT))


@gen
def hmm_optimal_proposal(t, z, i, obs_t):
    """p(z_t | z_{t−1}, y_t) ∝ TRANS[z_{t−1}, z_t] EMIT[z_t, y_t]."""
    w = jnp.asarray(TRANS)[z] * jnp.asarray(EMIT)[:, obs_t["y"]]
    t("z", categorical, w / jnp.sum(w))
