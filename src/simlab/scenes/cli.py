"""`simlab scenes ...`: 3DP3 pose inference on depth images and speed benchmarks.

This module's top level imports only typer, the standard library and simlab.core; JAX and the
scenes modules are imported inside the commands so that ``simlab --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from simlab.core.errors import ConfigError, DataError

app = typer.Typer(help="3DP3: object poses from depth images (JAX).", no_args_is_help=True)


def _ycb_root(ycb: Path | None):
    if ycb is not None:
        if not (ycb / "YcbCrackerBox").exists():
            raise DataError(f"{ycb}: not a YCB mesh folder (no YcbCrackerBox/ inside)")
        return ycb
    return None


def _read_depth(path: Path):
    """Depth in metres from .npy (float metres) or .png (uint16, 0.1 mm units as YCB-V)."""
    import numpy as np

    if not path.exists():
        raise DataError(f"{path}: depth image not found")
    if path.suffix.lower() == ".npy":
        try:
            d = np.load(path, allow_pickle=False).astype(np.float32)
        except ValueError as e:
            raise DataError(f"{path}: not a .npy array ({e})") from e
    elif path.suffix.lower() == ".png":
        from PIL import Image

        try:
            d = np.asarray(Image.open(path)).astype(np.float32) / 10000.0
        except OSError as e:
            raise DataError(f"{path}: unreadable PNG ({e})") from e
    else:
        raise DataError(f"{path}: depth must be .npy (metres) or .png (uint16, 0.1 mm)")
    if d.ndim != 2:
        raise DataError(f"{path}: depth must be a 2-D image, got shape {d.shape}")
    return d


def _read_json(path: Path, what: str):
    try:
        return json.loads(path.read_text())
    except OSError as e:
        raise DataError(f"{path}: cannot read {what} ({e.strerror})") from e
    except json.JSONDecodeError as e:
        raise DataError(f"{path}:{e.lineno}: {what} is not valid JSON ({e.msg})") from e


def _matrix(value, path: Path, what: str):
    import numpy as np

    try:
        m = np.asarray(value, np.float64)
    except (TypeError, ValueError):
        m = np.zeros(0)
    if m.shape != (4, 4):
        raise DataError(f"{path}: {what} must be a 4×4 matrix")
    return m


@app.command()
def infer(
    scene: Annotated[Path | None, typer.Option(help="A generated scene (.npz).")] = None,
    generate: Annotated[
        str | None, typer.Option(help="Generate a scene: SPLIT or SPLIT:SEED (e.g. standard:3).")
    ] = None,
    depth: Annotated[
        Path | None, typer.Option(help="Depth image: .npy (m) or .png (0.1 mm).")
    ] = None,
    intrinsics: Annotated[
        str, typer.Option(help="Intrinsics JSON {width,height,fx,fy,cx,cy} or 'ycbv'.")
    ] = "ycbv",
    camera_pose: Annotated[
        Path | None, typer.Option(help="JSON 4×4 camera-to-world pose (with --depth).")
    ] = None,
    init: Annotated[
        Path | None,
        typer.Option(help='JSON [{"name": "CrackerBox", "pose": 4×4}, ...] (with --depth).'),
    ] = None,
    objects_: Annotated[
        str | None,
        typer.Option(
            "--objects", help="Object names, comma-separated (with --depth, no --init: bottom-up)."
        ),
    ] = None,
    bottom_up: Annotated[
        bool, typer.Option(help="Initialise bottom-up (DBSCAN + contact ICP), not from --init.")
    ] = False,
    graph: Annotated[
        bool, typer.Option(help="3DP3 with a scene graph (else 3DP3*: every object floating).")
    ] = False,
    ycb: Annotated[Path | None, typer.Option(help="YCB mesh folder (default: procedural).")] = None,
    sweeps: Annotated[int, typer.Option(help="MH sweeps per chain (9 moves per object).")] = 40,
    icp_every: Annotated[int, typer.Option(help="Sweeps between ICP-mixture moves.")] = 20,
    icp_steps: Annotated[int, typer.Option(help="ICP-mixture moves per object per block.")] = 1,
    seed: int = 0,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/scenes-infer"),
) -> None:
    """Infer object poses (3DP3*, or 3DP3 with --graph) and write poses.json + overlay.png."""
    sources = [x is not None for x in (scene, generate, depth)]
    if sum(sources) != 1:
        raise ConfigError("give exactly one of --scene, --generate or --depth")
    import jax
    import numpy as np

    from simlab.core.progress import ProgressBar
    from simlab.scenes import data, likelihood, objects
    from simlab.scenes import eval as metrics
    from simlab.scenes import infer as inf
    from simlab.scenes.camera import load_intrinsics, scale_down

    root = _ycb_root(ycb)
    truth = None
    if depth is not None:
        if camera_pose is None or (init is None and objects_ is None):
            raise ConfigError("--depth needs --camera-pose and --init (or --objects for bottom-up)")
        if init is not None and (objects_ is not None or bottom_up):
            raise ConfigError("--init gives initial poses: do not combine it with --objects or "
                              "--bottom-up (which infer them bottom-up)")  # fmt: skip
        cam_full = load_intrinsics(intrinsics)
        d = _read_depth(depth)
        if d.shape != (cam_full.height, cam_full.width):
            raise DataError(
                f"{depth}: image is {d.shape[1]}×{d.shape[0]}, intrinsics say "
                f"{cam_full.width}×{cam_full.height}"
            )
        T_wc = _matrix(_read_json(camera_pose, "camera pose"), camera_pose, "camera pose")
        if init is None:
            names = [x.strip() for x in objects_.split(",") if x.strip()]
            init_poses = None
        else:
            entries = _read_json(init, "initial poses")
            if not isinstance(entries, list) or not entries:
                raise DataError(f"{init}: expected a non-empty list of {{name, pose}}")
            names, inits = [], []
            for k, e in enumerate(entries):
                if not isinstance(e, dict) or "name" not in e or "pose" not in e:
                    raise DataError(f"{init}: entry {k} needs 'name' and 'pose'")
                names.append(str(e["name"]))
                inits.append(_matrix(e["pose"], init, f"entry {k} pose"))
            init_poses = np.stack(inits)
    else:
        if scene is not None:
            sd = data.load_scene(scene)
        else:
            split, _, s = generate.partition(":")
            try:
                sd = data.generate_scene(split, int(s or 0), root)
            except ValueError as e:
                raise ConfigError(f"--generate {generate!r}: {e}") from e
        cam_full, d, T_wc = sd.intrinsics, sd.depth, sd.T_wc
        names, init_poses, truth = sd.names, sd.init_poses, sd.poses
    objs = [objects.load_object(n, root) for n in names]
    factor = 4 if cam_full.width % 4 == 0 and cam_full.height % 4 == 0 else 1
    cam = scale_down(cam_full, factor)
    ws = likelihood.Workspace()
    obs = likelihood.make_observation(None, T_wc, ws, depth_full=d, cam_full=cam_full, cam_low=cam)
    geom = inf.make_scene([o.surface_points for o in objs], T_wc)
    cfg = inf.Config()
    if init_poses is None or bottom_up:
        from simlab.scenes.bottomup import bottom_up_init

        typer.echo("bottom-up initialisation (clusters + contact-constrained ICP) ...")
        init_poses = bottom_up_init(cam, ws, obs, objs, T_wc)
    from simlab.scenes.pipeline import run_3dp3, run_3dp3_star

    key = jax.random.key(seed)
    hist: list[float] = []
    # The benchmark's 3DP3*: two chains (from the init and from an ICP start), merged by
    # the log target; the bar follows the chain from the init.
    with ProgressBar(sweeps, "pose MH", unit="sweep") as bar:

        def tick(done, total):
            bar.update(done - bar.completed)

        star = run_3dp3_star(
            key, cam, ws, cfg, geom, obs, init_poses, sweeps, icp_every, icp_steps,
            history=hist, callback=tick,
        )  # fmt: skip
    est, parents = star.poses, None
    if graph:
        from simlab.scenes.graph import edges_of

        typer.echo("scene graph: structure moves and contact refinement ...")
        half = np.stack([o.half_extents for o in objs])
        cyl = [o.name in objects.CYLINDERS for o in objs]
        res = run_3dp3(
            key, cam, ws, cfg, geom, obs, init_poses, half, sweeps=sweeps, icp_every=icp_every,
            icp_steps=icp_steps, start=star, cylinder=cyl,
        )  # fmt: skip
        est, parents = res.poses, res.parents
    out.mkdir(parents=True, exist_ok=True)
    result = {"objects": []}
    for k, (n, o) in enumerate(zip(names, objs)):
        row = {"name": n, "pose": est[k].tolist(), "init": init_poses[k].tolist()}
        if truth is not None:
            row["add_s_init_m"] = metrics.add_s(truth[k], init_poses[k], o.metric_points)
            row["add_s_m"] = metrics.add_s(truth[k], est[k], o.metric_points)
        result["objects"].append(row)
    result["log_target_history"] = hist
    if parents is not None:
        result["parents"] = [int(p) for p in parents]
        result["edges"] = edges_of(parents).tolist()
        typer.echo(f"contact edges (parent node, child node; 0 = table): {result['edges']}")
    (out / "poses.json").write_text(json.dumps(result, indent=1))
    _overlay(out / "overlay.png", cam_full, T_wc, d, objs, est, init_poses)
    for row in result["objects"]:
        extra = ""
        if "add_s_m" in row:
            extra = f"  ADD-S {1e3 * row['add_s_init_m']:.1f} → {1e3 * row['add_s_m']:.1f} mm"
        typer.echo(f"{row['name']:>14}{extra}")
    typer.echo(f"wrote {out / 'poses.json'} and {out / 'overlay.png'}")


def _overlay(path: Path, cam, T_wc, depth, objs, est, init) -> None:
    """Observed depth with the inferred (solid) and initial (dashed) silhouettes."""
    import numpy as np

    from simlab.core.report import new_figure
    from simlab.scenes.data import render_depth_full

    fig, ax = new_figure(8, 6)
    ax.imshow(np.where(depth > 0, depth, np.nan), cmap="gray")
    colours = ["tab:red", "tab:blue", "tab:green", "tab:orange", "tab:purple", "tab:cyan"]
    for poses, style in ((init, "dashed"), (est, "solid")):
        _, seg, _ = render_depth_full(cam, T_wc, objs, poses, table=False)
        for k in range(len(objs)):
            if (seg == k).any():
                ax.contour(seg == k, levels=[0.5], colors=colours[k % 6], linestyles=style)
    ax.set_title("inferred (solid) and initial (dashed) poses")
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path)
    import matplotlib.pyplot as plt

    plt.close(fig)


@app.command()
def bench(
    ycb: Annotated[Path | None, typer.Option(help="YCB mesh folder (default: procedural).")] = None,
) -> None:
    """Renderer, likelihood and MH-step speed (prints JSON)."""
    from simlab.scenes.speed import measure_speed

    typer.echo(json.dumps(measure_speed(_ycb_root(ycb)), indent=1))


@app.command()
def benchmark(
    splits: Annotated[str, typer.Option(help="Comma-separated splits.")] = (
        "standard,novel_viewpoint,stacking,occlusion"
    ),
    n: Annotated[int, typer.Option(help="Scenes per split.")] = 5,
    methods: Annotated[
        str, typer.Option(help="Comma-separated methods (icp, icp_multi: Open3D; icp_jax).")
    ] = "icp,icp_multi,3dp3_star,3dp3",
    init: Annotated[str, typer.Option(help="perturbed or bottomup.")] = "perturbed",
    sweeps: Annotated[int, typer.Option(help="3DP3* MH sweeps.")] = 40,
    seed: Annotated[int, typer.Option(help="First scene seed.")] = 1000,
    ycb: Annotated[Path | None, typer.Option(help="YCB mesh folder (default: procedural).")] = None,
    out: Annotated[Path, typer.Option(help="Output folder.")] = Path("runs/scenes-benchmark"),
) -> None:
    """The synthetic 3DP3 benchmark: ADD-S AUC, % < 1/2 cm, contact edges, time (JSON + plots)."""
    from simlab.scenes.benchmark import METHODS, run_benchmark

    ms = tuple(m.strip() for m in methods.split(",") if m.strip())
    bad = [m for m in ms if m not in METHODS]
    if bad:
        raise ConfigError(f"unknown method(s) {bad}; choose from {', '.join(METHODS)}")
    if {"icp", "icp_multi"} & set(ms):
        from simlab.scenes.o3d_icp import import_error

        if (err := import_error()) is not None:
            raise ConfigError(
                f"methods icp/icp_multi use Open3D, which does not import ({err}); install "
                "open3d-cpu (and libusb-1.0-0) or use --methods icp_jax,3dp3_star,3dp3"
            )
    if init not in ("perturbed", "bottomup"):
        raise ConfigError(f"--init must be perturbed or bottomup, not {init!r}")
    res = run_benchmark(
        [s.strip() for s in splits.split(",")], n, ms, init, sweeps, seed, _ycb_root(ycb), out
    )
    typer.echo(json.dumps(res, indent=1))
