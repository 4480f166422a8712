"""The map bank: every map's arrays concatenated into flat JAX arrays (spec §1, §2.3).

A ``MapBank`` is a static pytree that is never part of the world state. Element arrays of
all maps are concatenated, with global ids; each map keeps its own grid origin and size for
every lookup table, so small towns are not padded to the size of the largest one. Only the
candidate-list width K of a table is shared (the maximum over maps).

Lookups are gathers: ``cell_candidates(table, map_id, xy)`` returns the padded candidate
list of the cell under ``xy``; callers mask by distance or heading. Nothing is sorted.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
import numpy as np

from simlab.drive.mapdata import MapData, Table

__all__ = [
    "Grid",
    "MapBank",
    "cell_candidates",
    "cell_row",
    "make_bank",
    "raster_lookup",
    "route_distance",
]

f32, i32 = jnp.float32, jnp.int32


class Grid(eqx.Module):
    """One lookup table over all maps. Per map m: origin (x0[m], y0[m]), nx[m] × ny[m] cells
    of side ``cell`` starting at flat index off[m] of ``cell_row``; rows are global."""

    x0: jnp.ndarray  # [M] f32
    y0: jnp.ndarray  # [M] f32
    nx: jnp.ndarray  # [M] i32
    ny: jnp.ndarray  # [M] i32
    off: jnp.ndarray  # [M] i32
    cell_row: jnp.ndarray  # [sum cells] i32
    rows: jnp.ndarray  # [n_rows, K] i32 global element ids, -1 padded
    cell: float = eqx.field(static=True)


class MapBank(eqx.Module):
    """All maps' arrays (see ``simlab.drive.mapdata.MapData`` for meanings). Ids are global;
    ``*_off[m]`` is map m's first element and ``*_count[m]`` its number of elements."""

    lane_len: jnp.ndarray  # [L]
    lane_speed: jnp.ndarray  # [L]
    lane_drow: jnp.ndarray  # [L] i32: flat offset of lane i's row in ``route``
    lane_dcol: jnp.ndarray  # [L] i32: lane i's local column in its map's route matrix
    route: jnp.ndarray  # [sum L_m^2] f32, end of lane i -> start of lane j (m)
    q_p0: jnp.ndarray  # [Q, 3]
    q_p1: jnp.ndarray  # [Q, 3]
    q_width: jnp.ndarray  # [Q]
    q_lane: jnp.ndarray  # [Q]
    q_s0: jnp.ndarray  # [Q]
    q_curv: jnp.ndarray  # [Q]
    q_speed: jnp.ndarray  # [Q]
    q_pack: jnp.ndarray  # [Q, 8] p0 x, y, z, p1 z, unit direction x, y, length, width
    q_heading: jnp.ndarray  # [Q] rad, heading of p0 -> p1 (``trig.atan2``, as sample_points had)
    q_solo: jnp.ndarray  # [Q] bool: no other quad reaches the quad's core (``quad_solo``)
    spawn_quads: jnp.ndarray  # [sum n_spawn]
    spawn_off: jnp.ndarray  # [M]
    spawn_count: jnp.ndarray  # [M]
    raster: jnp.ndarray  # [sum cells] bool
    raster_x0: jnp.ndarray  # [M]
    raster_y0: jnp.ndarray  # [M]
    raster_nx: jnp.ndarray  # [M]
    raster_ny: jnp.ndarray  # [M]
    raster_off: jnp.ndarray  # [M]
    b_xy: jnp.ndarray  # [B, 2]
    b_dir: jnp.ndarray  # [B, 2]
    b_z: jnp.ndarray  # [B]
    r_start: jnp.ndarray  # [R, 3]
    r_end: jnp.ndarray  # [R, 2]
    r_width: jnp.ndarray  # [R]
    r_speed: jnp.ndarray  # [R]
    r_lane: jnp.ndarray  # [R]
    r_s: jnp.ndarray  # [R]
    s_a: jnp.ndarray  # [S, 2]
    s_b: jnp.ndarray  # [S, 2]
    s_z: jnp.ndarray  # [S]
    s_lane: jnp.ndarray  # [S]
    s_junc: jnp.ndarray  # [S] local junction index in its map, -1 = yield line (no light)
    s_group: jnp.ndarray  # [S]
    s_local: jnp.ndarray  # [S] local stop-line index in its map
    junc_groups: jnp.ndarray  # [M, J_max] groups per local junction (0 = padding)
    stop_count: jnp.ndarray  # [M]
    quad_grid: Grid
    boundary_grid: Grid
    lane_grid: Grid
    stop_grid: Grid
    raster_res: float = eqx.field(static=True)
    n_maps: int = eqx.field(static=True)
    max_stops: int = eqx.field(static=True)
    max_junctions: int = eqx.field(static=True)
    max_groups: int = eqx.field(static=True)


