"""Likelihood weighting and SIR on a 20-node discrete Bayes net against exact inference.

The net (3 states per node, at most 2 parents, Dirichlet(1) CPTs, the last 5 nodes observed)
is written as an ordinary @gen model that loops over nodes. The oracle is exact: the evidence
probability and a posterior marginal by contracting all CPT factors (NumPy einsum, i.e.
variable elimination), cross-checked against pgmpy's VariableElimination.
"""

import string

import jax
import jax.numpy as jnp
import numpy as np

from simlab.gen import ChoiceMap, gen, importance
from simlab.gen.distributions import categorical

from .fast import jit0
from .stats import assert_mean_close

N_NODES, STATES, N_OBS = 20, 3, 5


def _make_bn(seed=3):
    """Random DAG in topological order; node i has min(i, U{0,1,2}) parents among earlier ones.
    CPT i has shape (3,)*n_parents + (3,), indexed [parent values..., value]."""
    rng = np.random.default_rng(seed)
    parents, cpts = [], []
    for i in range(N_NODES):
        k = min(i, int(rng.integers(0, 3)))
        pa = tuple(sorted(rng.choice(i, size=k, replace=False).tolist())) if k else ()
        parents.append(pa)
        cpts.append(rng.dirichlet(np.ones(STATES), size=(STATES,) * k))
    obs = {i: int(rng.integers(0, STATES)) for i in range(N_NODES - N_OBS, N_NODES)}
    return parents, cpts, obs


PARENTS, CPTS, OBS = _make_bn()
EVIDENCE = ChoiceMap({f"n{i}": v for i, v in OBS.items()})
QUERY = 7  # a hidden node whose posterior marginal is checked


@gen
def bn(t):
    vals = []
    for pa, cpt in zip(PARENTS, CPTS):
        vals.append(t(f"n{len(vals)}", categorical, jnp.asarray(cpt)[tuple(vals[p] for p in pa)]))
    return vals


def _exact(keep=None):
    """Σ over hidden nodes of Π CPTs with evidence clamped; with ``keep`` the unnormalised
    marginal vector of that node, otherwise the scalar P(evidence)."""
    letters = string.ascii_letters
    operands = []
    for i, (pa, cpt) in enumerate(zip(PARENTS, CPTS)):
        operands += [cpt, [*pa, i]]
    for i, v in OBS.items():
        operands += [np.eye(STATES)[v], [i]]
    out = [] if keep is None else [keep]
    spec = ",".join("".join(letters[j] for j in ix) for ix in operands[1::2])
    spec += "->" + "".join(letters[j] for j in out)
    return np.einsum(spec, *operands[0::2], optimize="greedy")


LOG_Z = float(np.log(_exact()))


def test_exact_oracle_agrees_with_pgmpy():
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination
    from pgmpy.models import DiscreteBayesianNetwork

    names = [f"n{i}" for i in range(N_NODES)]
    edges = [(names[p], names[i]) for i, pa in enumerate(PARENTS) for p in pa]
    net = DiscreteBayesianNetwork(edges)
    net.add_nodes_from(names)
    for i, (pa, cpt) in enumerate(zip(PARENTS, CPTS)):
        values = cpt.reshape(-1, STATES).T  # columns: parent configurations, first parent slowest
        net.add_cpds(
            TabularCPD(
                names[i],
                STATES,
                values,
                evidence=[names[p] for p in pa] or None,
                evidence_card=[STATES] * len(pa) or None,
            )
        )
    ve = VariableElimination(net)
    evidence = {names[i]: v for i, v in OBS.items()}
    post = ve.query([names[QUERY]], evidence=evidence, show_progress=False).values
    marg = _exact(keep=QUERY)
    np.testing.assert_allclose(marg / marg.sum(), post, rtol=1e-10)
    # P(evidence) by pgmpy: joint marginal of the observed nodes at the observed values
    obs_names = [names[i] for i in OBS]
    joint = ve.query(obs_names, joint=True, show_progress=False)
    p_e = joint.get_value(**evidence)
    np.testing.assert_allclose(np.exp(LOG_Z), p_e, rtol=1e-10)


def test_likelihood_weighting_is_unbiased_for_the_evidence_probability():
    run = jit0(jax.vmap(lambda k: importance(k, bn, (), EVIDENCE, 50).log_z_hat))
    log_z = np.asarray(run(jax.random.split(jax.random.key(0), 2000)))
    assert np.all(np.isfinite(log_z))
    assert_mean_close(np.exp(log_z - LOG_Z), 1.0, what="Ẑ / P(evidence)")
    # and a single estimate is a stochastic lower bound in expectation (Jensen)
    assert log_z.mean() < LOG_Z


def test_self_normalised_posterior_marginal():
    n = 200_000
    res = jit0(lambda k: importance(k, bn, (), EVIDENCE, n))(jax.random.key(1))
    w = np.exp(np.asarray(res.log_weights) - np.max(np.asarray(res.log_weights)))
    w /= w.sum()
    x = np.asarray(res.traces.choices[f"n{QUERY}"])
    est = np.array([w[x == s].sum() for s in range(STATES)])
    exact = _exact(keep=QUERY)
    exact = exact / exact.sum()
    ess = 1.0 / np.sum(w**2)
    # each component's SE is at most sqrt(1/(4 ESS)); 5 SE keeps the test honest but stable
    np.testing.assert_allclose(est, exact, atol=5 * np.sqrt(0.25 / ess))
    # the observed values are constrained in every particle
    for i, v in OBS.items():
        assert np.all(np.asarray(res.traces.choices[f"n{i}"]) == v)
