"""Seeded procedural road networks (spec §2.2): grid towns, highways, roundabouts.

Each generator is deterministic in its seed and returns a ``RoadGraph`` (right-hand
traffic, metres, z = 0). Ranges follow the spec: grid blocks 60–150 m with 1–3 lanes per
direction and signalised 3- and 4-way junctions; highways with 2–4 lanes, an on-ramp merge
(acceleration lane tapering into the carriageway), an off-ramp and limits 25–33 m/s;
roundabouts of radius 15–30 m with 1–2 ring lanes and yield lines at the entries.
Highway ends and roundabout arms are closed by U-turn connectors, so every lane has a
successor and routes exist between most lanes (off-ramps are dead ends by design).
"""

from __future__ import annotations

import itertools

import numpy as np

from simlab.drive.roadgraph import Lane, RoadGraph

__all__ = ["grid_town", "highway", "procedural_graphs", "roundabout"]

LANE_W = 3.5
TOWN_SPEED = 13.89


def _line(a, b, n: int = 2) -> np.ndarray:
    t = np.linspace(0.0, 1.0, max(n, 2))[:, None]
    a, b = np.asarray(a, float), np.asarray(b, float)
    xy = a[None] + (b - a)[None] * t
    return np.concatenate([xy, np.zeros((len(xy), 1))], 1)


def _bezier(p0, h0, p2, h1, n: int = 16) -> np.ndarray:
    """Quadratic Bezier from p0 (heading h0) to p2 (heading h1); a line if nearly parallel."""
    p0, p2 = np.asarray(p0, float), np.asarray(p2, float)
    d0 = np.array([np.cos(h0), np.sin(h0)])
    d1 = np.array([np.cos(h1), np.sin(h1)])
    m = np.array([d0, -d1]).T
    if abs(np.linalg.det(m)) < 1e-3:
        return _line(p0, p2, n)
    t0, _ = np.linalg.solve(m, p2 - p0)
    c = p0 + t0 * d0
    t = np.linspace(0.0, 1.0, n)[:, None]
    xy = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p2
    return np.concatenate([xy, np.zeros((n, 1))], 1)


def _arc(c, r: float, a0: float, a1: float, step: float = 1.0) -> np.ndarray:
    n = max(int(abs(a1 - a0) * r / step), 2) + 1
    a = np.linspace(a0, a1, n)
    xy = np.stack([c[0] + r * np.cos(a), c[1] + r * np.sin(a)], 1)
    return np.concatenate([xy, np.zeros((n, 1))], 1)


def grid_town(seed: int = 0, nx: int = 3, ny: int = 3) -> RoadGraph:
    """A grid town of nx × ny junctions; junctions with ≥ 3 arms are signalised.

    Straight connectors join lane k to lane k; right turns use the rightmost lane and left
    turns the leftmost. Each signalised junction has two groups: arms along x, arms along y.
    """
    rng = np.random.default_rng(seed)
    n_l = int(rng.integers(1, 4))
    xs = np.concatenate([[0.0], np.cumsum(rng.uniform(60, 150, nx - 1))])
    ys = np.concatenate([[0.0], np.cumsum(rng.uniform(60, 150, ny - 1))])
    half = n_l * LANE_W + 1.0  # junction half-size
    lanes: list[Lane] = []
    node = {(i, j): np.array([xs[i], ys[j]]) for i in range(nx) for j in range(ny)}
    dirs = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    # road[(node, dir)] = lane ids leaving `node` towards `dir`, ordered inner -> outer
    road: dict[tuple, list[int]] = {}
    for (i, j), p in node.items():
        for dx, dy in dirs:
            q = (i + dx, j + dy)
            if q not in node:
                continue
            u = np.array([dx, dy], float)
            right = np.array([u[1], -u[0]])
            ids = []
            for k in range(n_l):
                off = (k + 0.5) * LANE_W * right
                a, b = p + u * half + off, node[q] - u * half + off
                ids.append(len(lanes))
                lanes.append(Lane(_line(a, b, 3), LANE_W, TOWN_SPEED, name=f"r{i}{j}{dx}{dy}{k}"))
            for k, lid in enumerate(ids):
                lanes[lid].left = ids[k - 1] if k > 0 else -1
                lanes[lid].right = ids[k + 1] if k + 1 < n_l else -1
            road[((i, j), (dx, dy))] = ids
    junctions, n_groups = [], []
    for (i, j), p in node.items():
        arms = [d for d in dirs if ((i, j), d) in road]
        signal = len(arms) >= 3
        jid = len(n_groups)
        if signal:
            n_groups.append(2)
        junctions.append(p + half * np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], float))
        for d_in in arms:  # vehicles arrive from arm d_in, heading -d_in
            src = road[((i + d_in[0], j + d_in[1]), (-d_in[0], -d_in[1]))]
            h_in = np.arctan2(-d_in[1], -d_in[0])
            for d_out in arms:
                if d_out == d_in:
                    continue
                dst = road[((i, j), d_out)]
                h_out = np.arctan2(d_out[1], d_out[0])
                turn = d_out[0] * d_in[1] - d_out[1] * d_in[0]  # z of (−d_in) × d_out
                if turn == 0 or len(arms) == 2:  # straight, or a corner bend
                    pairs = list(zip(src, dst))
                elif turn < 0:
                    pairs = [(src[-1], dst[-1])]  # right turn from the outer lane
                else:
                    pairs = [(src[0], dst[0])]  # left turn from the inner lane
                for a, b in pairs:
                    pts = _bezier(lanes[a].pts[-1, :2], h_in, lanes[b].pts[0, :2], h_out)
                    cid = len(lanes)
                    lanes.append(
                        Lane(pts, LANE_W, TOWN_SPEED, [b], connector=True, spawnable=False)
                    )
                    lanes[a].succ.append(cid)
            if signal:
                group = 0 if d_in[1] == 0 else 1
                for a in src:
                    lanes[a].signal = (jid, group)
    return RoadGraph(f"grid{seed}", lanes, junctions, n_groups)


