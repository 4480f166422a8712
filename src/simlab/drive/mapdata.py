"""Map arrays and per-cell candidate tables (spec §2.1, §2.3), built once per map in NumPy.

``build_map(graph)`` turns a ``RoadGraph`` into a ``MapData`` of fixed arrays:

* lane quads: the centre line resampled every ``quad_step`` (≈1 m); quad k spans p0[k] → p1[k]
  (x, y, z) with the lane width, lane id, arc length s0 at p0, curvature and speed limit;
* a drivable raster (``raster_res`` m cells): lane quads and junction polygons, used for the
  off-road test (a deliberate deviation from per-corner point-in-quad: one gather per corner
  instead of max-overlap quad tests; the error is at most one raster cell);
* road-edge points every ≈1 m with tangent directions (the W_boundary features), taken along
  lane edges and junction polygon edges where exactly one side is drivable;
* coarse lane rows every ``lane_row_step`` (40 m) for W_lane;
* stop lines at the end of each lane that enters a signalised connection (type 1) or a yield
  entry (type 0, no light);
* the all-pairs route matrix D (end of lane i → start of lane j), Dijkstra over successor
  edges weighted by lane length plus lane-change edges of ``lane_change_cost``;
* uniform grids of fixed-size candidate lists: for each cell, the K elements nearest to the
  cell centre (or, for quads, every quad overlapping the cell), padded with -1. Cells farther
  than ``near_road`` from every quad share row 0, the empty row.

All float arrays are float32 and all index arrays int32.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from matplotlib.path import Path as MplPath
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path
from scipy.spatial import cKDTree

from simlab.core.errors import DataError
from simlab.drive.roadgraph import RoadGraph, resample_polyline

__all__ = ["UNREACHABLE", "MapBuild", "MapData", "Table", "build_map"]

UNREACHABLE = 1.0e5  # route distance (m) standing in for "no route"; finite so sums stay finite


@dataclass(frozen=True)
class MapBuild:
    """Build-time parameters of the map arrays (all lengths in metres)."""

    quad_step: float = 1.0
    raster_res: float = 0.5
    boundary_step: float = 1.0
    lane_row_step: float = 40.0
    lane_change_cost: float = 10.0
    quad_cell: float = 2.0  # spec: 4 m; 2 m quarters the candidate count in junctions
    boundary_cell: float = 4.0
    boundary_k: int = 80
    lane_cell: float = 16.0
    lane_k: int = 80
    stop_cell: float = 16.0
    stop_k: int = 8
    near_road: float = 60.0
    margin: float = 30.0


@dataclass
class Table:
    """A uniform grid of candidate lists: cell (ix, iy) -> rows[cell_row[iy * nx + ix]]."""

    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    cell_row: np.ndarray  # [ny * nx] int32, 0 = the shared empty row
    rows: np.ndarray  # [n_rows, K] int32 element ids, -1 padded


@dataclass
class MapData:
    """All arrays of one map (local indices). Shapes: L lanes, Q quads, B edge points,
    R lane rows, S stop lines, J signalised junctions."""

    name: str
    lane_len: np.ndarray  # [L]
    lane_speed: np.ndarray  # [L]
    lane_spawn: np.ndarray  # [L] bool
    lane_succ: list[list[int]]
    lane_pts: list[np.ndarray]  # resampled centre lines, for rendering and tests
    lane_width: np.ndarray  # [L]
    q_p0: np.ndarray  # [Q, 3]
    q_p1: np.ndarray  # [Q, 3]
    q_width: np.ndarray  # [Q]
    q_lane: np.ndarray  # [Q]
    q_s0: np.ndarray  # [Q]
    q_curv: np.ndarray  # [Q] signed curvature (1/m)
    q_speed: np.ndarray  # [Q]
    spawn_quads: np.ndarray  # [n] quads on spawnable lanes
    raster: np.ndarray  # [ny, nx] bool drivable
    raster_x0: float
    raster_y0: float
    raster_res: float
    b_xy: np.ndarray  # [B, 2]
    b_dir: np.ndarray  # [B, 2]
    b_z: np.ndarray  # [B]
    r_start: np.ndarray  # [R, 3]
    r_end: np.ndarray  # [R, 2]
    r_width: np.ndarray  # [R]
    r_speed: np.ndarray  # [R]
    r_lane: np.ndarray  # [R]
    r_s: np.ndarray  # [R] arc length of the row start on its lane
    s_a: np.ndarray  # [S, 2]
    s_b: np.ndarray  # [S, 2]
    s_z: np.ndarray  # [S]
    s_lane: np.ndarray  # [S]
    s_junc: np.ndarray  # [S] signalised junction, -1 for yield lines
    s_group: np.ndarray  # [S]
    junc_groups: np.ndarray  # [J]
    junctions: list[np.ndarray]
    route: np.ndarray  # [L, L]
    quad_table: Table
    boundary_table: Table
    lane_table: Table
    stop_table: Table
    extent: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    meta: dict = field(default_factory=dict)


def _normals(pts: np.ndarray) -> np.ndarray:
    """Unit left normals [n, 2] at the vertices of a polyline [n, 3] (averaged tangents)."""
    d = np.diff(pts[:, :2], axis=0)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-12)
    t = np.concatenate([d[:1], d[:-1] + d[1:], d[-1:]], axis=0)
    t /= np.maximum(np.linalg.norm(t, axis=1, keepdims=True), 1e-12)
    return np.stack([-t[:, 1], t[:, 0]], axis=1)


def _grid(x0: float, y0: float, x1: float, y1: float, cell: float) -> tuple[int, int]:
    return max(int(np.ceil((x1 - x0) / cell)), 1), max(int(np.ceil((y1 - y0) / cell)), 1)


def _nearest_table(
    pts: np.ndarray, box: tuple, cell: float, k: int, near: np.ndarray, near_r: float
) -> Table:
    """K nearest elements to each allocated cell centre, nearest first."""
    x0, y0, x1, y1 = box
    nx, ny = _grid(x0, y0, x1, y1, cell)
    iy, ix = np.mgrid[0:ny, 0:nx]
    centres = np.stack([x0 + (ix.ravel() + 0.5) * cell, y0 + (iy.ravel() + 0.5) * cell], 1)
    cell_row = np.zeros(nx * ny, np.int32)
    if len(pts) == 0:
        return Table(x0, y0, cell, nx, ny, cell_row, -np.ones((1, k), np.int32))
    dist_road, _ = cKDTree(near).query(centres, distance_upper_bound=near_r + cell)
    live = np.flatnonzero(np.isfinite(dist_road))
    kk = min(k, len(pts))
    _, idx = cKDTree(pts).query(centres[live], k=kk)
    idx = np.asarray(idx, np.int64).reshape(len(live), kk)
    rows = -np.ones((len(live) + 1, k), np.int32)
    rows[1:, :kk] = idx
    cell_row[live] = np.arange(1, len(live) + 1, dtype=np.int32)
    return Table(x0, y0, cell, nx, ny, cell_row, rows)


def _overlap_table(p0: np.ndarray, p1: np.ndarray, half_w: np.ndarray, box, cell) -> Table:
    """Every quad whose bounding box overlaps the cell (capacity = the maximum overlap)."""
    x0, y0, x1, y1 = box
    nx, ny = _grid(x0, y0, x1, y1, cell)
    lo = np.minimum(p0[:, :2], p1[:, :2]) - half_w[:, None]
    hi = np.maximum(p0[:, :2], p1[:, :2]) + half_w[:, None]
    c_lo = np.floor((lo - [x0, y0]) / cell).astype(np.int64)
    c_hi = np.floor((hi - [x0, y0]) / cell).astype(np.int64)
    span = int(max((c_hi - c_lo).max(initial=0), 0)) + 1
    ox, oy = np.meshgrid(np.arange(span), np.arange(span))
    cx = c_lo[:, :1] + ox.ravel()[None]
    cy = c_lo[:, 1:] + oy.ravel()[None]
    ok = (cx <= c_hi[:, :1]) & (cy <= c_hi[:, 1:]) & (cx >= 0) & (cy >= 0) & (cx < nx) & (cy < ny)
    quad = np.broadcast_to(np.arange(len(p0))[:, None], cx.shape)[ok]
    cells = (cy * nx + cx)[ok]
    order = np.argsort(cells, kind="stable")
    cells, quad = cells[order], quad[order]
    uniq, start, counts = np.unique(cells, return_index=True, return_counts=True)
    k = int(counts.max(initial=1))
    rows = -np.ones((len(uniq) + 1, k), np.int32)
    rank = np.arange(len(cells)) - np.repeat(start, counts)
    rows[np.repeat(np.arange(1, len(uniq) + 1), counts), rank] = quad
    cell_row = np.zeros(nx * ny, np.int32)
    cell_row[uniq] = np.arange(1, len(uniq) + 1, dtype=np.int32)
    return Table(x0, y0, cell, nx, ny, cell_row, rows)


def _route_matrix(lengths: np.ndarray, succ, left, right, change_cost: float) -> np.ndarray:
    """D[i, j]: shortest distance (m) from the end of lane i to the start of lane j."""
    n = len(lengths)
    rows, cols, w = [], [], []
    for i in range(n):
        for k in succ[i]:
            rows.append(i), cols.append(k), w.append(max(lengths[i], 1e-3))
        for k in (left[i], right[i]):
            if k >= 0:
                rows.append(i), cols.append(k), w.append(change_cost)
    g = csr_matrix((w, (rows, cols)), shape=(n, n))
    start_to_start = shortest_path(g, method="D", directed=True)  # [L, L], inf if unreachable
    d = np.full((n, n), np.inf)
    for i in range(n):
        if succ[i]:
            d[i] = start_to_start[succ[i]].min(axis=0)
    return np.where(np.isfinite(d), np.minimum(d, UNREACHABLE), UNREACHABLE).astype(np.float32)


def build_map(graph: RoadGraph, cfg: MapBuild = MapBuild()) -> MapData:
    """Build all arrays and tables of one map. Raises DataError for an empty network."""
    lanes = graph.lanes
    if not lanes:
        raise DataError(f"map {graph.name}: no usable lanes")
    n_lanes = len(lanes)
    for i, lane in enumerate(lanes):
        bad = [k for k in lane.succ if not 0 <= k < n_lanes]
        if bad or np.asarray(lane.pts).ndim != 2 or len(lane.pts) < 2:
            raise DataError(f"map {graph.name}: lane {lane.name or i} is malformed")

    # --- quads -----------------------------------------------------------------------------
    pts_l, p0, p1, wq, lq, s0q, curv, spd = [], [], [], [], [], [], [], []
    lengths = np.zeros(n_lanes)
    for i, lane in enumerate(lanes):
        pts = resample_polyline(np.asarray(lane.pts, float), cfg.quad_step)
        pts_l.append(pts)
        seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        lengths[i] = s[-1]
        head = np.unwrap(np.arctan2(*np.diff(pts[:, :2], axis=0).T[::-1]))
        dh = np.gradient(head) if len(head) > 1 else np.zeros(1)
        p0.append(pts[:-1]), p1.append(pts[1:])
        wq.append(np.full(len(seg), lane.width)), lq.append(np.full(len(seg), i))
        s0q.append(s[:-1]), curv.append(dh / np.maximum(seg, 1e-6))
        spd.append(np.full(len(seg), lane.speed))
    q_p0, q_p1 = np.concatenate(p0), np.concatenate(p1)
    q_width, q_lane = np.concatenate(wq), np.concatenate(lq)
    q_len = np.linalg.norm(q_p1[:, :2] - q_p0[:, :2], axis=1)
    lane_spawn = np.array([ln.spawnable and not ln.connector for ln in lanes])
    spawn_quads = np.flatnonzero(lane_spawn[q_lane] & (q_len > 0.3))
    if len(spawn_quads) == 0:
        raise DataError(f"map {graph.name}: no spawnable lanes")

    allxy = np.concatenate([q_p0[:, :2], q_p1[:, :2], *[j[:, :2] for j in graph.junctions]])
    x0, y0 = allxy.min(0) - cfg.margin
    x1, y1 = allxy.max(0) + cfg.margin
    box = (float(x0), float(y0), float(x1), float(y1))

    # --- drivable raster -------------------------------------------------------------------
    res = cfg.raster_res
    rnx, rny = _grid(x0, y0, x1, y1, res)
    raster = np.zeros((rny, rnx), bool)
    sub = res / 2
    for i, pts in enumerate(pts_l):
        nrm = _normals(pts)
        seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
        nt = max(int(np.ceil(seg.max(initial=0) / sub)), 1) + 1
        nd = max(int(np.ceil(lanes[i].width / sub)), 1) + 1
        t = np.linspace(0, 1, nt)[None, :, None, None]
        d = np.linspace(-0.5, 0.5, nd)[None, None, :, None] * lanes[i].width
        a, b = pts[:-1, None, None, :2], pts[1:, None, None, :2]
        na, nb = nrm[:-1, None, None], nrm[1:, None, None]
        xy = (a + (b - a) * t) + d * (na + (nb - na) * t)
        _mark(raster, xy.reshape(-1, 2), x0, y0, res)
    for poly in graph.junctions:
        _fill_polygon(raster, poly, x0, y0, res)

    # --- road-edge points ------------------------------------------------------------------
    cand_xy, cand_dir = [], []
    for i, pts in enumerate(pts_l):
        fine = resample_polyline(pts, cfg.boundary_step)
        nrm = _normals(fine)
        tan = np.stack([nrm[:, 1], -nrm[:, 0]], 1)
        for side in (1.0, -1.0):
            cand_xy.append(fine[:, :2] + side * 0.5 * lanes[i].width * nrm)
            cand_dir.append(tan)
    for poly in graph.junctions:
        ring = np.concatenate([poly[:, :2], poly[:1, :2]])
        ring3 = np.concatenate([ring, np.zeros((len(ring), 1))], 1)
        for a, b in itertools.pairwise(ring3):
            fine = resample_polyline(np.stack([a, b]), cfg.boundary_step)
            d = (b - a)[:2] / max(np.linalg.norm((b - a)[:2]), 1e-9)
            cand_xy.append(fine[:, :2])
            cand_dir.append(np.broadcast_to(d, (len(fine), 2)))
    cand_xy, cand_dir = np.concatenate(cand_xy), np.concatenate(cand_dir)
    nrm = np.stack([-cand_dir[:, 1], cand_dir[:, 0]], 1)
    off = res * 0.9
    side_a = _lookup(raster, cand_xy + off * nrm, x0, y0, res)
    side_b = _lookup(raster, cand_xy - off * nrm, x0, y0, res)
    keep = side_a != side_b
    b_xy, b_dir = cand_xy[keep], cand_dir[keep]
    _, uniq = np.unique(np.round(b_xy / (0.5 * cfg.boundary_step)), axis=0, return_index=True)
    uniq.sort()
    b_xy, b_dir = b_xy[uniq], b_dir[uniq]
    mid = 0.5 * (q_p0 + q_p1)
    _, nearest_q = cKDTree(mid[:, :2]).query(b_xy) if len(b_xy) else (None, np.zeros(0, int))
    b_z = mid[nearest_q, 2] if len(b_xy) else np.zeros(0)

    # --- coarse lane rows ------------------------------------------------------------------
    rs, re_, rw, rv, rl, rss = [], [], [], [], [], []
    for i, pts in enumerate(pts_l):
        seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
        s = np.concatenate([[0.0], np.cumsum(seg)])
        n_rows = max(int(np.ceil(s[-1] / cfg.lane_row_step - 1e-6)), 1)
        starts = np.minimum(np.arange(n_rows) * cfg.lane_row_step, s[-1])
        ends = np.minimum(starts + cfg.lane_row_step, s[-1])
        for a, b in zip(starts, ends):
            rs.append([np.interp(a, s, pts[:, k]) for k in range(3)])
            re_.append([np.interp(b, s, pts[:, k]) for k in range(2)])
            rw.append(lanes[i].width), rv.append(lanes[i].speed), rl.append(i), rss.append(a)
    r_start, r_end = np.array(rs), np.array(re_)

    # --- stop lines ------------------------------------------------------------------------
    sa, sb, sz, sl, sj, sg = [], [], [], [], [], []
    for i, lane in enumerate(lanes):
        if lane.signal is None:
            continue
        pts = pts_l[i]
        n = _normals(pts)[-1]
        half = 0.5 * lane.width
        sa.append(pts[-1, :2] + half * n), sb.append(pts[-1, :2] - half * n)
        sz.append(pts[-1, 2]), sl.append(i), sj.append(lane.signal[0]), sg.append(lane.signal[1])
    n_stop = len(sa)
    s_a = np.array(sa).reshape(n_stop, 2)
    s_b = np.array(sb).reshape(n_stop, 2)
    s_mid = 0.5 * (s_a + s_b)

    # --- tables ----------------------------------------------------------------------------
    near = mid[:, :2]
    quad_table = _overlap_table(q_p0, q_p1, 0.5 * q_width, box, cfg.quad_cell)
    boundary_table = _nearest_table(
        b_xy, box, cfg.boundary_cell, cfg.boundary_k, near, cfg.near_road
    )
    r_mid = 0.5 * (r_start[:, :2] + r_end)
    lane_table = _nearest_table(r_mid, box, cfg.lane_cell, cfg.lane_k, near, cfg.near_road)
    stop_table = _nearest_table(s_mid, box, cfg.stop_cell, cfg.stop_k, near, cfg.near_road)

    route = _route_matrix(
        lengths,
        [ln.succ for ln in lanes],
        [ln.left for ln in lanes],
        [ln.right for ln in lanes],
        cfg.lane_change_cost,
    )
    f32, i32 = np.float32, np.int32
    return MapData(
        name=graph.name,
        lane_len=lengths.astype(f32),
        lane_speed=np.array([ln.speed for ln in lanes], f32),
        lane_spawn=lane_spawn,
        lane_succ=[list(ln.succ) for ln in lanes],
        lane_pts=pts_l,
        lane_width=np.array([ln.width for ln in lanes], f32),
        q_p0=q_p0.astype(f32),
        q_p1=q_p1.astype(f32),
        q_width=q_width.astype(f32),
        q_lane=q_lane.astype(i32),
        q_s0=np.concatenate(s0q).astype(f32),
        q_curv=np.concatenate(curv).astype(f32),
        q_speed=np.concatenate(spd).astype(f32),
        spawn_quads=spawn_quads.astype(i32),
        raster=raster,
        raster_x0=float(x0),
        raster_y0=float(y0),
        raster_res=res,
        b_xy=b_xy.astype(f32),
        b_dir=b_dir.astype(f32),
        b_z=np.asarray(b_z, f32),
        r_start=r_start.astype(f32),
        r_end=r_end.astype(f32),
        r_width=np.array(rw, f32),
        r_speed=np.array(rv, f32),
        r_lane=np.array(rl, i32),
        r_s=np.array(rss, f32),
        s_a=s_a.astype(f32),
        s_b=s_b.astype(f32),
        s_z=np.array(sz, f32),
        s_lane=np.array(sl, i32),
        s_junc=np.array(sj, i32),
        s_group=np.array(sg, i32),
        junc_groups=np.array(graph.n_groups, i32),
        junctions=[np.asarray(j, float) for j in graph.junctions],
        route=route,
        quad_table=quad_table,
        boundary_table=boundary_table,
        lane_table=lane_table,
        stop_table=stop_table,
        extent=box,
    )


def _mark(raster: np.ndarray, xy: np.ndarray, x0: float, y0: float, res: float) -> None:
    ix = np.floor((xy[:, 0] - x0) / res).astype(np.int64)
    iy = np.floor((xy[:, 1] - y0) / res).astype(np.int64)
    ok = (ix >= 0) & (iy >= 0) & (ix < raster.shape[1]) & (iy < raster.shape[0])
    raster[iy[ok], ix[ok]] = True


def _lookup(raster: np.ndarray, xy: np.ndarray, x0: float, y0: float, res: float) -> np.ndarray:
    ix = np.clip(np.floor((xy[:, 0] - x0) / res).astype(np.int64), 0, raster.shape[1] - 1)
    iy = np.clip(np.floor((xy[:, 1] - y0) / res).astype(np.int64), 0, raster.shape[0] - 1)
    return raster[iy, ix]


def _fill_polygon(raster: np.ndarray, poly: np.ndarray, x0: float, y0: float, res: float) -> None:
    lo = np.floor((poly[:, :2].min(0) - [x0, y0]) / res).astype(int)
    hi = np.ceil((poly[:, :2].max(0) - [x0, y0]) / res).astype(int)
    lo = np.clip(lo, 0, [raster.shape[1] - 1, raster.shape[0] - 1])
    hi = np.clip(hi, 0, [raster.shape[1] - 1, raster.shape[0] - 1])
    iy, ix = np.mgrid[lo[1] : hi[1] + 1, lo[0] : hi[0] + 1]
    centres = np.stack([x0 + (ix.ravel() + 0.5) * res, y0 + (iy.ravel() + 0.5) * res], 1)
    inside = MplPath(poly[:, :2]).contains_points(centres)
    raster[iy.ravel()[inside], ix.ravel()[inside]] = True
