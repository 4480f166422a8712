"""The road network as plain NumPy data: lanes, connectivity, signals and junction areas.

Every map source (procedural generator, SUMO importer, affine augmentation) emits a
``RoadGraph``; ``simlab.drive.mapdata.build_map`` turns it into the fixed-size arrays and
per-cell lookup tables the simulator uses. Coordinates are metres in a right-handed world
frame; headings are radians counter-clockwise from +x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Lane", "RoadGraph", "polyline_length", "resample_polyline"]


@dataclass
class Lane:
    """One lane (or junction connector) of the network.

    pts: [n, 3] centre line (x, y, z) in driving order, n >= 2.
    width: lane width (m); speed: speed limit (m/s).
    succ: indices of lanes that continue this one (connectors included).
    left / right: index of the neighbouring same-direction lane (lane-change edges) or -1.
    connector: True for junction connectors (SUMO internal lanes).
    spawnable: False for parking lanes and connectors: never used for spawns or goals.
    signal: (junction, group) of the signal controlling the stop line at this lane's end,
        or None when the lane does not end at a signalised stop line.
    """

    pts: np.ndarray
    width: float
    speed: float
    succ: list[int] = field(default_factory=list)
    left: int = -1
    right: int = -1
    connector: bool = False
    spawnable: bool = True
    signal: tuple[int, int] | None = None
    name: str = ""


@dataclass
class RoadGraph:
    """A road network: lanes, drivable junction polygons ([m, 2] each) and signal groups.

    n_groups[j] is the number of signal groups of signalised junction j; groups of one
    junction take turns (green, yellow, all-red) in index order (spec §5.3).
    """

    name: str
    lanes: list[Lane]
    junctions: list[np.ndarray] = field(default_factory=list)
    n_groups: list[int] = field(default_factory=list)


def polyline_length(pts: np.ndarray) -> float:
    """Length (m) of a polyline [n, 2 or 3] measured in the xy plane."""
    return float(np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1).sum())


def resample_polyline(pts: np.ndarray, step: float) -> np.ndarray:
    """Resample a polyline [n, 3] at nearly uniform xy arc-length spacing <= ``step``.

    Returns [m, 3], m >= 2, keeping both end points. Zero-length pieces are dropped.
    """
    pts = np.asarray(pts, dtype=np.float64)
    seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
    keep = np.concatenate([[True], seg > 1e-9])
    pts, s = pts[keep], np.concatenate([[0.0], np.cumsum(seg[seg > 1e-9])])
    total = s[-1]
    if total <= 1e-9:
        return np.stack([pts[0], pts[0]])
    m = max(int(np.ceil(total / step)), 1) + 1
    q = np.linspace(0.0, total, m)
    return np.stack([np.interp(q, s, pts[:, k]) for k in range(3)], axis=1)
