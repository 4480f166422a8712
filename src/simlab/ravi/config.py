"""Configs of the two RAVI experiments (frozen dataclasses; load with simlab.core.config).

Defaults are small (minutes on 2 cores); ``full()`` gives the paper's settings (spec §3, §4.4).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class MCVIConfig:
    """RAVI-MCVI with ULA (paper Fig. 3). Quick defaults train 30 epochs at lr 1e-3 (the paper:
    100 epochs at 1e-4) and use 200 replicates (paper: 2000)."""

    seed: int = 0
    targets: tuple[str, ...] = ("unimodal", "multimodal")
    epochs: int = 30
    chains: int = 200
    lr: float = 1e-3
    warmup_chains: int = 100
    steps: tuple[int, ...] = (0, 1, 2, 5, 10, 20, 35, 50, 75, 100)
    ks: tuple[int, ...] = (1, 5, 10, 20, 50)
    taus: tuple[float, ...] = (0.0, 0.25)
    reps: int = 200
    ais_steps: tuple[int, ...] = (10, 25, 50, 100, 250, 500, 1000)


@dataclass(frozen=True)
class DPMMConfig:
    """AMC vs locally-optimal SMC vs collapsed Gibbs on a DPMM (paper Table 3).

    dataset: galaxy (82 velocities, /1000 unless ``unscaled``), synthetic (n = 100, seeded), or
    hospital (MeasureName strings from ``data_dir``). Each AMC value is the logmeanexp of
    ``amc_runs`` independent AMC estimates (each K meta-particles).
    """

    seed: int = 0
    dataset: Literal["galaxy", "synthetic", "hospital"] = "galaxy"
    # "data": the file order (galaxy is sorted, which makes sequential SMC's estimates heavy-
    # tailed); "shuffled": one fixed random permutation (seed ``order_seed``) for every method
    order: Literal["data", "shuffled"] = "data"
    order_seed: int = 0
    unscaled: bool = False
    mass_typo: bool = False
    synthetic_seed: int = 1
    data_dir: Path = Path("../shared/data/ravi")
    reps: int = 10
    smc_particles: int = 100
    smc_gibbs_every: int = 0
    amc_k: int = 10
    amc_runs: int = 3
    amc_ess: float = 0.25
    gibbs_sweeps: int = 50
    # wall-time sweep: SMC particle counts and AMC (K, runs) settings, reps each
    sweep_smc: tuple[int, ...] = (10, 30, 100, 300)
    sweep_amc_k: tuple[int, ...] = (1, 3, 10)
    sweep_reps: int = 5


def full_mcvi() -> MCVIConfig:
    """The paper's MCVI settings (spec §3)."""
    return dataclasses.replace(
        MCVIConfig(),
        epochs=100,
        lr=1e-4,
        reps=2000,
        steps=(0, 1, 2, 3, 4, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100),
        ais_steps=(10, 25, 50, 100, 250, 500, 1000, 1500, 2000, 2500, 3000, 4000, 5000),
    )


def full_dpmm(dataset: str = "galaxy") -> DPMMConfig:
    """The paper's protocol (spec §4.4): 100 replicates on galaxy, 30 elsewhere; hospital uses
    32 SMC particles with a Gibbs sweep every 100 points."""
    reps = 100 if dataset == "galaxy" else 30
    cfg = dataclasses.replace(DPMMConfig(), dataset=dataset, reps=reps, sweep_reps=20)
    if dataset == "hospital":
        cfg = dataclasses.replace(cfg, smc_particles=32, smc_gibbs_every=100)
    return cfg
