"""Distributions: leaf generative functions with one choice at address ``()``.

Each has ``sample(key, *params)``, ``logpdf(value, *params)`` (exact, −inf outside the
support, never clipped) and ``reparam`` (True if ``sample`` is differentiable in the params).
Parameters follow the spec table: ``normal(mu, sigma)`` with sigma the standard deviation,
``gamma(shape, rate)``, ``categorical(probs)`` over the last axis, and so on. Batched
parameters broadcast; the value's shape is the broadcast shape (plus the event shape).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from jax.scipy import special as jsp

from simlab.gen import rng
from simlab.gen.choicemap import ChoiceMap, Masked, Selection, none
from simlab.gen.errors import AddressError, ShapeError
from simlab.gen.gfi import EditResult, GenerativeFunction, zero

__all__ = [
    "Distribution",
    "bernoulli",
    "beta",
    "categorical",
    "categorical_logits",
    "delta",
    "dirichlet",
    "flip",
    "gamma",
    "labeled_categorical",
    "mixture",
    "mv_normal",
    "mv_normal_chol",
    "neg_binomial",
    "normal",
    "poisson",
    "uniform",
    "uniform_discrete",
    "uniform_rotation",
    "vmf",
]

_EMPTY = ChoiceMap.empty()


class Distribution(GenerativeFunction):
    """A leaf GF defined by ``sample_fn(key, *params)`` and ``logpdf_fn(value, *params)``."""

    accepts_particle_keys = True

    def __init__(self, name: str, sample_fn, logpdf_fn, reparam: bool, discrete: bool = False):
        self.name = name
        self._sample = sample_fn
        self._logpdf = logpdf_fn
        self.reparam = reparam
        self.discrete = discrete

    def sample(self, key, *params):
        """One draw (shape: broadcast of params + event shape)."""
        return self._sample(key, *params)

    def logpdf(self, value, *params):
        """log p(value; params), exact; −inf outside the support."""
        return self._logpdf(value, *params)

    def __call__(self, *params):
        """``normal(0., 1.)`` is shorthand for the pair (distribution, params) - not a draw."""
        raise TypeError(
            f"call distributions through the tracer, t('x', {self.name}, ...), or use "
            f"{self.name}.sample(key, ...)"
        )

    def value_shape(self, *params):
        """ShapeDtypeStruct of one draw, without sampling."""
        structs = [jax.ShapeDtypeStruct(jnp.shape(p), jnp.result_type(p)) for p in params]
        return jax.eval_shape(lambda *p: self._sample(jax.random.key(0), *p), *structs)

    def _check_shape(self, value, params):
        """``value`` cast to the draws' dtype; ShapeError if its shape differs."""
        want = self.value_shape(*params)
        got = jnp.shape(value)
        if got != want.shape:
            raise ShapeError(
                f"value of shape {got} given to {self.name} whose draws have shape {want.shape}",
                (),
                self.name,
            )
        return jnp.asarray(value, want.dtype)

    def edit(
        self,
        key,
        args,
        *,
        old=None,
        constraints=_EMPTY,
        resample: Selection = none(),
        measure: Selection = none(),
        strict_old=False,
    ):
        c = constraints.get(()) if len(constraints) else None
        if len(constraints) and c is None:
            raise AddressError(
                f"constraint below a distribution's value: {list(constraints)}", (), self.name
            )
        o = old.get(()) if old is not None else None
        keep_old = o is not None and not resample.contains(())
        discard = _EMPTY
        if c is not None and not isinstance(c, Masked):
            value = self._check_shape(c, args)
            fresh = False
            if o is not None:
                discard = ChoiceMap._trusted({(): o})
        elif keep_old and c is None:
            value, fresh = jnp.asarray(o), False
        else:
            if keep_old:
                base, fresh = jnp.asarray(o), False
            elif strict_old:
                raise AddressError("missing value for this random choice", (), self.name)
            else:
                if key is None:
                    raise AddressError("a fresh draw needs a key", (), self.name)
                base, fresh = self._sample(key, *args), True
            if c is None:
                value = base
            else:  # Masked: constrained where mask, else base
                cv = self._check_shape(c.value, args)
                mask = jnp.asarray(c.mask)
                vmask = mask.reshape(mask.shape + (1,) * (jnp.ndim(base) - mask.ndim))
                value = jnp.where(vmask, cv, base)
                fresh = jnp.logical_not(mask) if fresh else False
                if o is not None:
                    discard = ChoiceMap._trusted({(): o})
        lp_each = self._logpdf(value, *args)
        lp = jnp.sum(lp_each)
        if fresh is True:
            weight = zero()
        elif fresh is False:
            weight = lp
        else:  # partially constrained: count only the constrained elements
            weight = jnp.sum(jnp.where(fresh, 0.0, lp_each))
        measured = lp if measure.contains(()) else zero()
        return EditResult(ChoiceMap._trusted({(): value}), value, lp, weight, measured, discard)


