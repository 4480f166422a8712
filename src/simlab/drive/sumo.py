"""SUMO ``.net.xml`` importer (spec §2.2), stdlib ``xml.etree`` only.

Reads normal and internal (junction connector) lanes with their shapes ("x,y[,z] ..."),
widths and speeds; successors from ``<connection from to fromLane toLane via>``; signal
groups from ``<tlLogic>`` phase strings (links with identical green/yellow/red sequences form
one group; groups take turns in order of their first green; SUMO durations are discarded);
and ``<junction shape>`` polygons as drivable area.

Choices: parking lanes ("parking" in the edge type and speed < 2 m/s) stay drivable but are
never spawn or goal lanes; lanes narrower than 1 m are dropped; links that are green in
every phase are treated as unsignalised; a lane entering several signal groups gets the
stop line of its most frequent group. Errors name the file and the offending element.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import numpy as np

from simlab.core.errors import DataError
from simlab.drive.roadgraph import Lane, RoadGraph

__all__ = ["load_sumo"]


def _floats(text: str, where: str, path: Path) -> np.ndarray:
    try:
        pts = [[float(v) for v in p.split(",")] for p in text.split()]
    except ValueError:
        raise DataError(f"{path}: {where}: malformed shape {text[:60]!r}") from None
    if len(pts) < 2 or any(len(p) not in (2, 3) for p in pts):
        raise DataError(f"{path}: {where}: shape needs >= 2 points of 'x,y[,z]'")
    out = np.zeros((len(pts), 3))
    for i, p in enumerate(pts):
        out[i, : len(p)] = p
    return out


def _state_class(c: str) -> str:
    return "G" if c in "Gg" else ("y" if c in "yY" else "r")


def load_sumo(path: str | Path, name: str | None = None) -> RoadGraph:
    """Load a SUMO network into a ``RoadGraph``. Raises DataError naming file and element."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: map file not found")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise DataError(f"{path}: not valid XML ({e})") from None
    if root.tag != "net":
        raise DataError(f"{path}: root element is <{root.tag}>, expected a SUMO <net>")

    lanes: list[Lane] = []
    index: dict[str, int] = {}
    edge_lanes: dict[str, list[tuple[int, int]]] = {}  # edge id -> [(lane index, lane id)]
    for edge in root.iter("edge"):
        func = edge.get("function", "normal")
        if func in ("crossing", "walkingarea"):
            continue
        eid = edge.get("id")
        if eid is None:
            raise DataError(f"{path}: <edge> without an id")
        etype = edge.get("type", "")
        for lane in edge.iter("lane"):
            lid = lane.get("id")
            where = f"<lane id={lid!r}> of <edge id={eid!r}>"
            if lid is None or lane.get("shape") is None:
                raise DataError(f"{path}: {where}: missing id or shape")
            try:
                width = float(lane.get("width", "3.2"))
                speed = float(lane.get("speed", "13.89"))
            except ValueError:
                raise DataError(f"{path}: {where}: width/speed is not a number") from None
            if width < 1.0:
                continue
            pts = _floats(lane.get("shape"), where, path)
            if np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1).sum() < 1e-6:
                continue  # zero-length connector: bridged below
            parking = "parking" in etype and speed < 2.0
            internal = func == "internal"
            index[lid] = len(lanes)
            lanes.append(
                Lane(pts, width, speed, connector=internal,
                     spawnable=not (internal or parking), name=lid)
            )  # fmt: skip
            if not internal:
                edge_lanes.setdefault(eid, []).append((int(lane.get("index", "0")), index[lid]))
    if not lanes:
        raise DataError(f"{path}: no usable <lane> elements")
    for members in edge_lanes.values():  # index 0 is the rightmost lane
        by_index = dict(members)
        for k, lid in members:
            lanes[lid].left = by_index.get(k + 1, -1)
            lanes[lid].right = by_index.get(k - 1, -1)

    # successors; connections through dropped (zero-length) via lanes are bridged
    succ: dict[str, set[str]] = {}
    signal_links: dict[str, list[tuple[str, int]]] = {}  # incoming lane -> [(tl, linkIndex)]
    for c in root.iter("connection"):
        try:
            src = f"{c.get('from')}_{int(c.get('fromLane'))}"
            dst = f"{c.get('to')}_{int(c.get('toLane'))}"
        except (TypeError, ValueError):
            raise DataError(
                f"{path}: <connection from={c.get('from')!r} to={c.get('to')!r}>: "
                "missing or non-integer fromLane/toLane"
            ) from None
        via = c.get("via")
        if via and via in index:
            succ.setdefault(src, set()).add(via)
            succ.setdefault(via, set()).add(dst)
        else:
            succ.setdefault(src, set()).add(dst)
        if c.get("tl") is not None and c.get("linkIndex") is not None:
            signal_links.setdefault(src, []).append((c.get("tl"), int(c.get("linkIndex"))))
    for src, dsts in succ.items():
        if src in index:
            lanes[index[src]].succ = sorted(index[d] for d in dsts if d in index)

    # signal groups: identical state sequences; turns ordered by first green
    junc_of: dict[str, int] = {}
    n_groups: list[int] = []
    group_of: dict[tuple[str, int], int] = {}
    for tl in root.iter("tlLogic"):
        tid = tl.get("id")
        states = [p.get("state", "") for p in tl.iter("phase")]
        if not states or len({len(s) for s in states}) != 1:
            raise DataError(f"{path}: <tlLogic id={tid!r}>: phases missing or of unequal length")
        seqs = ["".join(_state_class(s[i]) for s in states) for i in range(len(states[0]))]
        groups: list[str] = []
        for seq in sorted(set(seqs), key=lambda q: (q.find("G") if "G" in q else len(q), q)):
            if set(seq) != {"G"}:
                groups.append(seq)
        if not groups:
            continue
        junc_of[tid] = len(n_groups)
        n_groups.append(len(groups))
        for i, seq in enumerate(seqs):
            if seq in groups:
                group_of[(tid, i)] = groups.index(seq)
    for src, links in signal_links.items():
        if src not in index:
            continue
        found = [(junc_of[t], group_of[(t, i)]) for t, i in links if (t, i) in group_of]
        if found:
            lanes[index[src]].signal = Counter(found).most_common(1)[0][0]

    junctions = []
    for j in root.iter("junction"):
        if j.get("type") == "internal" or not j.get("shape"):
            continue
        poly = _floats(j.get("shape"), f"<junction id={j.get('id')!r}>", path)
        if len(poly) >= 3:
            junctions.append(poly[:, :2])
    return RoadGraph(name or path.name.split(".")[0], lanes, junctions, n_groups)
