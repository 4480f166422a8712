"""Top-down rendering of a world: a PNG of one frame and an animated GIF of a rollout.

    paths = render_rollout("out", "town", steps=60, agents=24)   # -> [png, gif]

Drawn: the drivable area (the map's raster), lane centre lines, road-edge points, stop lines
coloured by their light state (red / yellow / green; grey when off, dashed for yield lines),
agents as oriented boxes coloured by their conditioning (α_collision, the weight of the
collision penalty: low = reckless, high = cautious), erratic drivers outlined (blind: dashed
black, phantom braker: red), each agent's current target joined to it by a thin line, and
events of the last steps: collisions (red ×), off-road (orange ×), red-light violations
(magenta ▲), goals (green ★) and waypoints (green +).

The rollout is driven by ``lane_keeping_actions``, a hand-written controller (lane-centre
and heading feedback, a speed target of half the limit) mapped onto the 12 discrete
actions; it is a renderer's placeholder, not a learned policy. Pillow (which ships with
matplotlib) writes the GIF.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from simlab.core.errors import ConfigError

__all__ = [
    "draw_frame",
    "final_figure",
    "lane_keeping_actions",
    "load_map",
    "render_rollout",
    "rollout",
    "write_gif",
]

LIGHT_COLOURS = {0: "#d62728", 1: "#ffbf00", 2: "#2ca02c", 3: "#9a9a9a"}  # R, Y, G, off
EVENT_STYLE = {
    "collision": dict(marker="x", color="#d62728", s=70, linewidths=2.5),
    "offroad": dict(marker="x", color="#ff7f0e", s=60, linewidths=2.0),
    "red_light": dict(marker="^", color="#c20fc2", s=55),
    "goal": dict(marker="*", color="#1a9b1a", s=120),
    "waypoint": dict(marker="+", color="#1a9b1a", s=70, linewidths=2.0),
}


def load_map(name: str, seed: int = 0):
    """A built ``MapData``: a procedural ``town``/``highway``/``roundabout`` (seeded) or a
    SUMO ``.net.xml`` file path."""
    from simlab.drive.mapdata import build_map
    from simlab.drive.procgen import grid_town, highway, roundabout

    makers = {"town": grid_town, "highway": highway, "roundabout": roundabout}
    if name in makers:
        return build_map(makers[name](seed))
    path = Path(name)
    if path.suffix != ".xml" and not path.name.endswith(".net.xml"):
        raise ConfigError(f"--map {name}: expected town, highway, roundabout or a .net.xml file")
    from simlab.drive.sumo import load_sumo

    return build_map(load_sumo(path))


def lane_keeping_actions(bank, state):
    """Discrete actions [W, A] of a simple lane-keeping controller (not a learned policy).

    Targets half the lane's speed limit; steers toward the lane centre along its curvature:
    κ* = κ_lane − 0.05·offset − 0.4·heading error (1/m), a_lat* = κ*·v². Each jerk is the
    one of the action grid closest to (a* − a)/0.3 s."""
    import jax.numpy as jnp

    from simlab.drive.dynamics import LAT_JERKS, LONG_JERKS
    from simlab.drive.scenario import quad_frame

    fr = quad_frame(bank, jnp.maximum(state.quad, 0), state.x, state.y, state.psi)
    a_long = jnp.clip(0.6 * (0.5 * fr["speed_limit"] - state.v), -3.0, 1.5)
    kappa = fr["curvature"] - 0.05 * fr["offset"] - 0.4 * fr["heading_error"]
    a_lat = jnp.clip(kappa * state.v * state.v, -3.0, 3.0)

    def nearest(target, grid):
        g = jnp.asarray(grid, jnp.float32)
        return jnp.argmin(jnp.abs(target[..., None] - g), -1)

    i_long = nearest((a_long - state.a_long) / 0.3, LONG_JERKS)
    i_lat = nearest((a_lat - state.a_lat) / 0.3, LAT_JERKS)
    return (3 * i_long + i_lat).astype(jnp.int32)


def load_driver(path: str | Path):
    """(JAX ActorCritic, EnvConfig fields) of a policy exported by ``simlab drive train``:
    ``path`` is a run folder (its ``artefacts/policy``) or a ``policy.npz``/``.json`` file.
    The fields are the training run's simulator settings (observation counts, goal rules),
    recorded in the policy's meta; empty when it has none."""
    from simlab.core.errors import DataError
    from simlab.drive.learn.interface import DrivingPolicy, to_jax

    path = Path(path)
    stem = path / "artefacts" / "policy" if path.is_dir() else path.with_suffix("")
    if not stem.with_suffix(".npz").exists():
        raise DataError(f"--policy {path}: no policy file {stem.with_suffix('.npz')}")
    dp = DrivingPolicy.load(stem)
    return to_jax(dp), dict(dp.config.get("meta", {}).get("env", {}))


def policy_actions(policy, bank, cfg):
    """A function state -> greedy actions [W, A] of ``policy`` (an ActorCritic) on the
    simulator's observations (``simenv.to_blocks``, the learner's own view)."""
    import jax.numpy as jnp

    from simlab.drive.learn.simenv import to_blocks
    from simlab.drive.observe import observe

    def act(state):
        return jnp.argmax(policy.actor(to_blocks(observe(bank, cfg, state))), -1).astype(jnp.int32)

    return act


