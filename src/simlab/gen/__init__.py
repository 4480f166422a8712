"""simlab.gen: generative functions with Gen semantics, in JAX.

A model is a Python function decorated with ``@gen`` that samples at addresses through a tracer
``t``; every generative function (GF) has the Gen interface - ``simulate``, ``assess``,
``generate``, ``project``, ``update``, ``regenerate``, ``propose`` - with explicit keys, and
``trace.score`` is log p (never −log p). Particles are a leading batch axis via ``jax.vmap``.

Example (x64 recommended for statistical work)::

    import jax
    from simlab import gen
    from simlab.gen import ChoiceMap, gen as model_fn, normal, select

    @model_fn
    def model(t, sigma):
        mu = t("mu", normal, 0.0, 1.0)        # normal(mean, standard deviation)
        z = t("z", normal, mu, 1.0)
        return t("x", normal, z, sigma)

    key = jax.random.key(0)
    trace = model.simulate(key, (0.5,))                       # trace.score = log p(τ)
    obs = ChoiceMap({"x": 1.3})
    trace, log_w = model.generate(key, obs, (0.5,))           # likelihood weighting
    ps = gen.importance(key, model, (0.5,), obs, K=1000)      # ps.log_z_hat: E[exp] = p(x)
    m = gen.Marginal(model, select("x"), gen.ImportanceK(None, 50))
    lower = m.estimate_logpdf(key, 1.3, 0.5)                  # E[exp] = p(x = 1.3)

Modules: ``choicemap`` (ChoiceMap, Masked, select/all_/none), ``distributions``, ``dsl``
(``@gen``), ``gfi`` (Trace, GenerativeFunction), ``combinators`` (Map, Scan, Switch,
SequentialModel), ``sp`` (Target, ImportanceK, SIR, Marginal, ChoiceMapDistribution),
``importance``, ``smc``, ``mcmc``, ``vi``, ``logmath``, ``rng``. Naming rules (spec §7):
``score``/``log_p``/``log_w``/``*_logpdf`` are log-densities; ``log_z_hat`` has E[exp] = Z;
``log_z_hat_recip`` has E[exp(−·)] = 1/Z; costs start with ``neg_``.
"""

from simlab.gen import logmath, rng
from simlab.gen.choicemap import ChoiceMap, Masked, Selection, addr, all_, none, select
from simlab.gen.combinators import Map, Scan, SequentialModel, Switch
from simlab.gen.distributions import (
    Distribution,
    bernoulli,
    beta,
    categorical,
    categorical_logits,
    delta,
    dirichlet,
    flip,
    gamma,
    labeled_categorical,
    mixture,
    mv_normal,
    mv_normal_chol,
    neg_binomial,
    normal,
    poisson,
    uniform,
    uniform_discrete,
    uniform_rotation,
    vmf,
)
from simlab.gen.dsl import GenFn, gen
from simlab.gen.errors import AddressError, GenError, NonFiniteWeightError, ShapeError
from simlab.gen.gfi import EditResult, GenerativeFunction, Trace
from simlab.gen.importance import ParticleSet, Resampled, importance, importance_resampling
from simlab.gen.mcmc import Grid, enumerative_gibbs, involutive_mh, mala, mh, mh_proposal
from simlab.gen.smc import SMCAlgorithm, SMCResult, csmc, smc
from simlab.gen.sp import (
    SIR,
    ChoiceMapDistribution,
    ImportanceK,
    Marginal,
    SPDistribution,
    Target,
    estimate_logpdf,
    random_weighted,
)
from simlab.gen.vi import elbo, iwelbo, neg_elbo, sleep_objective


def vmap_particles(fn, K: int):
    """``fn(key, *rest)`` -> ``g(key, *rest)`` running fn on K split keys with ``jax.vmap``.

    Outputs gain a leading axis K (e.g. a batched Trace). Keys are ordinary keys, so fn may
    call ``jax.random`` directly.
    """
    import jax

    def g(key, *rest):
        return jax.vmap(lambda k: fn(k, *rest))(jax.random.split(rng.raw(key), K))

    return g


__all__ = [
    "SIR",
    "AddressError",
    "ChoiceMap",
    "ChoiceMapDistribution",
    "Distribution",
    "EditResult",
    "GenError",
    "GenFn",
    "GenerativeFunction",
    "Grid",
    "ImportanceK",
    "Map",
    "Marginal",
    "Masked",
    "NonFiniteWeightError",
    "ParticleSet",
    "Resampled",
    "SMCAlgorithm",
    "SMCResult",
    "SPDistribution",
    "Scan",
    "Selection",
    "SequentialModel",
    "ShapeError",
    "Switch",
    "Target",
    "Trace",
    "addr",
    "all_",
    "bernoulli",
    "beta",
    "categorical",
    "categorical_logits",
    "csmc",
    "delta",
    "dirichlet",
    "elbo",
    "enumerative_gibbs",
    "estimate_logpdf",
    "flip",
    "gamma",
    "gen",
    "importance",
    "importance_resampling",
    "involutive_mh",
    "iwelbo",
    "labeled_categorical",
    "logmath",
    "mala",
    "mh",
    "mh_proposal",
    "mixture",
    "mv_normal",
    "mv_normal_chol",
    "neg_binomial",
    "neg_elbo",
    "none",
    "normal",
    "poisson",
    "random_weighted",
    "rng",
    "select",
    "sleep_objective",
    "smc",
    "uniform",
    "uniform_discrete",
    "uniform_rotation",
    "vmap_particles",
    "vmf",
]
