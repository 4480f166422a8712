"""Data for the RAVI experiments: galaxy velocities (embedded) and the hospital table (a path).

Galaxy velocities
-----------------
The classic 82 recession velocities (km/s) of galaxies in the Corona Borealis region, from
Roeder (1990), *Density estimation with confidence sets exemplified by superclusters and voids
in the galaxies*, JASA 85:617-624 (data of Postman, Huchra & Geller 1986). The embedded list
is the corrected variant: the 78th sorted value is **26960**. R's ``MASS::galaxies`` (and
Richardson & Green's scaled copy) have the documented typo 26690 there; ``mass_typo=True``
selects it. By default the values are divided by 1000 (the usual scaling), since the
Normal–Gamma prior (μ0 = 0, κ0 = 0.01, precision mean 1) is badly mismatched to raw km/s.

Hospital
--------
The PClean hospital benchmark (``probcomp/ravi-uai-2022:datasets/``, MIT): ``hospital.csv``
(dirty) and ``hospital_clean.csv`` (1000 rows × 19 columns) plus the letter bigram model. It
is never copied into this repository: pass the folder (tests use ../shared/data/ravi).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simlab.core.errors import DataError

__all__ = ["HOSPITAL_SOURCE", "Hospital", "galaxy", "load_hospital", "synthetic"]

_GALAXY_KMS = (
    "9172 9350 9483 9558 9775 10227 10406 16084 16170 18419 18552 18600 18927 19052 19070 19330 "
    "19343 19349 19440 19473 19529 19541 19547 19663 19846 19856 19863 19914 19918 19973 19989 "
    "20166 20175 20179 20196 20215 20221 20415 20629 20795 20821 20846 20875 20986 21137 21492 "
    "21701 21814 21921 21960 22185 22209 22242 22249 22314 22374 22495 22746 22747 22888 22914 "
    "23206 23241 23263 23484 23538 23542 23666 23706 23711 24129 24285 24289 24366 24717 24990 "
    "25633 26960 26995 32065 32789 34279"
)

HOSPITAL_SOURCE = (
    "https://github.com/probcomp/ravi-uai-2022 (folder datasets/: hospital.csv, "
    "hospital_clean.csv, letter_probabilities.csv, letter_transition_matrix.csv)"
)


def galaxy(scaled: bool = True, mass_typo: bool = False) -> np.ndarray:
    """The 82 galaxy velocities, sorted, float64 [82]; in 1000 km/s if ``scaled`` else km/s.

    ``mass_typo``: use R ``MASS::galaxies``' value 26690 (a typo) at position 78 instead of 26960.
    """
    v = np.array([float(s) for s in _GALAXY_KMS.split()])
    if mass_typo:
        v[77] = 26690.0
        v = np.sort(v)
    return v / 1000.0 if scaled else v


@dataclass(frozen=True)
class Hospital:
    """The hospital table. ``dirty``/``clean``: list of rows (dict column -> str), 1000 each.

    ``letter_probs``: [28] first-symbol probabilities (a–z, space, '.');
    ``transition``: [28, 28] column-stochastic: transition[i, j] = P(next = i | previous = j).
    """

    dirty: list[dict[str, str]]
    clean: list[dict[str, str]]
    letter_probs: np.ndarray
    transition: np.ndarray

    def column(self, name: str, clean: bool = False) -> list[str]:
        rows = self.clean if clean else self.dirty
        if name not in rows[0]:
            raise DataError(f"hospital table: no column {name!r} (have {list(rows[0])})")
        return [r[name] for r in rows]


def _read_table(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise DataError(f"{path}: not found; get it from {HOSPITAL_SOURCE}")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise DataError(f"{path}: no data rows")
    width = len(rows[0])
    for i, r in enumerate(rows):
        if len(r) != width or None in r:
            raise DataError(f"{path}: row {i + 2} has a different number of fields")
    return rows


def _read_matrix(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    if not path.exists():
        raise DataError(f"{path}: not found; get it from {HOSPITAL_SOURCE}")
    try:
        m = np.loadtxt(path, delimiter=",", ndmin=2)
    except ValueError as e:
        raise DataError(f"{path}: not a numeric CSV ({e})") from None
    m = m.reshape(shape) if m.size == np.prod(shape) else m
    if m.shape != shape:
        raise DataError(f"{path}: expected shape {shape}, got {m.shape}")
    if np.any(m < 0):
        raise DataError(f"{path}: negative probabilities")
    return m


def load_hospital(folder: str | Path) -> Hospital:
    """Read the hospital benchmark from ``folder`` (raises DataError naming any missing file)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: hospital data folder not found; get it from {HOSPITAL_SOURCE}")
    dirty = _read_table(folder / "hospital.csv")
    clean = _read_table(folder / "hospital_clean.csv")
    if len(dirty) != len(clean):
        raise DataError(f"{folder}: hospital.csv has {len(dirty)} rows, clean has {len(clean)}")
    probs = _read_matrix(folder / "letter_probabilities.csv", (28,))
    trans = _read_matrix(folder / "letter_transition_matrix.csv", (28, 28))
    if not np.allclose(trans.sum(axis=0), 1.0, atol=1e-4):
        raise DataError(f"{folder / 'letter_transition_matrix.csv'}: columns do not sum to 1")
    return Hospital(dirty, clean, probs, trans)


def synthetic(seed: int = 0, n: int = 100, crp_alpha: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """Synthetic DPMM data as in the paper's protocol: (x [n] float64, true labels [n] int).

    A partition from CRP(``crp_alpha``), cluster (μ, τ) from the Normal–Gamma prior
    (0, 1/100, 1/2, 1/2) (τ ∼ Gamma(shape 1/2, rate 1/2)), points drawn and shuffled. The
    authors' own draw is not distributed; this one is reproducible from ``seed``.
    """
    rng = np.random.default_rng(seed)
    z = np.zeros(n, dtype=int)
    counts = [1]
    for i in range(1, n):
        p = np.array([*counts, crp_alpha], dtype=float) / (i + crp_alpha)
        c = int(rng.choice(len(p), p=p))
        if c == len(counts):
            counts.append(0)
        counts[c] += 1
        z[i] = c
    k = len(counts)
    tau = rng.gamma(0.5, 1 / 0.5, size=k)
    mu = rng.normal(0.0, 1 / np.sqrt(0.01 * tau))
    x = rng.normal(mu[z], 1 / np.sqrt(tau[z]))
    perm = rng.permutation(n)
    return x[perm], z[perm]
