"""Object models: OBJ meshes, canonical boxes, 5 mm voxels, splat points and metric points.

Every object lives in its **canonical frame**: the origin at the centre of its tight box, axes
along the box (z up for the YCB meshes). ``ObjectModel`` holds everything the renderer,
likelihood, data generator and metrics need, as NumPy arrays (float32 points in metres):

* ``mesh``: triangles in the canonical frame (for rasterising images and ray-cast oracles);
* ``half_extents`` (3,): half sizes of the canonical box;
* ``voxels`` (V, 3): centres of occupied 5 mm cells of the surface;
* ``surface_points`` (V, 3): one per occupied cell, the mean of dense area-weighted surface
  samples inside it (closer to the surface than the cell centre; used for splatting);
* ``metric_points`` (2000, 3): fixed-seed surface samples for ADD / ADD-S.

The embedded default (no data needed) is procedural: boxes for the cracker, gelatin,
potted-meat and mustard objects and 64-segment cylinders for the master-chef and soup cans,
with the YCB boxes' sizes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from simlab.core.errors import DataError

__all__ = [
    "BOX_SIZES",
    "CYLINDERS",
    "OBJECT_NAMES",
    "Mesh",
    "ObjectModel",
    "box_mesh",
    "canonical_box",
    "cylinder_mesh",
    "decimate",
    "load_obj",
    "load_object",
    "make_object",
    "sample_surface",
    "subdivide",
    "voxelize_points",
]

VOXEL = 0.005  # m

#: Tight canonical box sizes (x, y, z) in metres, measured on the YCB meshes (spec §2).
BOX_SIZES: dict[str, tuple[float, float, float]] = {
    "CrackerBox": (0.0716, 0.1640, 0.2137),
    "GelatinBox": (0.0730, 0.0299, 0.0892),
    "MasterChefCan": (0.1022, 0.1023, 0.1401),
    "MustardBottle": (0.0958, 0.0577, 0.1915),
    "PottedMeatCan": (0.0574, 0.1017, 0.0845),
    "TomatoSoupCan": (0.0674, 0.0676, 0.1020),
}
OBJECT_NAMES = tuple(BOX_SIZES)
#: Objects symmetric about their body z axis (cans): a roll about it leaves their shape unchanged.
CYLINDERS = frozenset({"MasterChefCan", "TomatoSoupCan"})
_CYLINDERS = CYLINDERS


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh: vertices (V, 3) float64 [m], faces (F, 3) int64 (0-based)."""

    vertices: np.ndarray
    faces: np.ndarray

    def transformed(self, T: np.ndarray) -> Mesh:
        """The mesh under the 4×4 pose T."""
        v = self.vertices @ T[:3, :3].T + T[:3, 3]
        return Mesh(v, self.faces)

    @property
    def triangles(self) -> np.ndarray:
        """(F, 3, 3) vertex coordinates per face."""
        return self.vertices[self.faces]