def highway(seed: int = 0) -> RoadGraph:
    """A straight two-carriageway highway with an on-ramp merge and an off-ramp per direction,
    closed at both ends by U-turn connectors."""
    rng = np.random.default_rng(seed)
    n_l = int(rng.integers(2, 5))
    speed = float(rng.uniform(25, 33))
    length = float(rng.uniform(900, 1300))
    median = 2.0
    lanes: list[Lane] = []
    carriage: dict[int, list[list[int]]] = {}  # sign -> sections -> lane ids inner->outer
    x1, x2, x3 = 0.25 * length, 0.25 * length + 150, 0.65 * length
    taper = 60.0
    for sign in (1, -1):  # +1 drives +x on y < 0, -1 drives -x on y > 0

        def y(k: int, sign: int = sign) -> float:
            return -sign * (median + (k + 0.5) * LANE_W)

        def x(v: float, sign: int = sign) -> float:
            return v if sign > 0 else length - v

        cuts = [0.0, x1, x2 + taper, x3, length]
        sections = []
        for a, b in itertools.pairwise(cuts):
            ids = []
            for k in range(n_l):
                ids.append(len(lanes))
                lanes.append(Lane(_line([x(a), y(k)], [x(b), y(k)], 3), LANE_W, speed))
            for k, lid in enumerate(ids):
                lanes[lid].left = ids[k - 1] if k > 0 else -1
                lanes[lid].right = ids[k + 1] if k + 1 < n_l else -1
            if sections:
                for p, q in zip(sections[-1], ids):
                    lanes[p].succ.append(q)
            sections.append(ids)
        # on-ramp: ramp lane -> acceleration lane alongside section 1 -> taper into section 2
        acc = len(lanes)
        acc_pts = np.concatenate(
            [
                _line([x(x1), y(n_l)], [x(x2), y(n_l)], 3),
                _line([x(x2), y(n_l)], [x(x2 + taper), y(n_l - 1)], 8)[1:],
            ]
        )
        lanes.append(Lane(acc_pts, LANE_W, speed, [sections[2][-1]], left=sections[1][-1]))
        h = 0.0 if sign > 0 else np.pi
        start = [x(x1 - 160), y(n_l) - sign * 40]
        ramp_pts = _bezier(start, h, [x(x1), y(n_l)], h, 24)
        lanes.append(Lane(ramp_pts, LANE_W, 0.7 * speed, [acc]))
        # off-ramp: diverges from the outer lane at the end of section 2 (a dead end)
        off = len(lanes)
        off_pts = _bezier([x(x3), y(n_l - 1)], h, [x(x3 + 160), y(n_l - 1) - sign * 40], h, 24)
        lanes.append(Lane(off_pts, LANE_W, 0.7 * speed, [], connector=False))
        lanes[sections[2][-1]].succ.append(off)
        carriage[sign] = sections
    # U-turns at both ends join lane k of one carriageway to lane k of the other
    for sign in (1, -1):
        last, first = carriage[sign][-1], carriage[-sign][0]
        cx = length if sign > 0 else 0.0
        for k, (a, b) in enumerate(zip(last, first)):
            r = median + (k + 0.5) * LANE_W
            a0 = -np.pi / 2 if sign > 0 else np.pi / 2
            pts = _arc([cx, 0.0], r, a0, a0 + np.pi)
            uid = len(lanes)
            lanes.append(Lane(pts, LANE_W, 10.0, [b], connector=True, spawnable=False))
            lanes[a].succ.append(uid)
    return RoadGraph(f"highway{seed}", lanes)


