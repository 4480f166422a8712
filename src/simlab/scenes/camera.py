"""Pinhole cameras with OpenCV axes (x right, y down, z forward), pixel centres on integers.

u = fx·X/Z + cx, v = fy·Y/Z + cy. Depth images are float32 metres with 0 = missing. A camera's
pose in the world (table) frame is ``T_wc`` (camera → world); points are brought into the camera
with ``T_cw = invert_pose(T_wc)``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from simlab.core.errors import DataError

__all__ = [
    "YCBV",
    "YCBV_LATE",
    "Intrinsics",
    "load_intrinsics",
    "look_at",
    "lowres_xyz_from_depth",
    "project",
    "scale_down",
    "unproject_depth",
]


class Intrinsics(NamedTuple):
    """Pinhole intrinsics; hashable, so it can be a static argument of ``jax.jit``.

    width, height in pixels; fx, fy, cx, cy in pixels; near, far in metres.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    near: float = 0.05
    far: float = 5.0

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0, self.cx], [0, self.fy, self.cy], [0, 0, 1.0]])


#: YCB-Video sequences 0000–0059 (the default), 640×480.
YCBV = Intrinsics(640, 480, 1066.778, 1067.487, 312.9869, 241.3109)
#: YCB-Video sequences ≥ 0060.
YCBV_LATE = Intrinsics(640, 480, 1077.836, 1078.189, 323.7872, 279.6921)


def scale_down(cam: Intrinsics, factor: int) -> Intrinsics:
    """The camera at 1/factor resolution with fx, fy, cx, cy divided by ``factor``.

    Observations at this resolution are built from full-resolution 3-D points
    (``lowres_xyz_from_depth``), so the half-pixel offset this ignores biases nothing.
    """
    if cam.width % factor or cam.height % factor:
        raise ValueError(f"{cam.width}×{cam.height} is not divisible by {factor}")
    return cam._replace(
        width=cam.width // factor,
        height=cam.height // factor,
        fx=cam.fx / factor,
        fy=cam.fy / factor,
        cx=cam.cx / factor,
        cy=cam.cy / factor,
    )


def project(cam: Intrinsics, xyz: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Pixel coordinates (u, v) (...) of camera-frame points (..., 3)."""
    z = xyz[..., 2]
    return cam.fx * xyz[..., 0] / z + cam.cx, cam.fy * xyz[..., 1] / z + cam.cy


def unproject_depth(cam: Intrinsics, depth: jax.Array) -> jax.Array:
    """Camera-frame points (H, W, 3) of a depth image (H, W) in metres (missing stays 0)."""
    v, u = jnp.meshgrid(
        jnp.arange(cam.height, dtype=jnp.float32),
        jnp.arange(cam.width, dtype=jnp.float32),
        indexing="ij",
    )
    x = (u - cam.cx) / cam.fx * depth
    y = (v - cam.cy) / cam.fy * depth
    return jnp.stack([x, y, depth], axis=-1)


def lowres_xyz_from_depth(
    cam_full: Intrinsics, depth: np.ndarray, cam_low: Intrinsics
) -> np.ndarray:
    """A low-resolution xyz image (h, w, 3) [m]: per pixel, the full-resolution 3-D point whose
    projection lies nearest to the pixel centre.

    Unprojects the full-resolution depth (H, W) [m, 0 = missing] and projects the points with
    ``cam_low``. Choosing by image distance (not depth) makes each observed point sit on the
    same ray the renderer samples at that pixel, so neither the half-pixel convention nor the
    surface slope shifts the likelihood's optimum. Pixels with no point are (0, 0, 0).
    """
    depth = np.asarray(depth, np.float64)
    xyz = np.asarray(unproject_depth(cam_full, jnp.asarray(depth, jnp.float32)), np.float64)
    pts = xyz[depth > 0].reshape(-1, 3)
    uf = cam_low.fx * pts[:, 0] / pts[:, 2] + cam_low.cx
    vf = cam_low.fy * pts[:, 1] / pts[:, 2] + cam_low.cy
    u, v = np.rint(uf).astype(np.int64), np.rint(vf).astype(np.int64)
    ok = (u >= 0) & (u < cam_low.width) & (v >= 0) & (v < cam_low.height)
    dist = ((uf - u) ** 2 + (vf - v) ** 2)[ok]
    pts, flat = pts[ok], (v * cam_low.width + u)[ok]
    order = np.lexsort((dist, flat))  # by pixel, then nearest to the pixel centre first
    flat, pts = flat[order], pts[order]
    first = np.ones(len(flat), bool)
    first[1:] = flat[1:] != flat[:-1]
    out = np.zeros((cam_low.height * cam_low.width, 3), np.float32)
    out[flat[first]] = pts[first]
    return out.reshape(cam_low.height, cam_low.width, 3)


def look_at(eye, target, up=(0.0, 0.0, 1.0), roll: float = 0.0) -> np.ndarray:
    """Camera pose T_wc (4, 4) at ``eye`` looking at ``target`` (world metres), OpenCV axes.

    The image's "down" (+y) is aligned with −``up`` projected on the image plane, then the
    camera is rolled by ``roll`` rad about its viewing axis.
    """
    eye, target, up = (np.asarray(a, np.float64) for a in (eye, target, up))
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-6:  # looking straight along `up`: any x ⟂ z will do
        x = np.cross(z, [1.0, 0.0, 0.0] if abs(z[0]) < 0.9 else [0.0, 1.0, 0.0])
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z], axis=1)
    c, s = np.cos(roll), np.sin(roll)
    R = R @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, eye
    return T


def load_intrinsics(path: str | Path) -> Intrinsics:
    """Intrinsics from a JSON file ``{"width", "height", "fx", "fy", "cx", "cy"}`` or the
    names ``ycbv`` / ``ycbv-late``."""
    if str(path).lower() in ("ycbv", "ycbv-early"):
        return YCBV
    if str(path).lower() == "ycbv-late":
        return YCBV_LATE
    path = Path(path)
    try:
        d = json.loads(path.read_text())
    except OSError as e:
        raise DataError(f"{path}: cannot read intrinsics ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: not valid JSON ({e.msg})") from e
    missing = [k for k in ("width", "height", "fx", "fy", "cx", "cy") if k not in d]
    if missing:
        raise DataError(f"{path}: intrinsics lack {', '.join(missing)}")
    try:
        return Intrinsics(
            int(d["width"]),
            int(d["height"]),
            *(float(d[k]) for k in ("fx", "fy", "cx", "cy")),
            near=float(d.get("near", 0.05)),
            far=float(d.get("far", 5.0)),
        )
    except (TypeError, ValueError) as e:
        raise DataError(f"{path}: intrinsics values must be numbers ({e})") from e
