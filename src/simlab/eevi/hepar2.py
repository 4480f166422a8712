"""The HEPAR II experiments (spec §6.2): rank 36 diagnostic tests by I(disease; test | O).

Roles follow ``probsys/eevi:examples/2-hepar2`` (variable names as in bnlearn's hepar2):
5 diseases, 10 patient properties, 41 leaves; the observed set O = the last 6 leaves + the 10
properties; the candidate tests = the first 36 leaves. ``jaundice`` is both a test and observed,
so its CMI is exactly 0: it is kept for fidelity and flagged in reports.

For each disease d and test t (shared outer samples per disease, likelihood weighting):
H(d | t, O) = H(t, d, O) − H(t, O) and I(d; t | O) = H(d, O) + H(t, O) − H(d, t, O) − H(O).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import jax
import numpy as np

from simlab.eevi import exact
from simlab.eevi.bif import BifNetwork
from simlab.eevi.bn import CompiledBN
from simlab.eevi.estimators import InfoBounds, combine
from simlab.eevi.lw import bn_entropy_bounds, bn_outer_samples

__all__ = [
    "DISEASES",
    "LEAVES",
    "OBSERVED",
    "PROPERTIES",
    "TESTS",
    "TestScore",
    "exact_cmi",
    "rank_tests",
    "runtime_sweep",
    "variance_experiment",
]

DISEASES = ("PBC", "Steatosis", "Cirrhosis", "fibrosis", "ChHepatitis")
PROPERTIES = (
    "surgery", "sex", "age", "joints", "hepatomegaly",
    "bilirubin", "proteins", "platelet", "inr", "encephalopathy",
)  # fmt: skip
LEAVES = (
    "upper_pain", "fat", "flatulence", "amylase", "anorexia", "nausea", "ama", "le_cells",
    "pain", "triglycerides", "pain_ruq", "fatigue", "pressure_ruq", "ESR", "ggtp",
    "cholesterol", "hbc_anti", "hcv_anti", "hbeag", "hepatalgia", "hbsag_anti", "phosphatase",
    "edema", "alcohol", "alt", "ast", "spleen", "spiders", "albumin", "edge",
    "irregular_liver", "palms", "carcinoma", "itching", "skin", "jaundice", "ascites",
    "bleeding", "urea", "density", "consciousness",
)  # fmt: skip
OBSERVED = LEAVES[-6:] + PROPERTIES
TESTS = LEAVES[:36]


@dataclass(frozen=True)
class TestScore:
    """One (disease, test) result, nats. ``cmi``: bounds on I(d; t | O); ``cond``: bounds on
    H(d | t, O). ``also_observed``: the test is in O (its CMI is exactly 0)."""

    disease: str
    test: str
    cmi: InfoBounds
    cond: InfoBounds
    also_observed: bool

    def row(self) -> dict:
        return {
            "disease": self.disease,
            "test": self.test,
            "cmi_lower": self.cmi.lower,
            "cmi_upper": self.cmi.upper,
            "cmi_mid": self.cmi.mid,
            "cmi_se_lower": self.cmi.se_lower,
            "cmi_se_upper": self.cmi.se_upper,
            "cond_entropy_lower": self.cond.lower,
            "cond_entropy_upper": self.cond.upper,
            "cond_se_lower": self.cond.se_lower,
            "cond_se_upper": self.cond.se_upper,
            "also_observed": self.also_observed,
        }


def rank_tests(
    bn: CompiledBN,
    key,
    disease: str,
    N: int = 100,
    K: int = 100,
    tests=TESTS,
    observed=OBSERVED,
    compiler_options: dict | None = None,
) -> tuple[list[TestScore], dict]:
    """Bounds for every test of one disease, sorted by CMI midpoint (descending).

    Returns (scores, info) with info = {"runtime_s", "compile_s", "n_terms", "particles",
    "n_neg_inf"}. All terms of the disease share the same N outer samples.
    """
    k_out, k_in = jax.random.split(key)
    vals, _ = bn_outer_samples(bn, k_out, N)
    O = list(observed)
    sets = [[disease, *O], O]
    for t in tests:
        sets += [[t, disease, *O], [t, *O]]
    t0 = time.perf_counter()
    ebs = bn_entropy_bounds(bn, k_in, vals, sets, K, compiler_options=compiler_options)
    wall = time.perf_counter() - t0
    h_dO, h_O = ebs[0], ebs[1]
    scores = []
    for j, t in enumerate(tests):
        h_tdO, h_tO = ebs[2 + 2 * j], ebs[3 + 2 * j]
        cmi = combine(
            [(1, "H(d,O)", h_dO), (1, "H(t,O)", h_tO), (-1, "H(d,t,O)", h_tdO), (-1, "H(O)", h_O)],
            shared=True,
        )
        cond = combine([(1, "H(t,d,O)", h_tdO), (-1, "H(t,O)", h_tO)], shared=True)
        scores.append(TestScore(disease, t, cmi, cond, t in observed))
    scores.sort(key=lambda s: -s.cmi.mid)
    info = {
        "wall_s": wall,
        "compile_s": ebs[0].compile_s,
        "runtime_s": sum(e.runtime_s for e in ebs),
        "n_terms": len(sets),
        "particles": len(sets) * N * K,
        "n_neg_inf": sum(e.n_neg_inf for e in ebs),
    }
    return scores, info


def exact_cmi(net: BifNetwork, disease: str, tests=TESTS, observed=OBSERVED) -> dict[str, float]:
    """Oracle: {test: exact I(d; t | O)} in nats, from exact joint tables by contraction,
    I = H(d,O) + H(t,O) − H(d,t,O) − H(O) (the tables over O have ~1.2 M entries)."""
    O = tuple(observed)

    def h(table):
        p = table[table > 0]
        return float(-(p * np.log(p)).sum())

    p_dO = exact.marginal_table(net, (disease, *O))
    h_dO, h_O = h(p_dO), h(p_dO.sum(axis=0))
    out = {}
    for t in tests:
        if t in O:
            out[t] = 0.0
            continue
        p_tdO = exact.marginal_table(net, (t, disease, *O))
        out[t] = h_dO + h(p_tdO.sum(axis=1)) - h(p_tdO) - h_O
    return out


def runtime_sweep(
    bn: CompiledBN, key, n_targets=(10, 20, 40), Ks=(1, 2, 3, 4, 5, 6, 7, 8, 16), N: int = 5000
) -> list[dict]:
    """Entropy bounds of the first n leaves for each K (spec runtime experiment).

    Returns rows {n, K, N, runtime_s, compile_s, entropy_lower, entropy_upper, se_lower,
    se_upper, gap}; runtime excludes compilation (reported separately)."""
    k_out, k_in = jax.random.split(key)
    vals, _ = bn_outer_samples(bn, k_out, N)
    rows = []
    for n in n_targets:
        for K in Ks:
            (eb,) = bn_entropy_bounds(bn, jax.random.fold_in(k_in, 100 * n + K), vals,
                                      [list(LEAVES[:n])], K)  # fmt: skip
            rows.append(
                {
                    "n": n,
                    "K": K,
                    "N": N,
                    "runtime_s": eb.runtime_s,
                    "compile_s": eb.compile_s,
                    "entropy_lower": eb.entropy_lower,
                    "entropy_upper": eb.entropy_upper,
                    "se_lower": eb.se_lower,
                    "se_upper": eb.se_upper,
                    "gap": eb.width,
                    "n_neg_inf": eb.n_neg_inf,
                }
            )
    return rows


def variance_experiment(
    bn: CompiledBN,
    key,
    disease: str = "PBC",
    test: str = "ama",
    observed=OBSERVED,
    N: int = 10_000,
    K: int = 200,
    replicates: int = 18,
    outer_chunk: int = 1000,
    tick=None,
    compiler_options: dict | None = None,
) -> dict:
    """The spec's variance experiment: replicate the bounds on H(d|t,O) = H(t,d,O) − H(t,O)
    with shared and with independent outer samples and compare their spread.

    Per replicate and mode ("shared": one set of N outer samples for both terms; "independent":
    each term draws its own N), the four entropy bounds (lower/upper of H(t,d,O) and H(t,O))
    and the derived bounds on H(d|t,O), nats, with their SEs. Returns {"rows": [...],
    "sd": {mode: {quantity: across-replicate sd}}, "mean": {...}, "replicate0": per-sample
    log_marginal_lower/upper (N,) of each term and mode, "runtime_s", "particles"}.
    ``compiler_options``: XLA options of the compilations (tests use -O0).
    """
    O = list(observed)
    sets = [[test, disease, *O], [test, *O]]
    names = ("H(t,d,O)", "H(t,O)")
    rows, first = [], {}
    t0 = time.perf_counter()
    for r in range(replicates):
        k_r = jax.random.fold_in(key, r)
        k_sh, k_in1, k_in2, k_sh_in = jax.random.split(k_r, 4)
        for mode in ("shared", "independent"):
            if mode == "shared":
                vals, _ = bn_outer_samples(bn, k_sh, N)
                ebs = bn_entropy_bounds(bn, k_sh_in, vals, sets, K, outer_chunk=outer_chunk,
                                        compiler_options=compiler_options)  # fmt: skip
            else:  # each term its own outer samples (and inner randomness)
                ebs = []
                for k_t, s in zip((k_in1, k_in2), sets):
                    k_o, k_i = jax.random.split(k_t)
                    vals, _ = bn_outer_samples(bn, k_o, N)
                    ebs += bn_entropy_bounds(bn, k_i, vals, [s], K, outer_chunk=outer_chunk,
                                             compiler_options=compiler_options)  # fmt: skip
            cond = combine([(1, names[0], ebs[0]), (-1, names[1], ebs[1])], mode == "shared")
            row = {"replicate": r, "mode": mode}
            for nm, eb in zip(names, ebs):
                row |= {f"{nm} lower": eb.entropy_lower, f"{nm} upper": eb.entropy_upper,
                        f"{nm} se_lower": eb.se_lower, f"{nm} se_upper": eb.se_upper}  # fmt: skip
            h = "H(d|t,O)"
            row |= {f"{h} lower": cond.lower, f"{h} upper": cond.upper,
                    f"{h} se_lower": cond.se_lower, f"{h} se_upper": cond.se_upper}  # fmt: skip
            rows.append(row)
            if r == 0:
                first[mode] = {
                    nm: {"log_marginal_lower": eb.log_marginal_lower.tolist(),
                         "log_marginal_upper": eb.log_marginal_upper.tolist()}
                    for nm, eb in zip(names, ebs)
                }  # fmt: skip
        if tick is not None:
            tick(1)
    runtime = time.perf_counter() - t0
    quantities = [f"{nm} {b}" for nm in (*names, "H(d|t,O)") for b in ("lower", "upper")]
    sd, mean = {}, {}
    for mode in ("shared", "independent"):
        sub = [row for row in rows if row["mode"] == mode]
        sd[mode] = {q: float(np.std([row[q] for row in sub], ddof=1)) for q in quantities}
        mean[mode] = {q: float(np.mean([row[q] for row in sub])) for q in quantities}
    return {
        "config": {"disease": disease, "test": test, "N": N, "K": K, "replicates": replicates},
        "rows": rows,
        "sd": sd,
        "mean": mean,
        "replicate0": first,
        "runtime_s": runtime,
        "particles": replicates * 2 * 2 * N * K,
    }
