"""String clusters for the hospital data-cleaning task: typo model with a letter-bigram prior.

* :func:`damerau_levenshtein`: the unrestricted Damerau–Levenshtein distance (insertions,
  deletions, substitutions, adjacent transpositions; Lowrance–Wagner), vectorised over a batch
  of candidate strings and, within a DP row, over columns (insertions by a running minimum).
* :func:`bigram_log_prior`: length uniform on 40..200, first symbol from the letter
  probabilities, each next symbol from column *previous* of the column-stochastic transition
  matrix; a symbol outside the 28-letter alphabet scores −log 28 and resets the context;
  every log-probability is floored at −1000.
* :func:`typo_log_lik`: log NegBin(d; ⌈|s|/5⌉, 0.9) − d log|s| − (d/2) log 26 with d = DL(x, s).
* :func:`hospital_family`: the MeasureName column as a :class:`StringClusters` family over the
  64 distinct dirty values plus a dummy candidate.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.special import gammaln

from simlab.ravi.clusters import StringClusters

__all__ = [
    "ALPHABET",
    "bigram_log_prior",
    "clean_predictions",
    "damerau_levenshtein",
    "hospital_family",
    "typo_log_lik",
]

ALPHABET = "abcdefghijklmnopqrstuvwxyz ."
_INDEX = {c: i for i, c in enumerate(ALPHABET)}
FLOOR = -1000.0


def damerau_levenshtein(a: str, bs: list[str]) -> np.ndarray:
    """Unrestricted Damerau–Levenshtein distances from ``a`` to each of ``bs``: int [len(bs)]."""
    B, La = len(bs), len(a)
    Lb = max((len(b) for b in bs), default=0)
    codes = {c: i for i, c in enumerate(sorted(set(a).union(*bs)))}
    ac = np.array([codes[c] for c in a], dtype=np.int64)
    bc = np.full((B, Lb), -1, dtype=np.int64)
    for k, b in enumerate(bs):
        bc[k, : len(b)] = [codes[c] for c in b]
    big = La + Lb + 1
    cols = np.arange(Lb + 1)
    # D[k, i, j] = distance between a[:i] and bs[k][:j]
    D = np.zeros((B, La + 1, Lb + 1), dtype=np.int64)
    D[:, 0, :] = cols
    da = np.zeros((B, len(codes)), dtype=np.int64)  # last row i (1-based) with a[i] = symbol
    rows = np.arange(B)[:, None]
    for i in range(1, La + 1):
        ch = ac[i - 1]
        match = bc == ch  # [B, Lb]: b[j] == a[i]
        cost = (~match).astype(np.int64)
        prev = D[:, i - 1]
        sub = prev[:, :-1] + cost
        dele = prev[:, 1:] + 1
        # transposition: i1 = last row < i with a[i1] = b[j]; j1 = last column < j with
        # b[j1] = a[i] (0 when none)
        i1 = np.where(bc >= 0, da[rows, np.maximum(bc, 0)], 0)
        jm = np.where(match, np.arange(1, Lb + 1), 0)
        j1 = np.concatenate(
            [np.zeros((B, 1), np.int64), np.maximum.accumulate(jm, axis=1)[:, :-1]], 1
        )
        ok = (i1 > 0) & (j1 > 0)
        trans_base = D[rows, np.maximum(i1 - 1, 0), np.maximum(j1 - 1, 0)]
        j = np.arange(1, Lb + 1)
        trans = np.where(ok, trans_base + (i - i1 - 1) + 1 + (j - j1 - 1), big)
        e = np.minimum(np.minimum(sub, dele), trans)
        e = np.concatenate([np.full((B, 1), i, np.int64), e], axis=1)  # D[i, 0] = i
        # insertions: D[i, j] = min_{k ≤ j} e[k] + (j − k)
        D[:, i] = np.minimum.accumulate(e - cols, axis=1) + cols
        da[:, ch] = i
    lens = np.array([len(b) for b in bs])
    return D[np.arange(B), La, lens]


def bigram_log_prior(s: str, first: np.ndarray, transition: np.ndarray) -> float:
    """log π(s) under the bigram model (nats). ``first`` [28]; ``transition`` [28, 28] with
    transition[next, prev] (column-stochastic)."""
    lp = -math.log(161) if 40 <= len(s) <= 200 else -math.inf
    prev = None
    for c in s:
        i = _INDEX.get(c)
        if i is None:
            lp += max(-math.log(28), FLOOR)
            prev = None
            continue
        p = first[i] if prev is None else transition[i, prev]
        lp += max(math.log(p) if p > 0 else -math.inf, FLOOR)
        prev = i
    return lp


def neg_binomial_logpmf(k, r, p):
    """log C(k+r−1, k) p^r (1−p)^k: failures k before the r-th success (scipy's nbinom)."""
    k = np.asarray(k, dtype=float)
    return gammaln(k + r) - gammaln(k + 1) - gammaln(r) + r * np.log(p) + k * np.log1p(-p)


def typo_log_lik(d: np.ndarray, s_len) -> np.ndarray:
    """log ℓ(x | s) for DL distance d and candidate length |s| (arrays broadcast)."""
    d = np.asarray(d, dtype=float)
    s_len = np.asarray(s_len, dtype=float)
    r = np.ceil(s_len / 5)
    return neg_binomial_logpmf(d, r, 0.9) - d * np.log(s_len) - d / 2 * np.log(26)


def hospital_family(folder: str | Path, column: str = "MeasureName", rows: int | None = None):
    """(StringClusters family over the rows, clean labels [n] int, info dict).

    info: ``candidates`` (list of str, the dummy last), ``dirty`` and ``clean`` (per-row str),
    ``data`` (a description). ``rows``: use only the first rows (all by default). The typo
    log-likelihood is computed once per (distinct dirty
    string, candidate) and indexed per row.
    """
    from simlab.ravi.data import load_hospital

    h = load_hospital(folder)
    dirty, clean = h.column(column)[:rows], h.column(column, clean=True)[:rows]
    distinct = sorted(set(dirty))
    mean_len = int(np.floor(np.mean([len(s) for s in distinct])))
    candidates = [*distinct, "*" * mean_len]
    log_prior = np.array([bigram_log_prior(s, h.letter_probs, h.transition) for s in distinct])
    total = np.logaddexp.reduce(log_prior)
    dummy = np.log(-np.expm1(total)) if total < 0 else -np.inf
    log_prior = np.append(log_prior, dummy)
    s_len = np.array([len(s) for s in candidates])
    table = np.stack([typo_log_lik(damerau_levenshtein(x, candidates), s_len) for x in distinct])
    row_index = np.array([distinct.index(x) for x in dirty])
    fam = StringClusters(log_prior, table[row_index])
    clean_ids = {s: i for i, s in enumerate(sorted(set(clean)))}
    truth = np.array([clean_ids[s] for s in clean])
    info = {
        "data": f"hospital {column}: n = {len(dirty)} rows, {len(distinct)} distinct dirty "
        f"values, {len(clean_ids)} clean; {len(candidates)} candidates incl. a dummy",
        "candidates": candidates,
        "dirty": dirty,
        "clean": clean,
    }
    return fam, truth, info


def clean_predictions(fam: StringClusters, z: np.ndarray, candidates: list[str]) -> list[str]:
    """Per-row cleaned string: the MAP candidate argmax_s log π(s) + Σ_{x∈c} log ℓ(x | s) of
    the row's cluster in partition z [n]."""
    out = [""] * len(z)
    for c in np.unique(z):
        idx = np.flatnonzero(z == c)
        best = int(np.argmax(fam.log_prior + fam.log_lik[idx].sum(axis=0)))
        for i in idx:
            out[i] = candidates[best]
    return out
