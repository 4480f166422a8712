"""The observation function as of commit 2b536b8 (before per-agent values were materialised),
kept verbatim (minus its module doc) as the oracle that ``test_observe`` compares the optimised
``simlab.drive.observe.observe`` against."""

from __future__ import annotations

import jax.numpy as jnp

from simlab.drive import rng, trig
from simlab.drive.bank import MapBank, cell_candidates, route_distance
from simlab.drive.config import EnvConfig
from simlab.drive.partners import select_partners
from simlab.drive.scenario import quad_frame, stop_states
from simlab.drive.state import REWARD_RANGES, WorldState

__all__ = ["OBS_DIMS", "observe"]

f32 = jnp.float32
OBS_DIMS = dict(ego=14, goals=6, lanes=10, boundary=6, stops=11, agents=10)


def _normal(seed, *idx):
    u1 = jnp.maximum(rng.hash_uniform(seed, *idx, 1), 1e-7)
    u2 = rng.hash_uniform(seed, *idx, 2)
    return jnp.sqrt(-2.0 * jnp.log(u1)) * trig.sincos(2 * jnp.pi * u2)[1]


def _ego_frame(px, py, x, y, c, s):
    dx, dy = px - x, py - y
    return c * dx + s * dy, -s * dx + c * dy


def observe(bank: MapBank, cfg: EnvConfig, state: WorldState, partners=None, key=None) -> dict:
    """Observation blocks (see module doc) for every slot; ``active`` [W, A] marks real ones.

    partners: optional [W, A, n_partners] indices from ``select_partners`` (recomputed when
    omitted); key: optional PRNG key mixed into the dropout/noise seed (default: the
    state's key alone)."""
    w, a = state.x.shape
    m = state.map_id[:, None]
    x, y, z, psi = state.x, state.y, state.z, state.psi
    s, c = trig.sincos(psi)
    ex = lambda v: v[..., None]  # noqa: E731
    seed = state.key if key is None else rng.fold_in(state.key, rng.from_key(key))
    wi = jnp.arange(w, dtype=jnp.int32)[:, None]
    ai = jnp.arange(a, dtype=jnp.int32)[None, :]
    agent_id = wi * a + ai  # [W, A]

    # --- ego -------------------------------------------------------------------------------
    fr = quad_frame(bank, state.quad, x, y, psi)
    ego = jnp.stack(
        [fr["offset"] / 5, fr["heading_error"], fr["curvature"] * 10, state.v / 30,
         fr["speed_limit"] / 30, state.phi, state.a_long / 5, state.a_lat / 4, state.c_acc,
         state.c_throttle, state.c_steer, state.c_vel, state.length / 7, state.width / 3],
        -1,
    )  # fmt: skip

    # --- goals -----------------------------------------------------------------------------
    g = cfg.n_goals
    k = state.goal_idx[..., None] + jnp.arange(g)[None, None]  # [W, A, G]
    valid_g = k < state.n_targets[..., None]
    kc = jnp.minimum(k, g - 1)
    gxyz = jnp.take_along_axis(state.goal_xyz, kc[..., None], 2)
    glane = jnp.take_along_axis(state.goal_lane, kc, 2)
    gs = jnp.take_along_axis(state.goal_s, kc, 2)
    prev_lane = jnp.concatenate([fr["lane"][..., None], glane[..., :-1]], -1)
    prev_s = jnp.concatenate([fr["s"][..., None], gs[..., :-1]], -1)
    legs = jnp.where(valid_g, route_distance(bank, prev_lane, prev_s, glane, gs), 0.0)
    gx, gy = _ego_frame(gxyz[..., 0], gxyz[..., 1], ex(x), ex(y), ex(c), ex(s))
    goals = jnp.stack(
        [gx / 100, gy / 100, (gxyz[..., 2] - ex(z)) / 10,
         (k == state.n_targets[..., None] - 1).astype(f32), jnp.cumsum(legs, -1) / 1000,
         valid_g.astype(f32)], -1,
    ) * valid_g[..., None]  # fmt: skip
    cur_lane, cur_s = glane[..., 0], gs[..., 0]
    ego_route = legs[..., 0]

    # --- own conditioning --------------------------------------------------------------------
    lo = jnp.asarray([r[0] for r in REWARD_RANGES.values()], f32)
    hi = jnp.asarray([r[1] for r in REWARD_RANGES.values()], f32)
    coef = (state.coef - lo) / (hi - lo)

    xy = jnp.stack([x, y], -1)
    # --- lanes -----------------------------------------------------------------------------
    cand = cell_candidates(bank.lane_grid, m, xy)  # [W, A, K]
    cid = jnp.maximum(cand, 0)
    st, en = bank.r_start[cid], bank.r_end[cid]
    sx, sy = _ego_frame(st[..., 0], st[..., 1], ex(x), ex(y), ex(c), ex(s))
    tx, ty = _ego_frame(en[..., 0], en[..., 1], ex(x), ex(y), ex(c), ex(s))
    mid2 = (0.5 * (sx + tx)) ** 2 + (0.5 * (sy + ty)) ** 2
    valid_l = (cand >= 0) & (mid2 <= cfg.obs_radius**2)
    if cfg.training and cfg.lane_dropout > 0:
        keep = rng.hash_uniform(seed, ex(agent_id), jnp.arange(cand.shape[-1]), 11)
        valid_l &= keep >= cfg.lane_dropout
    rd = route_distance(bank, bank.r_lane[cid], bank.r_s[cid], ex(cur_lane), ex(cur_s))
    lanes = jnp.stack(
        [sx / 100, sy / 100, tx / 100, ty / 100, (st[..., 2] - ex(z)) / 10,
         bank.r_width[cid] / 5, bank.r_speed[cid] / 30, rd / 1000, (rd - ex(ego_route)) / 1000,
         valid_l.astype(f32)], -1,
    ) * valid_l[..., None]  # fmt: skip
    lanes = lanes[..., : cfg.n_lanes, :]

    # --- boundary ----------------------------------------------------------------------------
    cand = cell_candidates(bank.boundary_grid, m, xy)
    cid = jnp.maximum(cand, 0)
    bxy, bd = bank.b_xy[cid], bank.b_dir[cid]
    bx, by = _ego_frame(bxy[..., 0], bxy[..., 1], ex(x), ex(y), ex(c), ex(s))
    valid_b = (cand >= 0) & (bx * bx + by * by <= cfg.obs_radius**2)
    if cfg.training and cfg.boundary_dropout > 0:
        keep = rng.hash_uniform(seed, ex(agent_id), jnp.arange(cand.shape[-1]), 13)
        valid_b &= keep >= cfg.boundary_dropout
    bcos = bd[..., 0] * ex(c) + bd[..., 1] * ex(s)
    bsin = -bd[..., 0] * ex(s) + bd[..., 1] * ex(c)
    boundary = (
        jnp.stack(
            [bx / 100, by / 100, bcos, bsin, (bank.b_z[cid] - ex(z)) / 10, valid_b.astype(f32)], -1
        )
        * valid_b[..., None]
    )
    boundary = boundary[..., : cfg.n_boundary, :]

    # --- stop lines and lights ---------------------------------------------------------------
    cand = cell_candidates(bank.stop_grid, m, xy)  # [W, A, 8]
    cid = jnp.maximum(cand, 0)
    sa, sb = bank.s_a[cid], bank.s_b[cid]
    lx, ly = (sa - sb)[..., 1], -(sa - sb)[..., 0]  # lane direction at the stop line
    ok = (cand >= 0) & (lx * ex(c) + ly * ex(s) > 0)
    rank = jnp.cumsum(ok, -1) - 1
    picks = [jnp.argmax(ok & (rank == i), -1) for i in range(cfg.n_stops)]
    pick = jnp.stack(picks, -1)
    # slot i is filled iff more than i candidates pass (argmax of an empty mask returns 0)
    has = jnp.arange(cfg.n_stops) < jnp.sum(ok, -1, keepdims=True)
    sid = jnp.where(has, jnp.take_along_axis(cand, pick, -1), -1)
    sidc = jnp.maximum(sid, 0)
    light = stop_states(bank, cfg, state, sid)
    ax_, ay_ = _ego_frame(
        bank.s_a[sidc][..., 0], bank.s_a[sidc][..., 1], ex(x), ex(y), ex(c), ex(s)
    )
    bx_, by_ = _ego_frame(
        bank.s_b[sidc][..., 0], bank.s_b[sidc][..., 1], ex(x), ex(y), ex(c), ex(s)
    )
    onehot = (light[..., None] == jnp.arange(4)[None, None, None]).astype(f32)
    stops = jnp.concatenate(
        [jnp.stack([ax_ / 100, ay_ / 100, bx_ / 100, by_ / 100,
                    (bank.s_z[sidc] - ex(z)) / 10, (bank.s_junc[sidc] >= 0).astype(f32)], -1),
         onehot, has[..., None].astype(f32)], -1,
    ) * has[..., None]  # fmt: skip

    # --- other agents ------------------------------------------------------------------------
    if partners is None:
        partners = select_partners(x, y, state.present, cfg.n_partners, cfg.obs_radius)
    pid = jnp.maximum(partners, 0)
    gat = lambda v: jnp.take_along_axis(v, pid.reshape(w, -1), 1).reshape(pid.shape)  # noqa: E731
    valid_a = (partners >= 0) & ~ex(state.blind)
    slot = jnp.arange(partners.shape[-1])
    sc = cfg.noise_scale
    px = gat(x) + sc * cfg.sigma_pos * _normal(seed, ex(agent_id), slot, 21)
    py = gat(y) + sc * cfg.sigma_pos * _normal(seed, ex(agent_id), slot, 22)
    pp = gat(psi) + sc * cfg.sigma_psi * _normal(seed, ex(agent_id), slot, 23)
    pv = gat(state.v) + sc * cfg.sigma_v * _normal(seed, ex(agent_id), slot, 24)
    rx, ry = _ego_frame(px, py, ex(x), ex(y), ex(c), ex(s))
    dpsi = pp - ex(psi)
    sin_d, cos_d = trig.sincos(dpsi)
    agents = jnp.stack(
        [rx / 100, ry / 100, (gat(z) - ex(z)) / 10, cos_d, sin_d,
         pv * cos_d / 30, pv * sin_d / 30, gat(state.length) / 7,
         gat(state.width) / 3, valid_a.astype(f32)], -1,
    ) * valid_a[..., None]  # fmt: skip
    return dict(
        ego=ego.astype(f32),
        goals=goals.astype(f32),
        coef=coef.astype(f32),
        lanes=lanes.astype(f32),
        boundary=boundary.astype(f32),
        stops=stops.astype(f32),
        agents=agents.astype(f32),
        active=state.active,
    )
