"""`simlab demo` section for 3DP3: pose inference on one generated tabletop scene.

Embedded default only (procedural objects, no data needed): a seeded "standard" scene at
640×480 with Kinect-like noise, the perturbed-ground-truth initialisation, then 3DP3* pose
inference (MH drifts + flips + ICP-mixture moves) at 160×120. Reports ADD-S before and after.
"""

from __future__ import annotations

import time
from pathlib import Path


def run_demo(report, workdir: Path) -> None:
    import jax
    import jax.numpy as jnp
    import numpy as np

    from simlab.core.report import new_figure
    from simlab.scenes import data, infer, likelihood, objects
    from simlab.scenes.camera import scale_down
    from simlab.scenes.cli import _overlay
    from simlab.scenes.eval import add_s
    from simlab.scenes.geometry import matrix_to_quat, pose_from_tq

    tic = time.perf_counter()
    sd = data.generate_scene("standard", 1)
    objs = [objects.load_object(n) for n in sd.names]
    cam_full = sd.intrinsics
    cam = scale_down(cam_full, 4)
    ws = likelihood.Workspace()
    obs = likelihood.make_observation(
        None, sd.T_wc, ws, depth_full=sd.depth, cam_full=cam_full, cam_low=cam
    )
    geom = infer.make_scene([o.surface_points for o in objs], sd.T_wc)
    t0 = jnp.asarray(sd.init_poses[:, :3, 3], jnp.float32)
    q0 = matrix_to_quat(jnp.asarray(sd.init_poses[:, :3, :3], jnp.float32))
    sweeps = 30
    t, q, hist = infer.run_floating(
        jax.random.key(0), cam, ws, infer.Config(), geom, obs, t0, q0, sweeps, 10, 2
    )
    est = np.asarray(pose_from_tq(t, q), np.float64)
    wall = time.perf_counter() - tic
    rows = []
    for k, o in enumerate(objs):
        e0 = add_s(sd.poses[k], sd.init_poses[k], o.metric_points)
        e1 = add_s(sd.poses[k], est[k], o.metric_points)
        rows.append([o.name, round(1e3 * e0, 1), round(1e3 * e1, 1)])
    report.text(
        f"One seeded synthetic scene ({len(objs)} procedural objects, 640×480 depth with "
        "Kinect-like noise, YCB-Video intrinsics). Starting from the perturbed ground truth "
        f"(1.5 cm / 10° per axis, 15 % gross errors), {sweeps} sweeps of pose MH (6 Gaussian–vMF "
        "drifts and 3 flips per object per sweep, windowed likelihood at 160×120) with 2 "
        f"ICP-mixture moves per object every 10 sweeps took {wall:.1f} s including compilation."
    )
    report.table(["object", "ADD-S initial (mm)", "ADD-S inferred (mm)"], rows)
    path = workdir / "overlay.png"
    _overlay(path, cam_full, sd.T_wc, sd.depth, objs, est, sd.init_poses)
    fig, ax = new_figure(8, 6)
    import matplotlib.image as mpimg

    ax.imshow(mpimg.imread(path))
    ax.axis("off")
    report.figure(fig, "scenes_overlay", "Observed depth; initial (dashed) and inferred (solid).")
    fig, ax = new_figure(6, 3.5)
    ax.plot(np.arange(1, len(hist) + 1), hist)
    ax.set_xlabel("sweep")
    ax.set_ylabel("log likelihood (windowed)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    report.figure(fig, "scenes_trace", "Log target after each MH sweep.")