def load_obj(path: str | Path) -> Mesh:
    """Read the ``v`` and ``f`` lines of a Wavefront OBJ file (polygons are fan-triangulated).

    Face entries may be ``i``, ``i/t``, ``i//n`` or ``i/t/n``, 1-based or negative (relative).
    Raises ``DataError`` naming the file and line for anything malformed.
    """
    path = Path(path)
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise DataError(f"{path}: cannot read mesh ({e.strerror or e})") from e
    verts: list[list[float]] = []
    faces: list[list[int]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        parts = line.split()
        if not parts or parts[0] not in ("v", "f"):
            continue
        if parts[0] == "v":
            try:
                xyz = [float(p) for p in parts[1:4]]
            except ValueError:
                raise DataError(f"{path}:{lineno}: bad vertex {line.strip()!r}") from None
            if len(xyz) != 3 or not np.all(np.isfinite(xyz)):
                raise DataError(f"{path}:{lineno}: a vertex needs 3 finite coordinates")
            verts.append(xyz)
        else:
            if len(parts) < 4:
                raise DataError(f"{path}:{lineno}: a face needs at least 3 vertices")
            idx = []
            for p in parts[1:]:
                try:
                    i = int(p.split("/")[0])
                except ValueError:
                    raise DataError(f"{path}:{lineno}: bad face index {p!r}") from None
                j = i - 1 if i > 0 else len(verts) + i
                if i == 0 or not 0 <= j < len(verts):
                    raise DataError(
                        f"{path}:{lineno}: face index {i} out of range (have {len(verts)} vertices)"
                    )
                idx.append(j)
            faces += [[idx[0], idx[k], idx[k + 1]] for k in range(1, len(idx) - 1)]
    if not faces:
        raise DataError(f"{path}: no faces found (not an OBJ mesh?)")
    return Mesh(np.asarray(verts, np.float64), np.asarray(faces, np.int64))


def box_mesh(size) -> Mesh:
    """An axis-aligned box of ``size`` (3,) [m] centred at the origin, 12 outward triangles."""
    h = np.asarray(size, np.float64) / 2
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * h
    quads = [(0, 1, 3, 2), (4, 6, 7, 5), (0, 4, 5, 1), (2, 3, 7, 6), (0, 2, 6, 4), (1, 5, 7, 3)]
    faces = [[a, b, c] for a, b, c, d in quads] + [[a, c, d] for a, b, c, d in quads]
    return Mesh(corners, np.asarray(faces, np.int64))


def cylinder_mesh(radius: float, height: float, segments: int = 64) -> Mesh:
    """A closed z-axis cylinder centred at the origin with ``segments`` side quads."""
    a = 2 * np.pi * np.arange(segments) / segments
    ring = np.stack([radius * np.cos(a), radius * np.sin(a)], axis=1)
    bottom = np.column_stack([ring, np.full(segments, -height / 2)])
    top = np.column_stack([ring, np.full(segments, height / 2)])
    verts = np.vstack([bottom, top, [[0, 0, -height / 2], [0, 0, height / 2]]])
    i = np.arange(segments)
    j = (i + 1) % segments
    cb, ct = 2 * segments, 2 * segments + 1
    faces = np.vstack(
        [
            np.column_stack([i, j, j + segments]),
            np.column_stack([i, j + segments, i + segments]),
            np.column_stack([np.full(segments, cb), j, i]),
            np.column_stack([np.full(segments, ct), i + segments, j + segments]),
        ]
    )
    return Mesh(verts, faces.astype(np.int64))


def subdivide(mesh: Mesh, max_edge: float) -> Mesh:
    """Split triangles 1→4 at edge midpoints until every edge is ≤ ``max_edge`` [m].

    Only triangles with a long edge are split (T-junctions are harmless for depth rendering).
    """
    v, f = mesh.vertices, mesh.faces
    for _ in range(20):
        tri = v[f]
        edges = np.linalg.norm(tri - np.roll(tri, -1, axis=1), axis=-1).max(axis=1)
        long = edges > max_edge
        if not long.any():
            break
        fl = f[long]
        a, b, c = fl[:, 0], fl[:, 1], fl[:, 2]
        n = len(v)
        k = len(fl)
        mab, mbc, mca = n + np.arange(k), n + k + np.arange(k), n + 2 * k + np.arange(k)
        v = np.vstack([v, (v[a] + v[b]) / 2, (v[b] + v[c]) / 2, (v[c] + v[a]) / 2])
        new = np.vstack(
            [
                np.column_stack([a, mab, mca]),
                np.column_stack([mab, b, mbc]),
                np.column_stack([mca, mbc, c]),
                np.column_stack([mab, mbc, mca]),
            ]
        )
        f = np.vstack([f[~long], new])
    return Mesh(v, f)


def decimate(mesh: Mesh, cell: float) -> Mesh:
    """Vertex-clustering decimation: merge vertices per ``cell``-sized grid cell [m] (to their
    mean) and drop collapsed and duplicate triangles. Cruder than quadric decimation, but
    simple and deterministic; used to measure the rasteriser on ~1k-triangle meshes."""
    keys = np.floor(mesh.vertices / cell).astype(np.int64)
    _, inv = np.unique(keys, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    n = inv.max() + 1
    counts = np.bincount(inv, minlength=n)
    verts = np.stack([np.bincount(inv, mesh.vertices[:, k], n) for k in range(3)], 1)
    verts /= counts[:, None]
    f = inv[mesh.faces]
    f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
    _, first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)
    return Mesh(verts, f[np.sort(first)])


def canonical_box(mesh: Mesh, step_deg: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """(T_canonical_from_file (4, 4), size (3,)) of the minimum-volume z-aligned box.

    Searches yaw in ``step_deg`` steps over (−45°, 45°] (a box repeats every 90°; the smallest
    |yaw| among ties keeps the file's axis naming), puts the origin at the box centre.
    """
    xy = mesh.vertices[:, :2]
    yaws = np.deg2rad(np.arange(-45 + step_deg, 45 + 1e-9, step_deg))
    c, s = np.cos(yaws), np.sin(yaws)
    # rotate points by −yaw: x' = c x + s y, y' = −s x + c y
    xr = xy[:, 0:1] * c + xy[:, 1:2] * s
    yr = -xy[:, 0:1] * s + xy[:, 1:2] * c
    area = (xr.max(0) - xr.min(0)) * (yr.max(0) - yr.min(0))
    best = np.flatnonzero(area <= area.min() * (1 + 1e-9))
    k = best[np.argmin(np.abs(yaws[best]))]
    R = np.array([[c[k], s[k], 0], [-s[k], c[k], 0], [0, 0, 1]])
    p = mesh.vertices @ R.T
    lo, hi = p.min(0), p.max(0)
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, -(lo + hi) / 2
    return T, hi - lo


def sample_surface(mesh: Mesh, n: int, seed: int = 0) -> np.ndarray:
    """``n`` area-weighted uniform surface points (n, 3) [m], deterministic in ``seed``."""
    rng = np.random.default_rng(seed)
    tri = mesh.triangles
    area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
    f = rng.choice(len(tri), size=n, p=area / area.sum())
    r1, r2 = rng.random(n), rng.random(n)
    s = np.sqrt(r1)
    w = np.stack([1 - s, s * (1 - r2), s * r2], axis=1)
    return np.einsum("nk,nkd->nd", w, tri[f])


def voxelize_points(points: np.ndarray, res: float = VOXEL) -> tuple[np.ndarray, np.ndarray]:
    """(cell centres (V, 3), per-cell mean of the points (V, 3)) of the occupied cells."""
    cells = np.floor(points / res).astype(np.int64)
    uniq, inv = np.unique(cells, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    counts = np.bincount(inv)
    mean = np.stack([np.bincount(inv, points[:, k]) for k in range(3)], axis=1) / counts[:, None]
    return (uniq + 0.5) * res, mean


@dataclass(frozen=True)
class ObjectModel:
    """One object type in its canonical frame (see the module docstring)."""

    name: str
    mesh: Mesh
    half_extents: np.ndarray
    voxels: np.ndarray
    surface_points: np.ndarray
    metric_points: np.ndarray
    procedural: bool
    T_canonical_from_file: np.ndarray = field(default_factory=lambda: np.eye(4))

    @property
    def size(self) -> np.ndarray:
        return 2 * self.half_extents


def make_object(name: str, mesh: Mesh, procedural: bool, canonicalise: bool = True) -> ObjectModel:
    """Build an ``ObjectModel`` from a mesh (re-centred on its tight box when asked)."""
    if canonicalise:
        T, size = canonical_box(mesh)
        mesh = mesh.transformed(T)
    else:
        T = np.eye(4)
        size = mesh.vertices.max(0) - mesh.vertices.min(0)
    dense = sample_surface(mesh, 200_000, seed=1)
    voxels, means = voxelize_points(dense)
    return ObjectModel(
        name=name,
        mesh=mesh,
        half_extents=np.asarray(size, np.float64) / 2,
        voxels=voxels.astype(np.float32),
        surface_points=means.astype(np.float32),
        metric_points=sample_surface(mesh, 2000, seed=2).astype(np.float32),
        procedural=procedural,
        T_canonical_from_file=T,
    )


def _procedural_mesh(name: str) -> Mesh:
    sx, sy, sz = BOX_SIZES[name]
    if name in _CYLINDERS:
        return cylinder_mesh((sx + sy) / 4, sz, 64)
    return box_mesh((sx, sy, sz))


_CACHE: dict[tuple[str, str], ObjectModel] = {}


def load_object(name: str, ycb_root: str | Path | None = None) -> ObjectModel:
    """The object ``name`` (one of ``OBJECT_NAMES``): the YCB mesh from
    ``ycb_root/Ycb<name>/textured_simple_reoriented.obj`` when a root is given, else the
    procedural default. Results are cached per (name, root)."""
    if name not in BOX_SIZES:
        raise DataError(f"unknown object {name!r}; known: {', '.join(OBJECT_NAMES)}")
    key = (name, str(ycb_root))
    if key not in _CACHE:
        if ycb_root is None:
            _CACHE[key] = make_object(name, _procedural_mesh(name), procedural=True)
        else:
            path = Path(ycb_root) / f"Ycb{name}" / "textured_simple_reoriented.obj"
            if not path.exists():
                raise DataError(f"{path}: YCB mesh not found")
            _CACHE[key] = make_object(name, load_obj(path), procedural=False)
    return _CACHE[key]
