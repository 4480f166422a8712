"""Voxel shapes learned from depth images with known poses (spec §2, ThreeDP3 occlusions.jl).

Each voxel centre (object frame) is projected into every training view (pinhole, nearest
pixel) and compared with the observed depth d at that pixel, z being the centre's depth:

* occupied if |z − d| ≤ res;
* free if z < d − res (the ray passed through the voxel);
* occluded otherwise (behind the surface, off-image, or missing depth): skipped.

Beta–Bernoulli counts α_v += [occupied], β_v += [free] give p_v = (α_v + a₀)/(α_v + β_v + a₀ +
b₀), a₀ = b₀ = 1. Render voxels with p_v > 0.5 (or sample s_v ∼ Bernoulli(p_v)); the splat
points are the *surface* voxels: occupied ones with at least one non-occupied 6-neighbour.
NumPy, float64 (a one-off fit per object).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simlab.scenes.camera import Intrinsics

__all__ = ["VoxelShape", "learn_shape", "surface_voxels"]


@dataclass(frozen=True)
class VoxelShape:
    """A learned shape: grid origin ``lo`` (3,) [m, object frame], resolution [m], counts
    alpha / beta (X, Y, Z) and occupancy probabilities p (X, Y, Z)."""

    lo: np.ndarray
    res: float
    alpha: np.ndarray
    beta: np.ndarray
    p: np.ndarray

    def centres(self, mask: np.ndarray) -> np.ndarray:
        """Object-frame centres (K, 3) [m] of the voxels selected by ``mask`` (X, Y, Z)."""
        return self.lo + (np.argwhere(mask) + 0.5) * self.res


def learn_shape(
    depths: np.ndarray,
    cam: Intrinsics,
    T_co: np.ndarray,
    lo,
    hi,
    res: float = 0.005,
    a0: float = 1.0,
    b0: float = 1.0,
) -> VoxelShape:
    """Fit occupancy on the grid [lo, hi) (object frame, metres) from V depth images.

    depths (V, H, W) [m, 0 = missing]; T_co (V, 4, 4) object → camera poses.
    """
    lo = np.asarray(lo, np.float64)
    shape = np.ceil((np.asarray(hi, np.float64) - lo) / res - 1e-9).astype(int)
    idx = np.stack(np.meshgrid(*(np.arange(s) for s in shape), indexing="ij"), -1).reshape(-1, 3)
    centres = lo + (idx + 0.5) * res
    alpha = np.zeros(len(centres))
    beta = np.zeros(len(centres))
    for depth, T in zip(np.asarray(depths), np.asarray(T_co, np.float64)):
        pc = centres @ T[:3, :3].T + T[:3, 3]
        z = pc[:, 2]
        zs = np.where(z > 1e-9, z, 1.0)
        u = np.rint(cam.fx * pc[:, 0] / zs + cam.cx).astype(np.int64)
        v = np.rint(cam.fy * pc[:, 1] / zs + cam.cy).astype(np.int64)
        ok = (z > 1e-9) & (u >= 0) & (u < cam.width) & (v >= 0) & (v < cam.height)
        d = np.zeros(len(z))
        d[ok] = depth[v[ok], u[ok]]
        ok &= d > 0
        occupied = ok & (np.abs(z - d) <= res)
        free = ok & (z < d - res)
        alpha += occupied
        beta += free
    p = (alpha + a0) / (alpha + beta + a0 + b0)
    return VoxelShape(lo, res, alpha.reshape(shape), beta.reshape(shape), p.reshape(shape))


def surface_voxels(shape: VoxelShape, threshold: float = 0.5) -> np.ndarray:
    """Object-frame centres (K, 3) of occupied voxels (p > threshold) with a non-occupied
    6-neighbour (grid borders count as empty): the points to splat."""
    occ = shape.p > threshold
    pad = np.pad(occ, 1, constant_values=False)
    inner = np.ones_like(occ)
    for axis in range(3):
        for step in (-1, 1):
            inner &= np.roll(pad, step, axis=axis)[1:-1, 1:-1, 1:-1]
    return shape.centres(occ & ~inner)