def _f(x):
    return jnp.asarray(x, jnp.result_type(float))


def _bshape(*xs):
    return jnp.broadcast_shapes(*(jnp.shape(x) for x in xs))


# continuous ---------------------------------------------------------------------------------
def _normal_sample(key, mu, sigma):
    return mu + sigma * rng.normal(key, _bshape(mu, sigma))


def _normal_logpdf(x, mu, sigma):
    z = (x - mu) / sigma
    return -0.5 * z * z - jnp.log(sigma) - 0.5 * math.log(2 * math.pi)


normal = Distribution("normal", _normal_sample, _normal_logpdf, reparam=True)


def _mvn_chol_sample(key, mean, chol):
    shape = _bshape(mean, chol[..., 0])
    return mean + jnp.einsum("...ij,...j->...i", chol, rng.normal(key, shape))


def _mvn_chol_logpdf(x, mean, chol):
    d = x.shape[-1]
    diff = jnp.broadcast_to(x - mean, _bshape(x - mean, chol[..., 0]))
    sol = jax.scipy.linalg.solve_triangular(chol, diff[..., None], lower=True)[..., 0]
    logdet = jnp.sum(jnp.log(jnp.abs(jnp.diagonal(chol, axis1=-2, axis2=-1))), -1)
    return -0.5 * jnp.sum(sol * sol, -1) - logdet - 0.5 * d * math.log(2 * math.pi)


mv_normal_chol = Distribution("mv_normal_chol", _mvn_chol_sample, _mvn_chol_logpdf, reparam=True)
mv_normal = Distribution(
    "mv_normal",
    lambda key, mean, cov: _mvn_chol_sample(key, mean, jnp.linalg.cholesky(cov)),
    lambda x, mean, cov: _mvn_chol_logpdf(x, mean, jnp.linalg.cholesky(cov)),
    reparam=True,
)


def _uniform_logpdf(x, low, high):
    inside = (x >= low) & (x <= high)
    return jnp.where(inside, -jnp.log(high - low), -jnp.inf)


uniform = Distribution(
    "uniform",
    lambda key, low, high: low + (high - low) * rng.uniform(key, _bshape(low, high)),
    _uniform_logpdf,
    reparam=True,
)


def _gamma_sample(key, shape, rate):
    s = jnp.broadcast_to(_f(shape), _bshape(shape, rate))
    return jax.random.gamma(rng.raw(key), s) / rate


def _gamma_logpdf(x, shape, rate):
    lp = shape * jnp.log(rate) + (shape - 1) * jnp.log(x) - rate * x - jsp.gammaln(shape)
    return jnp.where(x > 0, lp, -jnp.inf)


gamma = Distribution("gamma", _gamma_sample, _gamma_logpdf, reparam=True)


def _beta_sample(key, a, b):
    shape = _bshape(a, b)
    return jax.random.beta(rng.raw(key), jnp.broadcast_to(_f(a), shape), _f(b), shape)


def _beta_logpdf(x, a, b):
    lp = (a - 1) * jnp.log(x) + (b - 1) * jnp.log1p(-x) - jsp.betaln(a, b)
    return jnp.where((x >= 0) & (x <= 1), lp, -jnp.inf)


beta = Distribution("beta", _beta_sample, _beta_logpdf, reparam=True)