def roundabout(seed: int = 0) -> RoadGraph:
    """A counter-clockwise roundabout with 3–4 two-way arms and yield lines at the entries.

    Arms are closed at their far end by U-turns, so vehicles can always return.
    """
    rng = np.random.default_rng(seed)
    radius = float(rng.uniform(15, 30))
    n_ring = int(rng.integers(1, 3))
    n_arms = int(rng.integers(3, 5))
    arm_len = float(rng.uniform(80, 120))
    angles = np.sort(np.arange(n_arms) * 2 * np.pi / n_arms + rng.uniform(-0.3, 0.3, n_arms))
    delta = (LANE_W * 0.5 + 2.0) / radius + 0.12
    r_out = radius + (n_ring - 1) * LANE_W  # outer ring lane centre radius
    lanes: list[Lane] = []
    # ring nodes in travel order: exit (theta - delta), entry (theta + delta) per arm
    nodes = []
    for a in angles:
        nodes += [(a - delta, "exit"), (a + delta, "entry")]
    ring: list[list[int]] = []  # ring[k] = lane ids (inner->outer) of the arc leaving node k
    for k in range(len(nodes)):
        a0 = nodes[k][0]
        a1 = nodes[(k + 1) % len(nodes)][0]
        a1 = a1 + 2 * np.pi if a1 <= a0 else a1
        ids = []
        for m in range(n_ring):
            r = radius + (m - 0.5) * LANE_W + LANE_W * 0.5
            ids.append(len(lanes))
            lanes.append(Lane(_arc([0.0, 0.0], r, a0, a1), LANE_W, 8.0))
        for m, lid in enumerate(ids):
            lanes[lid].left = ids[m - 1] if m > 0 else -1
            lanes[lid].right = ids[m + 1] if m + 1 < n_ring else -1
        ring.append(ids)
    for k in range(len(nodes)):
        for p, q in zip(ring[k - 1], ring[k]):
            lanes[p].succ.append(q)
    for i, a in enumerate(angles):
        d = np.array([np.cos(a), np.sin(a)])
        n = np.array([-d[1], d[0]])
        r0 = r_out + LANE_W + 6.0
        inc_a, inc_b = (r0 + arm_len) * d + 0.5 * LANE_W * n, r0 * d + 0.5 * LANE_W * n
        out_a, out_b = r0 * d - 0.5 * LANE_W * n, (r0 + arm_len) * d - 0.5 * LANE_W * n
        inc, out = len(lanes), len(lanes) + 1
        lanes.append(Lane(_line(inc_a, inc_b, 3), LANE_W, TOWN_SPEED, signal=(-1, 0)))
        lanes.append(Lane(_line(out_a, out_b, 3), LANE_W, TOWN_SPEED))
        exit_arc, entry_arc = ring[2 * i - 1], ring[2 * i + 1]
        ang_exit, ang_entry = nodes[2 * i][0], nodes[2 * i + 1][0]
        p_exit = r_out * np.array([np.cos(ang_exit), np.sin(ang_exit)])
        p_entry = r_out * np.array([np.cos(ang_entry), np.sin(ang_entry)])
        c_in = len(lanes)
        pts = _bezier(inc_b, a + np.pi, p_entry, ang_entry + np.pi / 2, 12)
        lanes.append(Lane(pts, LANE_W, 8.0, [entry_arc[-1]], connector=True, spawnable=False))
        lanes[inc].succ.append(c_in)
        c_out = len(lanes)
        pts = _bezier(p_exit, ang_exit + np.pi / 2, out_a, a, 12)
        lanes.append(Lane(pts, LANE_W, 8.0, [out], connector=True, spawnable=False))
        lanes[exit_arc[-1]].succ.append(c_out)
        u = len(lanes)
        pts = _arc(out_b + 0.5 * LANE_W * n, 0.5 * LANE_W, a - np.pi / 2, a + np.pi / 2)
        lanes.append(Lane(pts, LANE_W, 5.0, [inc], connector=True, spawnable=False))
        lanes[out].succ.append(u)
    return RoadGraph(f"roundabout{seed}", lanes, [], [])


def procedural_graphs(seed: int = 0, n: int = 3) -> list[RoadGraph]:
    """n procedural maps cycling grid town, highway, roundabout (seeds seed, seed+1, ...)."""
    makers = [grid_town, highway, roundabout]
    return [makers[i % 3](seed + i) for i in range(n)]
