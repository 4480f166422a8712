"""Affine map augmentation (spec §2.4): rescale, shear and reflection of a ``RoadGraph``.

The paper turns 8 towns into 128 variants this way; its ranges are unreported, so the
defaults are the spec's: scale U(0.8, 1.25), shear U(−0.15, 0.15), reflection with p = 0.5,
16 variants per base map. The matrix is ``A = s · [[1, h], [0, 1]] · F`` with F = diag(1, −1)
under reflection, and a point maps as p' = A p + b (xy only; z is kept).

What follows from A, and is done here:
* lane centre lines, junction polygons and hence lengths, headings and curvatures are
  transformed with the geometry (``build_map`` recomputes the latter from the points);
* a lane of width w along unit direction t becomes a strip of width w·|det A| / |A t| (the
  parallelogram's height), so each lane gets that width averaged over its length;
* driving order, successors and signals are unchanged, so connectivity is preserved; under
  reflection (det A < 0) left and right swap: right-hand traffic becomes consistent
  left-hand traffic, and each lane's ``left``/``right`` lane-change neighbours are exchanged.

Augmented variants are built as separate maps (``build_map`` per variant); sharing the base
map's lookup tables through q = A⁻¹(p − b), as §2.3 suggests, is not done.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from simlab.core.errors import ConfigError
from simlab.drive.roadgraph import Lane, RoadGraph

__all__ = ["AugmentConfig", "affine_matrix", "augment_graphs", "sample_affines", "transform_graph"]


@dataclass(frozen=True)
class AugmentConfig:
    """Ranges of the random affine maps (spec §2.4 defaults)."""

    scale: tuple[float, float] = (0.8, 1.25)
    shear: tuple[float, float] = (-0.15, 0.15)
    p_reflect: float = 0.5
    n_variants: int = 16

    def __post_init__(self) -> None:
        if not 0 < self.scale[0] <= self.scale[1]:
            raise ConfigError(f"augment.scale must satisfy 0 < lo <= hi, got {self.scale}")
        if not self.shear[0] <= self.shear[1]:
            raise ConfigError(f"augment.shear must satisfy lo <= hi, got {self.shear}")
        if not 0.0 <= self.p_reflect <= 1.0:
            raise ConfigError(f"augment.p_reflect must be in [0, 1], got {self.p_reflect}")
        if self.n_variants < 0:
            raise ConfigError(f"augment.n_variants must be >= 0, got {self.n_variants}")


def affine_matrix(scale: float = 1.0, shear: float = 0.0, reflect: bool = False) -> np.ndarray:
    """The 2×2 matrix s · [[1, h], [0, 1]] · diag(1, ±1) (float64)."""
    f = np.diag([1.0, -1.0 if reflect else 1.0])
    return scale * np.array([[1.0, shear], [0.0, 1.0]]) @ f


def sample_affines(seed: int, n: int, cfg: AugmentConfig = AugmentConfig()) -> list[np.ndarray]:
    """n random matrices [2, 2] drawn from ``cfg`` (deterministic in seed)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        s = rng.uniform(*cfg.scale)
        h = rng.uniform(*cfg.shear)
        out.append(affine_matrix(s, h, bool(rng.random() < cfg.p_reflect)))
    return out


def _width(lane: Lane, a: np.ndarray, det: float) -> float:
    """Length-weighted mean over segments of w·|det A| / |A t|."""
    d = np.diff(np.asarray(lane.pts, float)[:, :2], axis=0)
    seg = np.linalg.norm(d, axis=1)
    ok = seg > 1e-9
    if not ok.any():
        return float(lane.width * np.sqrt(abs(det)))
    t = d[ok] / seg[ok, None]
    stretch = np.linalg.norm(t @ a.T, axis=1)
    return float(lane.width * abs(det) * np.average(1.0 / stretch, weights=seg[ok]))


def transform_graph(
    graph: RoadGraph, a: np.ndarray, b=(0.0, 0.0), name: str | None = None
) -> RoadGraph:
    """The road network mapped by p' = A p + b. a: [2, 2] invertible; b: [2] (m).

    Raises ConfigError for a singular matrix."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    det = float(np.linalg.det(a))
    if a.shape != (2, 2) or abs(det) < 1e-9:
        raise ConfigError(f"affine matrix must be an invertible 2x2 matrix, got {a.tolist()}")
    flip = det < 0

    def move(pts: np.ndarray) -> np.ndarray:
        pts = np.array(pts, float, copy=True)
        pts[:, :2] = pts[:, :2] @ a.T + b
        return pts

    lanes = [
        replace(
            ln,
            pts=move(ln.pts),
            width=_width(ln, a, det),
            succ=list(ln.succ),
            left=ln.right if flip else ln.left,
            right=ln.left if flip else ln.right,
        )
        for ln in graph.lanes
    ]
    junctions = [move(j) for j in graph.junctions]
    return RoadGraph(name or f"{graph.name}~aff", lanes, junctions, list(graph.n_groups))


def augment_graphs(
    graphs: list[RoadGraph], seed: int = 0, cfg: AugmentConfig = AugmentConfig()
) -> list[RoadGraph]:
    """Each base graph followed by ``cfg.n_variants`` random affine variants of it, named
    ``<base>~aug<k>``. Variants are centred on the base map's centroid, so they stay near
    the original coordinates."""
    out = []
    for gi, g in enumerate(graphs):
        out.append(g)
        centre = np.concatenate([np.asarray(ln.pts)[:, :2] for ln in g.lanes]).mean(0)
        for k, a in enumerate(sample_affines(seed * 100003 + gi, cfg.n_variants, cfg)):
            out.append(transform_graph(g, a, centre - a @ centre, name=f"{g.name}~aug{k}"))
    return out
