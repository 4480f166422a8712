"""The multivariate-Gaussian sanity check (spec §6.4): closed forms, the model and proposals.

Y = the first n = d/2 coordinates of X ∼ N(0, Σ), Z = the other n. Σ ∼ Wishart(df = d, I),
drawn once per d from a recorded seed. Closed forms (float64, Cholesky):

* H(Y) = (n/2)(1 + log 2π) + ½ log det Σ_YY (nats);
* I(A; B) = ½ log(det Σ_AA det Σ_BB / det Σ) for a block split of a Gaussian vector.

The model samples z ∼ N(0, Σ_ZZ) first and then y | z ∼ N(A z, S), so its internal proposal
(``proposal=None``) is likelihood weighting: z from its marginal prior, weight p(y | z).
Proposals over z given y (called with the Target): :func:`independent_proposal` (the exact
conditional means with the diagonal of the conditional covariance) and :func:`exact_proposal`
(p(z | y) itself, where both bounds must coincide).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from simlab.gen import gen, mv_normal_chol, normal

__all__ = [
    "GaussianSplit",
    "entropy_gaussian",
    "exact_proposal",
    "gaussian_mi",
    "independent_proposal",
    "mvn_model",
    "wishart_cov",
]


def wishart_cov(d: int, seed: int, df: int | None = None) -> np.ndarray:
    """Σ = Σ_k g_k g_kᵀ, g_k ∼ N(0, I_d) iid, k = 1..df (Wishart(df, I)); (d, d) float64."""
    g = np.random.default_rng(seed).standard_normal((df or d, d))
    return g.T @ g


def _logdet(a: np.ndarray) -> float:
    return 2.0 * float(np.log(np.diag(np.linalg.cholesky(a))).sum())


def entropy_gaussian(cov: np.ndarray) -> float:
    """Differential entropy of N(μ, cov) in nats: (k/2)(1 + log 2π) + ½ log det cov."""
    k = cov.shape[0]
    return 0.5 * k * (1.0 + math.log(2 * math.pi)) + 0.5 * _logdet(cov)


def gaussian_mi(cov: np.ndarray, a, b) -> float:
    """I(X_a; X_b) = ½ log(det Σ_aa det Σ_bb / det Σ_ab,ab) in nats (a, b disjoint indices)."""
    a, b = list(a), list(b)
    ab = a + b
    return 0.5 * (
        _logdet(cov[np.ix_(a, a)]) + _logdet(cov[np.ix_(b, b)]) - _logdet(cov[np.ix_(ab, ab)])
    )


@dataclass(frozen=True)
class GaussianSplit:
    """Σ split into Y = first n coordinates and Z = the rest, with the regression forms.

    A (n, m), S_chol (n, n): y | z ∼ N(A z, S). B (m, n), C_chol (m, m), C_diag (m,):
    z | y ∼ N(B y, C). Zzz_chol: Cholesky of Σ_ZZ. All float64 numpy arrays.
    """

    cov: np.ndarray
    n: int
    A: np.ndarray
    S_chol: np.ndarray
    B: np.ndarray
    C_chol: np.ndarray
    C_diag: np.ndarray
    Zzz_chol: np.ndarray

    @classmethod
    def from_cov(cls, cov: np.ndarray, n: int | None = None) -> GaussianSplit:
        cov = np.asarray(cov, np.float64)
        d = cov.shape[0]
        n = d // 2 if n is None else n
        yy, yz, zz = cov[:n, :n], cov[:n, n:], cov[n:, n:]
        A = np.linalg.solve(zz, yz.T).T  # Σ_YZ Σ_ZZ⁻¹
        S = yy - A @ yz.T
        B = np.linalg.solve(yy, yz).T  # Σ_ZY Σ_YY⁻¹
        C = zz - B @ yz
        S, C = 0.5 * (S + S.T), 0.5 * (C + C.T)
        return cls(
            cov, n, A, np.linalg.cholesky(S), B, np.linalg.cholesky(C), np.diag(C).copy(),
            np.linalg.cholesky(zz),
        )  # fmt: skip

    @property
    def entropy_y(self) -> float:
        """Exact H(Y) in nats."""
        return entropy_gaussian(self.cov[: self.n, : self.n])

    def log_p_y(self, y: np.ndarray) -> np.ndarray:
        """Exact log N(y; 0, Σ_YY) for y of shape (..., n)."""
        L = np.linalg.cholesky(self.cov[: self.n, : self.n])
        sol = np.linalg.solve(L, np.moveaxis(np.asarray(y), -1, 0))
        return (
            -0.5 * (sol**2).sum(0) - np.log(np.diag(L)).sum() - 0.5 * self.n * math.log(2 * math.pi)
        )

    def args(self) -> tuple:
        """The model/proposal arguments (JAX arrays in the default float dtype)."""
        f = jnp.result_type(float)
        return tuple(
            jnp.asarray(x, f)
            for x in (self.A, self.S_chol, self.B, self.C_chol, self.C_diag, self.Zzz_chol)
        )


@gen(name="mvn")
def mvn_model(t, A, S_chol, B, C_chol, C_diag, Zzz_chol):
    """z ∼ N(0, Σ_ZZ) at "z" (m,), then y ∼ N(A z, S) at "y" (n,)."""
    z = t("z", mv_normal_chol, jnp.zeros(Zzz_chol.shape[0], Zzz_chol.dtype), Zzz_chol)
    return t("y", mv_normal_chol, A @ z, S_chol)


@gen(name="mvn_independent_q")
def independent_proposal(t, target):
    """q(z; y) = Π_i N(z_i; (B y)_i, C_ii): exact conditional means, diagonal covariance."""
    _, _, B, _, C_diag, _ = target.args
    y = target.constraints["y"]
    t("z", normal, B @ y, jnp.sqrt(C_diag))


@gen(name="mvn_exact_q")
def exact_proposal(t, target):
    """q(z; y) = p(z | y) = N(B y, C) exactly."""
    _, _, B, C_chol, _, _ = target.args
    y = target.constraints["y"]
    t("z", mv_normal_chol, B @ y, C_chol)
