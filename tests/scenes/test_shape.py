import jax.numpy as jnp
import numpy as np

from simlab.scenes import objects, render, shape
from simlab.scenes.camera import YCBV, look_at


def _views(obj, cam, dist=2.0, background=4.0):
    """Six axis-aligned views of the object (at the origin) with a far background plane."""
    eyes = [np.eye(3)[k] * s * dist for k in range(3) for s in (-1, 1)]
    depths, poses = [], []
    for eye in eyes:
        up = (0, 0, 1) if abs(eye[2]) < 1e-9 else (0, 1, 0)
        T_wc = look_at(eye, np.zeros(3), up=up)
        T_co = np.linalg.inv(T_wc)
        tris = objects.subdivide(obj.mesh, 0.02).transformed(T_co).triangles
        d, _ = render.raster_depth(cam, jnp.asarray(tris, jnp.float32), 32)
        depths.append(np.where(np.asarray(d) > 0, np.asarray(d), background))
        poses.append(T_co)
    return np.stack(depths), np.stack(poses)


def test_shape_learning_recovers_a_box_from_six_views():
    cam = YCBV  # 2 m away: a near-orthographic view, so the visual hull is the box
    obj = objects.load_object("PottedMeatCan")  # procedural box 5.74 × 10.17 × 8.45 cm
    depths, poses = _views(obj, cam)
    h = obj.half_extents
    s = shape.learn_shape(depths, cam, poses, -h - 0.02, h + 0.02)
    centres = s.centres(np.ones(s.p.shape, bool)).reshape(*s.p.shape, 3)
    solid = np.all(np.abs(centres) < h, axis=-1)
    # the visual hull: every voxel not seen free (p ≥ 0.5); compare with the true solid box
    est = s.p >= 0.5
    iou = (est & solid).sum() / (est | solid).sum()
    assert iou > 0.9, iou
    # voxels seen occupied lie on the surface band, and the splat points are near the surface
    surf = shape.surface_voxels(s)
    dist = np.min(np.abs(np.abs(surf) - h), axis=1)
    assert len(surf) > 500 and np.median(dist) < 0.005
    assert s.alpha.sum() > 0 and s.beta.sum() > s.alpha.sum()
