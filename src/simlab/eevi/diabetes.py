"""The DIAS insulin-sensitivity study (spec §6.3): which two hourly blood-glucose measurements
tell most about insulin sensitivity, under a fixed meal and insulin schedule?

Query, for all 300 pairs of hours t1 < t2 (hour h = BIF suffix h − 1): I(ins_sens; bg_t1, bg_t2 |
sch) = log 5 + H(bg_t1, bg_t2 | sch) − H(ins_sens, bg_t1, bg_t2 | sch),
with H(ins_sens) = log 5 exact (a uniform root independent of the schedule roots).
The schedule is background evidence on roots (meal_*, ins_abs_*).
"""

from __future__ import annotations

import itertools
import math
import time

import jax
import numpy as np

from simlab.core.errors import ConfigError
from simlab.eevi import exact
from simlab.eevi.bif import BifNetwork
from simlab.eevi.bn import CompiledBN
from simlab.eevi.estimators import combine
from simlab.eevi.lw import bn_entropy_bounds, bn_outer_samples

__all__ = [
    "HOURS",
    "INSULIN",
    "MEALS",
    "exact_pair_mi",
    "exact_pair_mi_table",
    "lw_pair_mi",
    "pairs",
    "schedule",
    "smc_pair_mi",
    "truncate",
]

