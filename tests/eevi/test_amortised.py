"""Amortised proposals trained by the sleep objective (spec §2 iv): a trained q_φ used as a custom
proposal keeps the bounds valid and tightens them against likelihood weighting, and its K = 1
gaps equal the exact KL divergences of the trained q_φ (spec §2 d), by enumeration."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.eevi import exact
from simlab.eevi.amortised import BNProposal, train_sleep
from simlab.eevi.bn import BayesNet, compile_bn
from simlab.eevi.estimators import entropy_bounds
from simlab.gen import ChoiceMap

from .nets import five

O0 = {"xla_backend_optimization_level": 0}  # tests compile once, run once


def _exact_kls(net, q, params):
    """E_y KL(q(·;y) ‖ p(·|y)) and E_y KL(p(·|y) ‖ q(·;y)) by enumeration of the joint, for the
    trained q_φ and for likelihood weighting (q = the prior of z: Y are leaves here)."""
    names = net.variables
    combos = np.array(list(itertools.product(*(range(net.card(v)) for v in names))), np.int32)

    def log_cpt(v):  # log p(v | parents) for every joint assignment, straight from the CPTs
        return np.log(net.cpts[v][tuple(combos[:, names.index(u)] for u in (*net.parents[v], v))])

    log_p = sum(log_cpt(v) for v in names)

    def log_q(row):
        z = ChoiceMap({v: row[names.index(v)] for v in q.latents})
        y = ChoiceMap({v: row[names.index(v)] for v in q.inputs})
        return q.guide.assess(z, (params, y))[0]

    log_qs = {
        "amortised": np.asarray(jax.jit(jax.vmap(log_q))(jnp.asarray(combos))),
        "lw": sum(log_cpt(v) for v in q.latents),
    }
    y_key = [tuple(c[names.index(v)] for v in q.inputs) for c in combos]
    log_py = {}
    for k, lp in zip(y_key, log_p):
        log_py[k] = np.logaddexp(log_py.get(k, -np.inf), lp)
    log_post = log_p - np.array([log_py[k] for k in y_key])  # log p(z | y)
    py = np.exp(np.array([log_py[k] for k in y_key]))
    out = {}
    for name, lq in log_qs.items():
        assert np.allclose([np.exp(lq[[k == yk for k in y_key]]).sum() for yk in log_py], 1.0)
        kl_pq = float(np.sum(np.exp(log_p) * (log_post - lq)))
        kl_qp = float(np.sum(py * np.exp(lq) * (lq - log_post)))
        out[name] = (kl_qp, kl_pq)
    return out


def test_sleep_trained_proposal_tightens_the_sandwich_and_stays_valid():
    net = five()
    bn = compile_bn(net)
    Y = ["d", "e"]
    q = BNProposal.for_targets(bn, Y)
    params, losses = train_sleep(
        jax.random.key(1), q, q.init(jax.random.key(0), 16), steps=300, batch=64, lr=1e-2,
        compiler_options=O0,
    )  # fmt: skip
    h = exact.entropy(net, Y)
    h_zy = exact.entropy(net, net.variables) - h  # H(Z | Y): the sleep loss's floor
    assert losses[0] == pytest.approx(np.log(2 * 2 * 3), abs=0.05)  # q starts uniform
    assert losses[-50:].mean() < h_zy + 0.1
    kls = _exact_kls(net, q, params)
    kl_qp, kl_pq = kls["amortised"]
    assert kl_pq < 0.1 and kl_qp < 0.1
    # likelihood weighting's K = 1 width, exactly: E_y [KL(q‖p) + KL(p‖q)] with q = the prior
    lw_width = sum(kls["lw"])
    assert lw_width > 1.0
    a = entropy_bounds(jax.random.key(2), BayesNet(bn), (), Y, N=1000, K=1,
                       proposal=q.proposal(params), compiler_options=O0)  # fmt: skip
    assert a.entropy_lower <= h + 3 * a.se_lower
    assert a.entropy_upper >= h - 3 * a.se_upper
    assert a.width < 0.2 * lw_width
    # K = 1 gaps are the exact KLs of the trained q (E[Ĥ_upper] − H = KL(q‖p), H − E[Ĥ_lower]
    # = KL(p‖q)); a slack of 0.01 nats covers nothing else
    assert a.entropy_upper - h == pytest.approx(kl_qp, abs=4 * a.se_upper + 0.01)
    assert h - a.entropy_lower == pytest.approx(kl_pq, abs=4 * a.se_lower + 0.01)
