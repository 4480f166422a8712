"""Configs of the `simlab eevi` experiments (frozen dataclasses; standard library only).

Defaults are smaller than the paper's where the full run is long; ``full_*()`` return the
paper's settings (spec §6), selected on the command line with ``--full``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal


@dataclass(frozen=True)
class MVNConfig:
    """MVN check: dims, particle counts K, outer samples N, replicates (seed = replicate)."""

    seed: int = 0
    dims: tuple[int, ...] = (4, 20, 50, 100)
    Ks: tuple[int, ...] = (1, 4)
    N: int = 100
    replicates: int = 3
    proposals: tuple[str, ...] = ("lw", "sir", "exact")
    knn_k: int = 5
    knn_samples: tuple[int, ...] = (100, 1000, 10000)
    # MI baselines for I(Y; Z) (spec §7): critic-based lower bounds, and KSG on ksg_samples
    neural: tuple[str, ...] = ("infonce", "nwj", "mine")
    neural_steps: int = 500
    neural_batch: int = 128
    ksg_samples: int = 1000


@dataclass(frozen=True)
class Hepar2Config:
    """HEPAR II ranking (N, K per disease) and the runtime-vs-K sweep."""

    seed: int = 0
    network: str = "hepar2"
    diseases: tuple[str, ...] = ("PBC", "Steatosis", "Cirrhosis", "fibrosis", "ChHepatitis")
    N: int = 100
    K: int = 100
    oracle: bool = True
    runtime: bool = True
    runtime_n_targets: tuple[int, ...] = (10, 20, 40)
    runtime_Ks: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8, 16)
    runtime_N: int = 1000


@dataclass(frozen=True)
class VarianceConfig:
    """HEPAR II variance experiment: replicates of the bounds on H(d | t, O), with shared and
    with independent outer samples (spec §6.2). ``outer_chunk`` bounds memory."""

    seed: int = 0
    network: str = "hepar2"
    disease: str = "PBC"
    test: str = "ama"
    N: int = 2000
    K: int = 200
    replicates: int = 18
    outer_chunk: int = 1000


@dataclass(frozen=True)
class DiabetesConfig:
    """DIAS pair sweep: method "smc" (SMC lower / cSMC upper, K = particles) or "is"
    (likelihood-weighting IS, K particles); schedule scenario; exact oracle pairs.

    ``smoothing``: ε added to every CPT entry before renormalising (the authors' Gen
    transcription uses 1e-10; DIAS has zero entries, which otherwise make most pairs' upper
    bound vacuous). 0 uses the BIF values exactly. The oracle uses the same network."""

    seed: int = 0
    network: str = "diabetes"
    smoothing: float = 1e-10
    method: Literal["smc", "is"] = "smc"
    meal: int = 0
    insulin: int = 0
    N: int = 100
    K: int = 100
    hours: int = 25
    oracle_max_t2: int = 8  # cross-check the exact table by VE for t2 ≤ this (slow late)


def full_mvn() -> MVNConfig:
    return replace(MVNConfig(), Ks=(1, 2, 4, 8), replicates=10, neural_steps=2000)


def full_hepar2() -> Hepar2Config:
    return replace(Hepar2Config(), runtime_N=5000)


def full_variance() -> VarianceConfig:
    return replace(VarianceConfig(), N=10_000)


def full_diabetes() -> DiabetesConfig:
    return replace(DiabetesConfig(), oracle_max_t2=25)
