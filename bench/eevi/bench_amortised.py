"""Amortised proposal (sleep-trained q_φ) vs likelihood weighting on HEPAR II: bounds on H(Y)
for Y = (disease, O) against the exact entropy by contraction, K ∈ {1, 10, 100}. Prints JSON.

    .venv/bin/python bench/eevi/bench_amortised.py [--disease PBC] [--steps 2000] [--N 1000]
"""

import argparse
import json
import time

import jax
import numpy as np

from simlab.eevi import exact
from simlab.eevi.amortised import BNProposal, train_sleep
from simlab.eevi.bif import load_network
from simlab.eevi.bn import BayesNet, compile_bn
from simlab.eevi.estimators import entropy_bounds, outer_samples
from simlab.eevi.hepar2 import OBSERVED


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--disease", default="PBC")
    ap.add_argument("--steps", type=int, default=2000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--N", type=int, default=1000)
    ap.add_argument("--Ks", type=int, nargs="+", default=[1, 10, 100])
    a = ap.parse_args()
    net = load_network("hepar2")
    bn = compile_bn(net)
    Y = [a.disease, *OBSERVED]
    out = {"targets": Y, "exact_entropy": exact.entropy(net, Y), "N": a.N}
    # H(all nodes) = Σ_v H(v | parents): the sleep loss's floor is H(Z|Y) = H(all) − H(Y)
    h_joint = sum(exact.conditional_entropy(net, [v], list(net.parents[v])) for v in net.variables)
    with jax.enable_x64(True):
        q = BNProposal.for_targets(bn, Y)
        t0 = time.perf_counter()
        params, losses = train_sleep(jax.random.key(0), q, q.init(jax.random.key(1), a.hidden),
                                     steps=a.steps, batch=a.batch)  # fmt: skip
        losses = np.asarray(losses)
        out["train"] = {"steps": a.steps, "batch": a.batch, "hidden": a.hidden,
                        "wall_s": time.perf_counter() - t0,
                        "loss_first_100": float(losses[:100].mean()),
                        "loss_last_100": float(losses[-100:].mean()),
                        "exact_H(Z|Y)": h_joint - out["exact_entropy"]}  # fmt: skip
        model = BayesNet(bn)
        outer = outer_samples(jax.random.key(2), model, (), a.N)
        rows = []
        for name, prop in (("lw", None), ("amortised", q.proposal(params))):
            for K in a.Ks:
                eb = entropy_bounds(jax.random.key(3 + K), model, (), Y, K=K, proposal=prop,
                                    outer=outer)  # fmt: skip
                rows.append({"proposal": name, "K": K, "entropy_lower": eb.entropy_lower,
                             "entropy_upper": eb.entropy_upper, "se_lower": eb.se_lower,
                             "se_upper": eb.se_upper, "width": eb.width,
                             "n_neg_inf": eb.n_neg_inf, "runtime_s": eb.runtime_s,
                             "compile_s": eb.compile_s})  # fmt: skip
        out["bounds"] = rows
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