def _quad_pack(p0, p1, width) -> np.ndarray:
    """[Q, 8] float32 rows (p0 x, y, z, p1 z, ux, uy, len, width) for lane association:
    the direction is normalised here, once, in IEEE float32 (the same operations
    ``scenario.associate`` did per candidate and step)."""
    p0, p1, width = (np.asarray(v, np.float32) for v in (p0, p1, width))
    ux, uy = p1[:, 0] - p0[:, 0], p1[:, 1] - p0[:, 1]
    ln = np.maximum(np.sqrt(ux * ux + uy * uy), np.float32(1e-6))
    return np.stack([p0[:, 0], p0[:, 1], p0[:, 2], p1[:, 2], ux / ln, uy / ln, ln, width], 1)


def _quad_heading(p0, p1) -> jnp.ndarray:
    """[Q] headings (rad) of the quads' centre lines, by ``trig.atan2`` under jit: the same
    float32 operations ``scenario.sample_points`` ran per sampled point (bitwise equal,
    tests/drive/test_sim_equal.py), now once per quad."""
    import jax

    from simlab.drive import trig

    def heading(p0, p1):
        seg = p1[..., :2] - p0[..., :2]
        return trig.atan2(seg[..., 1], seg[..., 0])

    return jax.jit(heading)(p0, p1)


def _grid(tables: list[Table], elem_off: list[int]) -> Grid:
    k = max(t.rows.shape[1] for t in tables)
    rows, cell_row, offs, row_off, cell_off = [], [], [], 0, 0
    for t, eo in zip(tables, elem_off):
        r = -np.ones((t.rows.shape[0], k), np.int32)
        r[:, : t.rows.shape[1]] = np.where(t.rows >= 0, t.rows + eo, -1)
        rows.append(r)
        cell_row.append(t.cell_row + row_off)
        offs.append(cell_off)
        row_off += t.rows.shape[0]
        cell_off += t.nx * t.ny
    return Grid(
        x0=jnp.asarray([t.x0 for t in tables], f32),
        y0=jnp.asarray([t.y0 for t in tables], f32),
        nx=jnp.asarray([t.nx for t in tables], i32),
        ny=jnp.asarray([t.ny for t in tables], i32),
        off=jnp.asarray(offs, i32),
        cell_row=jnp.asarray(np.concatenate(cell_row), i32),
        rows=jnp.asarray(np.concatenate(rows), i32),
        cell=float(tables[0].cell),
    )


QUAD_PAD = 0.05  # m: lane association claims a quad's rectangle lengthened this at both ends
QUAD_CORE = 0.1  # m: a quad's core is the quad shrunk by this on every side
QUAD_GAP = 0.01  # m: the least separation ``quad_solo`` accepts (float32 slack on device)