HOURS = 25
MEALS = {
    0: (0, 30, 0, 30, 0, 0, 50, 0, 20, 0, 0, 0, 50, 0, 30, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    1: (0, 0, 0, 100, 0, 0, 0, 0, 20, 0, 50, 0, 50, 0, 30, 0, 50, 0, 0, 0, 0, 0, 0, 0, 0),
}
INSULIN = {
    0: (1.6, 1.6, 3.2, 3.2) + (6.4,) * 5 + (3.2,) * 6 + (6.4,) * 4 + (3.2,) * 5,
    1: (6.4,) * 9 + (3.2,) * 6 + (6.4,) * 4 + (3.2,) * 5,
    2: (70.7, 50, 50, 50, 35.5, 35.5, 35.5, 6.4, 6.4, 3.2) + (25,) * 5 + (6.4,) * 9,
}
LOG5 = math.log(5.0)


def _insulin_state(x: float) -> str:
    return f"{x:.1f}".replace(".", "_") + "mU_kg_h"


def schedule(bn: CompiledBN, meal: int = 0, insulin: int = 0) -> dict[str, int]:
    """Background evidence {node: state index} for meal scenario ``meal`` (hours 1–25) and
    insulin scenario ``insulin`` (hours 1–24)."""
    if meal not in MEALS or insulin not in INSULIN:
        raise ConfigError(
            f"unknown schedule meal={meal}, insulin={insulin} (meal: 0 or 1; insulin: 0, 1, 2)"
        )
    ev = {}
    for h, g in enumerate(MEALS[meal]):
        ev[f"meal_{h}"] = bn.state_index(f"meal_{h}", f"{g}g")
    for h, u in enumerate(INSULIN[insulin]):
        ev[f"ins_abs_{h}"] = bn.state_index(f"ins_abs_{h}", _insulin_state(u))
    return ev


def pairs(hours: int = HOURS) -> list[tuple[int, int]]:
    """All (t1, t2) with 1 ≤ t1 < t2 ≤ hours (300 for 25 hours)."""
    return list(itertools.combinations(range(1, hours + 1), 2))


def _bg(h: int) -> str:
    return f"bg_{h - 1}"


def exact_pair_mi(net: BifNetwork, sched: dict[str, int], pair: tuple[int, int]) -> float:
    """Exact I(ins_sens; bg_t1, bg_t2 | schedule) in nats, by variable elimination (min-size
    order) keeping (ins_sens, bg_t1, bg_t2) open with the schedule sliced in. Seconds per
    pair for late hours (the ordering heuristic is plain Python)."""
    keep = ("ins_sens", _bg(pair[0]), _bg(pair[1]))
    t = exact.marginal_table(net, keep, sched, order="min_size")
    p = t / t.sum()
    pb = p.sum(axis=0)

    def h(x):
        x = x[x > 0]
        return float(-(x * np.log(x)).sum())

    return LOG5 + h(pb) - h(p)


def _suffix(v: str) -> int | None:
    tail = v.rsplit("_", 1)[-1]
    return int(tail) if tail.isdigit() else None


def exact_pair_mi_table(net: BifNetwork, sched: dict[str, int], hours: int = HOURS) -> np.ndarray:
    """Exact I(ins_sens; bg_t1, bg_t2 | schedule) for every pair at once, nats: (hours + 1,
    hours + 1) array, entry [t1, t2] for 1 ≤ t1 < t2 ≤ hours (NaN elsewhere).

    Independent of :func:`exact_pair_mi` (which runs variable elimination per pair): given
    ins_sens = s and the schedule, DIAS is a Markov chain in the hourly state (bg_h,
    cho_bal_{h−1}) (cho_init before hour 1), 11 × 16 states. Each hour's transition matrix
    T_h[(bg_h, cb_{h−1}), (bg_{h+1}, cb_h)] contracts that hour's CPTs (opt_einsum), and the
    pair marginals follow by forward propagation from each t1. Seconds for all 300 pairs.
    """
    import opt_einsum

    T = hours - 1  # transitions bg_h -> bg_{h+1}, h = 0..T-1 (suffixes)
    sym = {v: i for i, v in enumerate(net.variables)}
    n_bg, n_cb = net.card("bg_0"), net.card("cho_init")
    joint = np.zeros((5, hours, hours, n_bg, n_bg))  # [s, t1, t2, bg_t1, bg_t2] (suffixes)
    for s in range(net.card("ins_sens")):
        ev = {**sched, "ins_sens": s}
        mats = []
        for h in range(T):
            nodes = [v for v in net.variables if _suffix(v) == h and v != f"bg_{h}"]
            args: list = []
            for v in [*nodes, f"bg_{h + 1}"]:
                axes = [*net.parents[v], v]
                cpt = net.cpts[v]
                sl = tuple(ev[u] if u in ev else slice(None) for u in axes)
                args += [cpt[sl], [sym[u] for u in axes if u not in ev]]
            prev = "cho_init" if h == 0 else f"cho_bal_{h - 1}"
            out = [sym[f"bg_{h}"], sym[prev], sym[f"bg_{h + 1}"], sym[f"cho_bal_{h}"]]
            t = opt_einsum.contract(*args, out, optimize="greedy")
            mats.append(t.reshape(n_bg * n_cb, n_bg * n_cb))
        alpha = [np.outer(net.cpts["bg_0"], net.cpts["cho_init"]).reshape(-1)]
        for m in mats:
            alpha.append(alpha[-1] @ m)
        for t1 in range(hours):
            a = np.zeros((n_bg, n_bg, n_cb))  # [b1, bg_t1 state, cb]: pinned to bg_t1 = b1
            a[np.arange(n_bg), np.arange(n_bg)] = alpha[t1].reshape(n_bg, n_cb)
            a = a.reshape(n_bg, -1)
            for t2 in range(t1 + 1, hours):
                a = a @ mats[t2 - 1]
                joint[s, t1, t2] = a.reshape(n_bg, n_bg, n_cb).sum(-1)
    out = np.full((hours + 1, hours + 1), np.nan)

    def h(x):
        x = x[x > 0]
        return float(-(x * np.log(x)).sum())

    for t1 in range(hours):
        for t2 in range(t1 + 1, hours):
            # p(b1, b2 | s, sched) up to the schedule's constant; p(s | sched) = 1/5
            p = joint[:, t1, t2] / joint[:, t1, t2].sum(axis=(1, 2), keepdims=True) / 5.0
            out[t1 + 1, t2 + 1] = LOG5 + h(p.sum(axis=0)) - h(p)
    return out


def lw_pair_mi(
    bn: CompiledBN,
    key,
    sched: dict[str, int],
    pair_list,
    N: int = 100,
    K: int = 100,
    outer=None,
    tick=None,
) -> tuple[list[dict], dict]:
    """Likelihood-weighting IS bounds on the pair MI for every pair (shared outer samples).

    Returns (rows, info): rows {t1, t2, mi_lower, mi_upper, se_lower, se_upper, n_neg_inf};
    info {runtime_s, compile_s, particles}. ``tick(n)`` is called after each batch of pairs.
    """
    k_out, k_in = jax.random.split(key)
    if outer is None:
        outer = bn_outer_samples(bn, k_out, N, sched)
    vals, log_c = outer
    rows = []
    t0 = time.perf_counter()
    compile_s = 0.0
    batch = 4  # pairs per call: 8 target sets = one compiled chunk
    for j in range(0, len(pair_list), batch):
        chunk = pair_list[j : j + batch]
        sets = []
        for a, b in chunk:
            sets += [[_bg(a), _bg(b)], ["ins_sens", _bg(a), _bg(b)]]
        ebs = bn_entropy_bounds(
            bn, jax.random.fold_in(k_in, j), vals, sets, K, log_c, background=sched
        )
        compile_s = max(compile_s, ebs[0].compile_s)
        for i, (a, b) in enumerate(chunk):
            h_b, h_sb = ebs[2 * i], ebs[2 * i + 1]
            ib = combine([(1, "H(S)", LOG5), (1, "H(B)", h_b), (-1, "H(S,B)", h_sb)], True)
            rows.append(
                {
                    "t1": a,
                    "t2": b,
                    "mi_lower": ib.lower,
                    "mi_upper": ib.upper,
                    "se_lower": ib.se_lower,
                    "se_upper": ib.se_upper,
                    "n_neg_inf": h_b.n_neg_inf + h_sb.n_neg_inf,
                }
            )
        if tick is not None:
            tick(len(chunk))
    wall = time.perf_counter() - t0
    info = {"wall_s": wall, "particles": 2 * len(pair_list) * len(vals) * K}
    return rows, info


def truncate(net: BifNetwork, hours: int) -> BifNetwork:
    """The sub-network of the first ``hours`` hourly blocks (suffix < hours, plus cho_init and
    ins_sens). Later nodes are descendants only, so the kept marginal is unchanged."""
    from dataclasses import replace

    def keep(v):
        tail = v.rsplit("_", 1)[-1]
        return not tail.isdigit() or int(tail) < hours

    vs = tuple(v for v in net.variables if keep(v))
    return replace(
        net,
        variables=vs,
        states={v: net.states[v] for v in vs},
        parents={v: net.parents[v] for v in vs},
        cpts={v: net.cpts[v] for v in vs},
        order=tuple(v for v in net.order if keep(v)),
    )


_SMC_FNS: dict = {}


def smc_bounds_fn(bn: CompiledBN, P: int, obs_types: tuple, compiler_options=None):
    """(f, T): f(keys (N,), vals (N, n), observed (T,) bool) -> (log_z_hat (N,), log_z_hat_recip
    (N,)) of SMC with P particles and cSMC with P + 1 (retaining each vals row's latents) on
    the hourly blocks, targets = ``obs_types`` slots at every hour + bg at observed hours.
    E[log_z_hat] ≤ log p(y) ≤ E[log_z_hat_recip] (y includes the background slots).
    ``compiler_options``: XLA options of the (lazy, cached) compilation."""
    import jax.numpy as jnp

    from simlab.eevi.seqbn import sequential_bn, trajectory
    from simlab.gen.smc import csmc, smc

    opts = dict(compiler_options or {}) or None
    key = (bn, P, tuple(obs_types), jnp.result_type(float), repr(opts))
    if key in _SMC_FNS:
        return _SMC_FNS[key]
    model = sequential_bn(bn, "bg")
    step = model.step_gf

    def bounds(k, v, observed):
        lat, obs = trajectory(step, v, observed, obs_types)
        carry0 = (jnp.zeros(bn.n + 1, jnp.int32), observed)
        k1, k2 = jax.random.split(k)
        lo = smc(k1, model, obs, P, args=(carry0,)).log_z_hat
        up = csmc(k2, model, obs, P + 1, lat.prefixed("steps"), args=(carry0,))
        return lo, up.log_z_hat_recip

    jf = jax.jit(jax.vmap(bounds, (0, 0, None)))
    compiled = {}

    def call(keys, vals, observed):
        args = (keys, jnp.asarray(vals, jnp.int32), jnp.asarray(observed, bool))
        sig = tuple(a.shape for a in args)
        if sig not in compiled:
            compiled[sig] = jf.lower(*args).compile(opts)
        return compiled[sig](*args)

    _SMC_FNS[key] = (call, step.T)
    return _SMC_FNS[key]


def smc_pair_mi(
    bn: CompiledBN,
    key,
    sched: dict[str, int],
    pair_list,
    N: int = 100,
    P: int = 100,
    outer=None,
    tick=None,
    compiler_options=None,
) -> tuple[list[dict], dict]:
    """SMC / cSMC bounds (simlab.gen ``smc`` and ``csmc`` over the hourly blocks, internal
    proposal, systematic resampling at ESS < P/2; cSMC with P free + 1 retained particle,
    conditional multinomial) on the pair MI for every pair, shared outer samples.

    Per outer sample i and term Y: log_marginal_lower = log Ẑ_SMC − log p(sch) and
    log_marginal_upper = log Ẑ_cSMC(retained = the exact draw's latents) − log p(sch).
    The filter runs over all hours (no observation after t2, so later steps leave the weights
    unchanged up to the constant schedule factors). Returns rows like :func:`lw_pair_mi`.
    """
    from simlab.eevi.estimators import EntropyBounds

    k_out, k_in = jax.random.split(key)
    if outer is None:
        outer = bn_outer_samples(bn, k_out, N, sched)
    vals, log_c = outer
    background = ("meal", "ins_abs")
    fns = {s: smc_bounds_fn(bn, P, background + s, compiler_options) for s in ((), ("ins_sens",))}
    T = fns[()][1]
    rows = []
    t0 = time.perf_counter()
    for j, (a, b) in enumerate(pair_list):
        observed = np.zeros(T, bool)
        observed[[a - 1, b - 1]] = True
        keys = jax.random.split(jax.random.fold_in(k_in, j), len(vals))
        ebs = []
        for s in ((), ("ins_sens",)):
            lo, up = fns[s][0](keys, vals, observed)
            lo = np.asarray(lo, np.float64) - log_c
            up = np.asarray(up, np.float64) - log_c
            meta = {"K": P, "N": len(vals), "M": 1, "method": "smc"}
            ebs.append(EntropyBounds.from_samples(lo, up, runtime_s=0.0, compile_s=0.0, **meta))
        ib = combine([(1, "H(S)", LOG5), (1, "H(B)", ebs[0]), (-1, "H(S,B)", ebs[1])], True)
        rows.append({"t1": a, "t2": b, "mi_lower": ib.lower, "mi_upper": ib.upper,
                     "se_lower": ib.se_lower, "se_upper": ib.se_upper,
                     "n_neg_inf": ebs[0].n_neg_inf + ebs[1].n_neg_inf})  # fmt: skip
        if tick is not None:
            tick(1)
    info = {
        "wall_s": time.perf_counter() - t0,
        "particles": 2 * len(pair_list) * len(vals) * (2 * P + 1),
    }
    return rows, info