def _dirichlet_logpdf(x, alpha):
    lp = jnp.sum((alpha - 1) * jnp.log(x), -1) + jsp.gammaln(jnp.sum(alpha, -1))
    lp = lp - jnp.sum(jsp.gammaln(alpha), -1)
    ok = jnp.all(x >= 0, -1) & (jnp.abs(jnp.sum(x, -1) - 1) < 1e-6)
    return jnp.where(ok, lp, -jnp.inf)


dirichlet = Distribution(
    "dirichlet",
    lambda key, alpha: jax.random.dirichlet(rng.raw(key), _f(alpha)),
    _dirichlet_logpdf,
    reparam=True,
)


# discrete -----------------------------------------------------------------------------------
def _inverse_cdf(key, probs):
    """Index i with P(i) ∝ probs[..., i] by inverse CDF: count of cdf entries below u·total."""
    cdf = jnp.cumsum(probs, -1)
    u = rng.uniform(key, probs.shape[:-1]) * cdf[..., -1]
    idx = jnp.sum(cdf <= u[..., None], -1)
    return jnp.minimum(idx, probs.shape[-1] - 1).astype(jnp.int32)


def _cat_logpdf(v, probs):
    n = probs.shape[-1]
    ok = (v >= 0) & (v < n)
    batch = jnp.broadcast_shapes(jnp.shape(v), probs.shape[:-1])
    vi = jnp.broadcast_to(jnp.clip(v, 0, n - 1).astype(jnp.int32), batch)
    p = jnp.take_along_axis(jnp.broadcast_to(probs, (*batch, n)), vi[..., None], -1)[..., 0]
    return jnp.where(ok, jnp.log(p), -jnp.inf)


categorical = Distribution(
    "categorical", lambda key, p: _inverse_cdf(key, _f(p)), _cat_logpdf, False, discrete=True
)


def _catl_logpdf(v, logits):
    return _cat_logpdf(v, jnp.exp(logits - jsp.logsumexp(logits, -1, keepdims=True)))


categorical_logits = Distribution(
    "categorical_logits",
    lambda key, lg: _inverse_cdf(key, jnp.exp(lg - jnp.max(lg, -1, keepdims=True))),
    _catl_logpdf,
    False,
    discrete=True,
)


def _labeled_sample(key, labels, probs):
    return jnp.asarray(labels)[..., _inverse_cdf(key, _f(probs))]


def _labeled_logpdf(v, labels, probs):
    hit = jnp.asarray(labels) == v
    return jnp.log(jnp.sum(jnp.where(hit, probs, 0.0), -1))


labeled_categorical = Distribution(
    "labeled_categorical", _labeled_sample, _labeled_logpdf, False, discrete=True
)


def _bern_logpdf(v, p):
    return jnp.where(v == 1, jnp.log(p), jnp.where(v == 0, jnp.log1p(-p), -jnp.inf))


bernoulli = Distribution(
    "bernoulli",
    lambda key, p: (rng.uniform(key, jnp.shape(p)) < p).astype(jnp.int32),
    _bern_logpdf,
    False,
    discrete=True,
)
flip = bernoulli


def _poisson_logpdf(k, lam):
    lp = k * jnp.log(lam) - lam - jsp.gammaln(k + 1.0)
    return jnp.where((k >= 0) & (k == jnp.floor(k)), lp, -jnp.inf)


poisson = Distribution(
    "poisson",
    lambda key, lam: jax.random.poisson(rng.raw(key), lam, jnp.shape(lam)),
    _poisson_logpdf,
    False,
    discrete=True,
)


def _nb_sample(key, r, p):
    k1, k2 = rng.split(key)
    shape = _bshape(r, p)
    lam = jax.random.gamma(k1, jnp.broadcast_to(_f(r), shape)) * (1 - p) / p
    return jax.random.poisson(k2, lam, shape)


def _nb_logpdf(k, r, p):
    lp = jsp.gammaln(k + r) - jsp.gammaln(k + 1.0) - jsp.gammaln(r)
    lp = lp + r * jnp.log(p) + k * jnp.log1p(-p)
    return jnp.where((k >= 0) & (k == jnp.floor(k)), lp, -jnp.inf)


neg_binomial = Distribution("neg_binomial", _nb_sample, _nb_logpdf, False, discrete=True)