def quad_solo(pack: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """[Q] bool: quad q's core (its rectangle shrunk by ``QUAD_CORE``) is at least
    ``QUAD_GAP`` away from the region every other quad claims in lane association (its
    rectangle lengthened by ``QUAD_PAD`` at both ends, ``scenario.quad_claims``).

    A point in the core of a solo quad therefore lies in no other quad, and its association
    is that quad whatever the heading: ``scenario.associate`` keeps such agents on their
    previous quad without a scan. Junction connectors, merges and overpasses overlap other
    quads and are not solo, nor, near their joints, are the quads of tight curves. Exact
    separating-axis tests (float64) over the pairs that share a cell of the candidate
    table, which holds every pair that overlaps. pack [Q, 8] as ``_quad_pack``; rows
    [n_rows, K] global quad ids, -1 padded."""
    pack = np.asarray(pack, np.float64)
    rows, q = np.asarray(rows), len(pack)
    count = (rows >= 0).sum(1)  # valid ids form a prefix of each row
    codes = []
    for c in np.unique(count[count > 1]):  # rows of c candidates: their c·(c-1) pairs
        r = rows[count == c, :c].astype(np.int64)
        codes.append((r[:, :, None] * q + r[:, None, :]).ravel())
    code = np.sort(np.concatenate(codes)) if codes else np.zeros(0, np.int64)
    code = code[np.r_[True, code[1:] != code[:-1]]] if len(code) else code  # unique
    a, b = code // q, code % q
    a, b = a[a != b], b[a != b]

    def rect(i, shrink, pad):  # centre, unit axes (as (x, y) pairs), half length and width
        ux, uy, ln, w = pack[i, 4], pack[i, 5], pack[i, 6], pack[i, 7]
        cx, cy = pack[i, 0] + ux * ln / 2, pack[i, 1] + uy * ln / 2
        return cx, cy, (ux, uy), (-uy, ux), ln / 2 - shrink + pad, w / 2 - shrink

    dot = lambda p, r: p[0] * r[0] + p[1] * r[1]  # noqa: E731
    ax_, ay_, ua, na, la, wa = rect(a, QUAD_CORE, 0.0)
    bx_, by_, ub, nb, lb, wb = rect(b, 0.0, QUAD_PAD)
    d = (bx_ - ax_, by_ - ay_)
    apart = np.zeros(len(a), bool)
    for ax in (ua, na, ub, nb):
        reach_a = la * np.abs(dot(ua, ax)) + wa * np.abs(dot(na, ax))
        reach_b = lb * np.abs(dot(ub, ax)) + wb * np.abs(dot(nb, ax))
        apart |= np.abs(dot(d, ax)) > reach_a + reach_b + QUAD_GAP
    solo = (pack[:, 6] > 2 * QUAD_CORE) & (pack[:, 7] > 2 * QUAD_CORE)
    solo[a[~apart]] = False
    return solo


def _one_row(a: np.ndarray, fill=0) -> np.ndarray:
    """``a``, or one row of ``fill`` when it has none."""
    a = np.asarray(a)
    return a if len(a) else np.full((1, *a.shape[1:]), fill, a.dtype)


def make_bank(maps: list[MapData]) -> MapBank:
    """Concatenate built maps into one bank (all maps must share table cell sizes)."""
    cum = lambda xs: np.concatenate([[0], np.cumsum(xs)[:-1]]).astype(np.int64)  # noqa: E731
    n_l = [len(m.lane_len) for m in maps]
    n_q = [len(m.q_p0) for m in maps]
    lane_off, quad_off = cum(n_l), cum(n_q)
    b_off, r_off = cum([len(m.b_xy) for m in maps]), cum([len(m.r_lane) for m in maps])
    s_off = cum([len(m.s_a) for m in maps])
    d_off = cum([n * n for n in n_l])

    def cat(name, off=None):
        offs = off if off is not None else [0] * len(maps)
        return np.concatenate([getattr(m, name) + o for m, o in zip(maps, offs)])

    lane_drow = np.concatenate([d_off[i] + np.arange(n) * n for i, n in enumerate(n_l)])
    lane_dcol = np.concatenate([np.arange(n) for n in n_l])
    j_max = max(max((len(m.junc_groups) for m in maps), default=0), 1)
    junc_groups = np.zeros((len(maps), j_max), np.int32)
    for i, m in enumerate(maps):
        junc_groups[i, : len(m.junc_groups)] = m.junc_groups
    raster_off = cum([m.raster.size for m in maps])
    for m in maps:  # lookups rely on it (``scenario.associate`` scans a prefix of each list)
        for t in (m.quad_table, m.boundary_table, m.lane_table, m.stop_table):
            if np.any(np.diff((t.rows >= 0).astype(np.int8), axis=1) > 0):
                raise ValueError("candidate lists must hold their valid ids first (-1 after)")

    def fa(x):
        return jnp.asarray(np.asarray(x, np.float32).reshape(np.shape(x)), f32)

    def ia(x):
        return jnp.asarray(np.asarray(x, np.int64), i32)

    def cat2(name, width):
        return np.concatenate([getattr(m, name).reshape(-1, width) for m in maps])

    quad_grid = _grid([m.quad_table for m in maps], list(quad_off))
    q_pack = _quad_pack(cat2("q_p0", 3), cat2("q_p1", 3), cat("q_width"))
    return MapBank(
        lane_len=fa(cat("lane_len")),
        lane_speed=fa(cat("lane_speed")),
        lane_drow=ia(lane_drow),
        lane_dcol=ia(lane_dcol),
        route=fa(np.concatenate([m.route.ravel() for m in maps])),
        q_p0=fa(cat2("q_p0", 3)),
        q_p1=fa(cat2("q_p1", 3)),
        q_width=fa(cat("q_width")),
        q_lane=ia(cat("q_lane", lane_off)),
        q_s0=fa(cat("q_s0")),
        q_curv=fa(cat("q_curv")),
        q_speed=fa(cat("q_speed")),
        q_pack=fa(q_pack),
        q_heading=_quad_heading(fa(cat2("q_p0", 3)), fa(cat2("q_p1", 3))),
        q_solo=jnp.asarray(quad_solo(q_pack, np.asarray(quad_grid.rows))),
        spawn_quads=ia(cat("spawn_quads", quad_off)),
        spawn_off=ia(cum([len(m.spawn_quads) for m in maps])),
        spawn_count=ia([len(m.spawn_quads) for m in maps]),
        raster=jnp.asarray(np.concatenate([m.raster.ravel() for m in maps])),
        raster_x0=fa([m.raster_x0 for m in maps]),
        raster_y0=fa([m.raster_y0 for m in maps]),
        raster_nx=ia([m.raster.shape[1] for m in maps]),
        raster_ny=ia([m.raster.shape[0] for m in maps]),
        raster_off=ia(raster_off),
        b_xy=fa(cat2("b_xy", 2)),
        b_dir=fa(cat2("b_dir", 2)),
        b_z=fa(cat("b_z")),
        r_start=fa(cat2("r_start", 3)),
        r_end=fa(cat2("r_end", 2)),
        r_width=fa(cat("r_width")),
        r_speed=fa(cat("r_speed")),
        r_lane=ia(cat("r_lane", lane_off)),
        r_s=fa(cat("r_s")),
        # maps without stop lines (highways, imports without lights): one unused row, so the
        # lookups that gather row max(id, 0) for "no candidate" have a row to read
        s_a=fa(_one_row(cat2("s_a", 2))),
        s_b=fa(_one_row(cat2("s_b", 2))),
        s_z=fa(_one_row(cat("s_z"))),
        s_lane=ia(_one_row(cat("s_lane", lane_off))),
        s_junc=ia(_one_row(cat("s_junc"), -1)),
        s_group=ia(_one_row(cat("s_group"))),
        s_local=ia(_one_row(np.concatenate([np.arange(len(m.s_a)) for m in maps]))),
        junc_groups=ia(junc_groups),
        stop_count=ia([len(m.s_a) for m in maps]),
        quad_grid=quad_grid,
        boundary_grid=_grid([m.boundary_table for m in maps], list(b_off)),
        lane_grid=_grid([m.lane_table for m in maps], list(r_off)),
        stop_grid=_grid([m.stop_table for m in maps], list(s_off)),
        raster_res=float(maps[0].raster_res),
        n_maps=len(maps),
        max_stops=max(max(len(m.s_a) for m in maps), 1),
        max_junctions=j_max,
        max_groups=max(int(junc_groups.max(initial=1)), 1),
    )


def cell_row(grid: Grid, map_id: jnp.ndarray, xy: jnp.ndarray) -> jnp.ndarray:
    """Row [...] of ``grid.rows`` holding the candidates of the cell under xy [..., 2] on
    map map_id [...]. Points outside a map's grid use the nearest border cell."""
    ix = jnp.floor((xy[..., 0] - grid.x0[map_id]) / grid.cell).astype(i32)
    iy = jnp.floor((xy[..., 1] - grid.y0[map_id]) / grid.cell).astype(i32)
    nx, ny = grid.nx[map_id], grid.ny[map_id]
    cell = grid.off[map_id] + jnp.clip(iy, 0, ny - 1) * nx + jnp.clip(ix, 0, nx - 1)
    return grid.cell_row[cell]


def cell_candidates(grid: Grid, map_id: jnp.ndarray, xy: jnp.ndarray) -> jnp.ndarray:
    """Candidate ids [..., K] (-1 = none, valid ids first) of the cell under xy [..., 2] on
    map map_id [...]. Points outside a map's grid use the nearest border cell."""
    return grid.rows[cell_row(grid, map_id, xy)]


def raster_lookup(bank: MapBank, map_id: jnp.ndarray, xy: jnp.ndarray) -> jnp.ndarray:
    """Drivable flag [...] at points xy [..., 2]; points outside the map are not drivable."""
    ix = jnp.floor((xy[..., 0] - bank.raster_x0[map_id]) / bank.raster_res).astype(i32)
    iy = jnp.floor((xy[..., 1] - bank.raster_y0[map_id]) / bank.raster_res).astype(i32)
    nx, ny = bank.raster_nx[map_id], bank.raster_ny[map_id]
    inside = (ix >= 0) & (iy >= 0) & (ix < nx) & (iy < ny)
    idx = bank.raster_off[map_id] + jnp.clip(iy, 0, ny - 1) * nx + jnp.clip(ix, 0, nx - 1)
    return inside & bank.raster[idx]


def route_distance(bank: MapBank, lane, s, goal_lane, goal_s) -> jnp.ndarray:
    """Route distance (m) from arc length s on lane to goal_s on goal_lane (spec §2.1):
    s_g - s on the same lane ahead, else (len_i - s) + D[i, j] + s_g. All args broadcast."""
    d = bank.route[bank.lane_drow[lane] + bank.lane_dcol[goal_lane]]
    general = bank.lane_len[lane] - s + d + goal_s
    same = (lane == goal_lane) & (goal_s >= s)
    return jnp.where(same, goal_s - s, general).astype(f32)
