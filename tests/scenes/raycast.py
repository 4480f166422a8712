"""An independent NumPy Möller–Trumbore ray caster: the oracle for the JAX renderers."""

from __future__ import annotations

import numpy as np


def raycast_depth(tris_cam: np.ndarray, fx, fy, cx, cy, us, vs) -> np.ndarray:
    """Depth (z, metres; 0 = miss) along the rays through pixel centres (us, vs) (R,).

    tris_cam (F, 3, 3) camera-frame triangles. Brute force over all triangles per ray.
    """
    tris = np.asarray(tris_cam, np.float64)
    d = np.stack([(np.asarray(us) - cx) / fx, (np.asarray(vs) - cy) / fy, np.ones(len(us))], 1)
    v0, e1, e2 = tris[:, 0], tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0]
    out = np.zeros(len(d))
    for r, dr in enumerate(d):
        p = np.cross(dr, e2)
        det = np.einsum("fk,fk->f", e1, p)
        ok = np.abs(det) > 1e-15
        inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
        s = -v0  # ray origin is the camera centre
        a = np.einsum("fk,fk->f", s, p) * inv
        q = np.cross(s, e1)
        b = (q @ dr) * inv
        t = np.einsum("fk,fk->f", e2, q) * inv
        hit = ok & (a >= 0) & (b >= 0) & (a + b <= 1) & (t > 1e-6)
        if hit.any():
            out[r] = t[hit].min()  # the ray's z component is 1, so t is the depth
    return out