def _ud_sample(key, low, high):
    u = rng.uniform(key, _bshape(low, high))
    return (low + jnp.floor(u * (high - low + 1))).astype(jnp.int32)


def _ud_logpdf(v, low, high):
    ok = (v >= low) & (v <= high) & (v == jnp.floor(v))
    return jnp.where(ok, -jnp.log(high - low + 1.0), -jnp.inf)


uniform_discrete = Distribution("uniform_discrete", _ud_sample, _ud_logpdf, False, discrete=True)

delta = Distribution(
    "delta",
    lambda key, v: jnp.asarray(v),
    lambda x, v: jnp.where(jnp.all(x == v), 0.0, -jnp.inf),
    reparam=True,
)


# manifolds ----------------------------------------------------------------------------------
def _vmf_sample(key, mu, kappa):
    """Von Mises-Fisher on S² (mu: unit (3,), kappa > 0): Wood (1994) with the closed-form
    inverse CDF of w = mu·x for p = 3, then a uniform direction orthogonal to mu."""
    u = rng.uniform(key, (3,))
    w = 1.0 + jnp.log(u[0] + (1.0 - u[0]) * jnp.exp(-2.0 * kappa)) / kappa
    phi = 2.0 * jnp.pi * u[1]
    # an orthonormal pair (b1, b2) orthogonal to mu
    a = jnp.where(jnp.abs(mu[0]) < 0.9, jnp.array([1.0, 0.0, 0.0]), jnp.array([0.0, 1.0, 0.0]))
    b1 = a - jnp.dot(a, mu) * mu
    b1 = b1 / jnp.linalg.norm(b1)
    b2 = jnp.cross(mu, b1)
    r = jnp.sqrt(jnp.clip(1.0 - w * w, 0.0))
    return w * mu + r * (jnp.cos(phi) * b1 + jnp.sin(phi) * b2)


def _vmf_logpdf(x, mu, kappa):
    """Density w.r.t. surface area on S²: κ e^{κ(μ·x − 1)} / (2π (1 − e^{−2κ}))."""
    lc = jnp.log(kappa) - jnp.log(2 * jnp.pi) - jnp.log(-jnp.expm1(-2.0 * kappa))
    return lc + kappa * (jnp.dot(x, mu) - 1.0)


vmf = Distribution("vmf", _vmf_sample, _vmf_logpdf, reparam=False)


def _quat_to_matrix(q):
    w, x, y, z = q
    return jnp.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def _rot_sample(key):
    q = rng.normal(key, (4,))
    return _quat_to_matrix(q / jnp.linalg.norm(q))


uniform_rotation = Distribution(
    "uniform_rotation",
    _rot_sample,
    # Haar measure on SO(3) as the Riemannian volume of total mass 8π² (Euler-angle measure
    # sin β dα dβ dγ): density 1/(8π²).
    lambda rot: jnp.asarray(-math.log(8 * math.pi**2), jnp.result_type(float)),
    reparam=False,
)


# mixtures -----------------------------------------------------------------------------------
def mixture(components) -> Distribution:
    """A mixture of ``components`` (Distributions with equal value shapes).

    Parameters of the result: ``(log_weights, params_0, params_1, ...)`` with ``log_weights``
    of shape (len(components),) (normalised inside) and ``params_i`` a tuple for component i.
    logpdf = logsumexp_i(log w̄_i + log p_i(x)).
    """
    comps = tuple(components)

    def sample(key, log_weights, *params):
        k1, k2 = rng.fold_in(key, 0), rng.fold_in(key, 1)
        i = _inverse_cdf(k1, jnp.exp(log_weights - jnp.max(log_weights)))
        draws = jnp.stack(
            [c.sample(rng.fold_in(k2, j), *p) for j, (c, p) in enumerate(zip(comps, params))]
        )
        return draws[i]

    def logpdf(x, log_weights, *params):
        lw = log_weights - jsp.logsumexp(log_weights)
        lps = jnp.stack([c.logpdf(x, *p) for c, p in zip(comps, params)])
        return jsp.logsumexp(lw + lps)

    return Distribution(
        "mixture(" + ",".join(c.name for c in comps) + ")", sample, logpdf, reparam=False
    )
