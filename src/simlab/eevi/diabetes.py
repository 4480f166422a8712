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

__all__ = ["HOURS", "INSULIN", "MEALS", "exact_pair_mi", "lw_pair_mi", "pairs", "schedule"]

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