def rollout(
    mapdata, steps: int, agents: int, seed: int = 0, policy=None, env_fields: dict | None = None
) -> dict:
    """Roll one world out for ``steps`` steps under ``lane_keeping_actions``, or under
    ``policy`` (an ActorCritic, greedy actions) in a simulator configured by ``env_fields``
    (``EnvConfig`` fields of its training run; ``n_agents``, the agent count and
    ``training`` are set here).

    Returns NumPy arrays over time: poses x, y, psi [T+1, A], length, width, present,
    blind, braker [T+1, A], conditioning α_collision [T+1, A], current target xy
    [T+1, A, 2], light states of every stop line [T+1, S], and per step t (transition
    t → t+1) event flags [T, A], the actions taken ``action`` [T, A] and the agents' poses
    at t (where events are drawn)."""
    import dataclasses

    import jax
    import jax.numpy as jnp

    from simlab.drive import env
    from simlab.drive.bank import make_bank
    from simlab.drive.config import EnvConfig
    from simlab.drive.scenario import stop_states
    from simlab.drive.state import REWARD_NAMES

    bank = make_bank([mapdata])
    fields = {f.name for f in dataclasses.fields(EnvConfig)}
    base = {k: v for k, v in (env_fields or {}).items() if k in fields}
    base.update(n_agents=agents, min_agents=1, random_agent_count=False, training=False)
    cfg = EnvConfig(**base)
    drive = lane_keeping_actions if policy is None else None
    if policy is not None:
        pol_act = policy_actions(policy, bank, cfg)
        drive = lambda _bank, st: pol_act(st)  # noqa: E731
    n_stop = len(mapdata.s_a)
    i_col = REWARD_NAMES.index("collision")

    def snap(st):
        tgt = jnp.take_along_axis(st.goal_xyz, st.goal_idx[..., None, None], 2)[:, :, 0, :2]
        lights = stop_states(bank, cfg, st, jnp.arange(max(n_stop, 1))[None])
        return dict(
            x=st.x[0], y=st.y[0], psi=st.psi[0], length=st.length[0], width=st.width[0],
            present=st.present[0], blind=st.blind[0], braker=st.braker[0],
            alpha=st.coef[0, :, i_col], target=tgt[0], lights=lights[0],
        )  # fmt: skip

    def body(st, _):
        act = drive(bank, st)
        new, _, _, _, info = env.step(bank, cfg, st, act, with_obs=False)
        ev = {k: info[k][0] for k in EVENT_STYLE}
        ev["action"] = act[0]
        return new, (snap(new), ev, st.x[0], st.y[0])

    @jax.jit
    def run(key):
        st = env.reset(bank, cfg, key, 1)
        _, (frames, ev, ex, ey) = jax.lax.scan(body, st, None, length=steps)
        first = snap(st)
        frames = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, frames)
        return frames, ev, ex, ey

    frames, ev, ex, ey = jax.device_get(run(jax.random.key(seed)))
    out = {k: np.asarray(v) for k, v in frames.items()}
    out["lights"] = out["lights"][:, :n_stop]
    out["action"] = np.asarray(ev.pop("action"))
    out["events"] = {k: np.asarray(v) for k, v in ev.items()}
    out["event_x"], out["event_y"] = np.asarray(ex), np.asarray(ey)
    return out


def _box(x, y, psi, length, width) -> np.ndarray:
    c, s = np.cos(psi), np.sin(psi)
    local = np.array([[1, 1], [-1, 1], [-1, -1], [1, -1]]) * [0.5 * length, 0.5 * width]
    return np.stack(
        [x + c * local[:, 0] - s * local[:, 1], y + s * local[:, 0] + c * local[:, 1]], 1
    )


def _draw_map(ax, m) -> None:
    ny, nx = m.raster.shape
    extent = (m.raster_x0, m.raster_x0 + nx * m.raster_res, m.raster_y0, m.raster_y0 + ny * m.raster_res)  # fmt: skip  # noqa: E501
    ax.imshow(m.raster, origin="lower", extent=extent, cmap="Greys", vmin=-1.5, vmax=1.3,
              interpolation="nearest", zorder=0)  # fmt: skip
    for pts in m.lane_pts:
        ax.plot(pts[:, 0], pts[:, 1], color="white", lw=0.5, ls=(0, (4, 4)), zorder=1)
    if len(m.b_xy):
        ax.scatter(m.b_xy[:, 0], m.b_xy[:, 1], s=0.3, color="#333333", zorder=1, linewidths=0)
    ax.set_aspect("equal")
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.set_xticks([])
    ax.set_yticks([])


