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
    """E_y KL(q_φ(·;y) ‖ p(·|y)) and E_y KL(p(·|y) ‖ q_φ(·;y)), by enumeration of the joint."""
    names = net.variables
    combos = np.array(list(itertools.product(*(range(net.card(v)) for v in names))), np.int32)
    log_p = np.zeros(len(combos))  # log p(joint) straight from the parsed CPTs
    for v in names:
        log_p += np.log(net.cpts[v][tuple(combos[:, names.index(u)] for u in (*net.parents[v], v))])

    def log_q(row):
        z = ChoiceMap({v: row[names.index(v)] for v in q.latents})
        y = ChoiceMap({v: row[names.index(v)] for v in q.inputs})
        return q.guide.assess(z, (params, y))[0]

    log_q = np.asarray(jax.jit(jax.vmap(log_q))(jnp.asarray(combos)))
    y_key = [tuple(c[names.index(v)] for v in q.inputs) for c in combos]
    log_py = {}
    for k, lp in zip(y_key, log_p):
        log_py[k] = np.logaddexp(log_py.get(k, -np.inf), lp)
    log_post = log_p - np.array([log_py[k] for k in y_key])  # log p(z | y)
    py = np.exp(np.array([log_py[k] for k in y_key]))
    kl_pq = float(np.sum(np.exp(log_p) * (log_post - log_q)))
    kl_qp = float(np.sum(py * np.exp(log_q) * (log_q - log_post)))
    assert np.allclose([np.exp(log_q[[k == yk for k in y_key]]).sum() for yk in log_py], 1.0)
    return kl_qp, kl_pq


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
    kl_qp, kl_pq = _exact_kls(net, q, params)
    assert kl_pq < 0.1 and kl_qp < 0.1
    model = BayesNet(bn)
    ebs = {}
    for name, prop in (("lw", None), ("amortised", q.proposal(params))):
        eb = entropy_bounds(jax.random.key(2), model, (), Y, N=1000, K=1, proposal=prop,
                            compiler_options=O0)  # fmt: skip
        assert eb.entropy_lower <= h + 3 * eb.se_lower
        assert eb.entropy_upper >= h - 3 * eb.se_upper
        ebs[name] = eb
    assert ebs["amortised"].width < 0.2 * ebs["lw"].width
    # K = 1 gaps are the exact KLs of the trained q (E[Ĥ_upper] − H = KL(q‖p), H − E[Ĥ_lower]
    # = KL(p‖q)); a slack of 0.01 nats covers nothing else
    a = ebs["amortised"]
    assert a.entropy_upper - h == pytest.approx(kl_qp, abs=4 * a.se_upper + 0.01)
    assert h - a.entropy_lower == pytest.approx(kl_pq, abs=4 * a.se_lower + 0.01)