def draw_frame(ax, m, traj: dict, t: int, trail: int = 10) -> list:
    """Draw the dynamic layer of frame t (stop lines, agents, targets, recent events) on an
    axis that already shows the map; return the artists (to remove before the next frame)."""
    from matplotlib.collections import LineCollection, PolyCollection
    from matplotlib.colors import Normalize
    from matplotlib.pyplot import get_cmap

    arts = []
    if len(m.s_a):
        segs = np.stack([m.s_a, m.s_b], 1)
        colours = [LIGHT_COLOURS[int(v)] for v in traj["lights"][t]]
        styles = ["solid" if j >= 0 else "dashed" for j in m.s_junc]
        arts.append(ax.add_collection(LineCollection(segs, colors=colours, linewidths=2.5,
                                                     linestyles=styles, zorder=3)))  # fmt: skip
    on = traj["present"][t]
    if on.any():
        cmap, norm = get_cmap("viridis"), Normalize(0.0, 3.0)
        pose = [traj[k][t] for k in ("x", "y", "psi", "length", "width")]
        polys = [_box(*(v[i] for v in pose)) for i in np.flatnonzero(on)]
        faces = cmap(norm(traj["alpha"][t][on]))
        edges = np.where(traj["braker"][t][on, None], [[0.84, 0.15, 0.16, 1]], [[0, 0, 0, 1]])
        styles = ["dashed" if b else "solid" for b in traj["blind"][t][on]]
        arts.append(ax.add_collection(PolyCollection(polys, facecolors=faces, edgecolors=edges,
                                                     linewidths=0.8, linestyles=styles,
                                                     zorder=4)))  # fmt: skip
        tgt = traj["target"][t][on]
        lines = np.stack([np.stack([traj["x"][t][on], traj["y"][t][on]], 1), tgt], 1)
        arts.append(ax.add_collection(LineCollection(lines, colors=faces, linewidths=0.6,
                                                     alpha=0.6, zorder=2)))  # fmt: skip
        arts.append(ax.scatter(tgt[:, 0], tgt[:, 1], marker="o", s=12, facecolors="none",
                               edgecolors=faces, zorder=2))  # fmt: skip
    lo = max(0, t - trail)
    for name, style in EVENT_STYLE.items():
        flags = traj["events"][name][lo:t]
        if flags.any():
            ex, ey = traj["event_x"][lo:t][flags], traj["event_y"][lo:t][flags]
            arts.append(ax.scatter(ex, ey, zorder=5, **style))
    return arts


def _figure(m, title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    fig, ax = plt.subplots(figsize=(6.4, 6.0), dpi=100)
    _draw_map(ax, m)
    ax.set_title(title, fontsize=9)
    sm = ScalarMappable(norm=Normalize(0.0, 3.0), cmap="viridis")
    fig.colorbar(sm, ax=ax, fraction=0.04, pad=0.02, label="α_collision (conditioning)")
    fig.tight_layout()
    return fig, ax


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def final_figure(m, traj: dict):
    """A figure of the last frame with the events of the whole rollout."""
    steps = len(traj["events"]["collision"])
    fig, ax = _figure(m, m.name)  # a title reserves its space in the layout
    draw_frame(ax, m, traj, steps, trail=steps)
    ax.set_title(f"{m.name} after {steps * 0.3:.1f} s; events of the whole rollout", fontsize=9)
    return fig


def write_gif(
    path: str | Path, m, traj: dict, every: int = 2, driver: str = "lane-keeping controller"
) -> Path:
    """An animated GIF of frames t = 0, every, 2·every, ... ≤ T (``T // every + 1`` frames,
    ``every`` × 0.3 s per frame, looping); ``driver`` names who drives, in each title."""
    import matplotlib.pyplot as plt
    from PIL import Image

    steps = len(traj["events"]["collision"])
    fig, ax = _figure(m, m.name)
    frames = []
    for t in range(0, steps + 1, every):
        arts = draw_frame(ax, m, traj, t)
        ax.set_title(f"{m.name}  t = {t * 0.3:5.1f} s  ({driver})", fontsize=9)
        frames.append(Image.fromarray(_pixels(fig)))
        for art in arts:
            art.remove()
    plt.close(fig)
    path = Path(path)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=300 * every, loop=0)
    return path


def render_rollout(
    out: str | Path, map_name: str = "town", steps: int = 60, agents: int = 24,
    seed: int = 0, every: int = 2, policy: str | Path | None = None,
) -> list[Path]:  # fmt: skip
    """Roll a world out and write ``<out>/<map>.png`` (``final_figure``) and
    ``<out>/<map>.gif`` (``write_gif``). Returns both paths. ``policy``: a run folder or
    policy file of ``simlab drive train`` (``load_driver``) to drive every agent instead of
    the lane-keeping controller."""
    import matplotlib.pyplot as plt

    m = load_map(map_name, seed)
    driver = "lane-keeping controller"
    if policy is None:
        traj = rollout(m, steps, agents, seed)
    else:
        net, env_fields = load_driver(policy)
        traj = rollout(m, steps, agents, seed, policy=net, env_fields=env_fields)
        driver = "learned policy"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(m.name).name.replace(".net.xml", "") or "world"
    fig = final_figure(m, traj)
    png = out / f"{stem}.png"
    fig.savefig(png)
    plt.close(fig)
    return [png, write_gif(out / f"{stem}.gif", m, traj, every, driver)]
