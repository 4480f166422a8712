"""Ego-centric observations (spec §6), a pure function of the world state.

``observe(bank, cfg, state)`` returns a dict of float32 blocks, each [W, A, ...]; set blocks
end with a ``valid`` column (1 = present) so a Deep-Sets encoder can mask-max-pool:

- ``ego`` [14]: lateral offset/5, angle to lane, curvature·10, v/30, v_lim/30, φ, a_long/5, a_lat/4,
  C_acc, C_throttle, C_steer, C_vel, l/7, w/3
- ``goals`` [G, 6]: x/100, y/100, Δz/10, is_final, route distance/1000, valid
- ``coef`` [N_REWARD]: the agent's own reward coefficients scaled to [0, 1] by their ranges
- ``lanes`` [80, 10]: start x, y, end x, y (/100), Δz/10, width/5, v_lim/30, route distance to the
  current target /1000 (absolute, and minus the ego's), valid
- ``boundary`` [80, 6]: x/100, y/100, direction cos, sin, Δz/10, valid
- ``stops`` [4, 11]: endpoints (4, /100), Δz/10, type (1 light, 0 yield), state one-hot R/Y/G/off,
  valid
- ``agents`` [N, 10]: x/100, y/100, Δz/10, relative heading cos, sin, velocity x, y (/30), l/7, w/3,
  valid

Positions and directions are in the agent's frame (x forward, y left). Goals list the
remaining targets from the current one; route distances are cumulative along them.

Training perturbations (``cfg.training``): lane rows dropped with p = lane_dropout, boundary
rows with p = boundary_dropout. Partner states get Gaussian noise (σ_pos, σ_ψ, σ_v, scaled by
``noise_scale``) always. Randomness comes from a counter hash of (state.key, world, agent,
row), so observations are a deterministic function of the state: a learner rebuilding them
from stored states sees exactly what the actor saw. Blind agents see no partners.
"""

from __future__ import annotations

import jax.numpy as jnp

from simlab.drive import rng, trig
from simlab.drive.bank import MapBank, cell_candidates, cell_row, route_distance
from simlab.drive.config import EnvConfig
from simlab.drive.fusion import fused_stack, materialise
from simlab.drive.partners import select_partners
from simlab.drive.scenario import ASSOC_WIDTH, quad_claims, quad_coords, quad_frame, stop_states
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


class _Ego:
    """Per-agent quantities every block shares: pose, heading cos/sin, seeds and ids."""

    def __init__(self, state: WorldState, key=None):
        w, a = state.x.shape
        self.w, self.a = w, a
        self.m = state.map_id[:, None]
        self.x, self.y, self.z, self.psi = state.x, state.y, state.z, state.psi
        self.seed = state.key if key is None else rng.fold_in(state.key, rng.from_key(key))
        wi = jnp.arange(w, dtype=jnp.int32)[:, None]
        ai = jnp.arange(a, dtype=jnp.int32)[None, :]
        self.agent_id = wi * a + ai  # [W, A]
        # per-agent values are materialised once: fused into a [W, A, K, F] block, they
        # would be recomputed for every row and column (measured: trig and hashes of the
        # ego, 480 times per agent in the boundary block)
        self.token = state.step[0].astype(f32)  # int as float: finite (``fusion.materialise``)
        self.s, self.c, self.agent_hash = materialise(
            (*trig.sincos(state.psi), rng.hash_state(self.seed, self.agent_id)), self.token
        )
        self.xy = jnp.stack([state.x, state.y], -1)

    def frame(self, px, py):
        """Points (px, py) [W, A, ...] in each agent's frame."""
        e = lambda v: v.reshape(v.shape + (1,) * (px.ndim - 2))  # noqa: E731
        return _ego_frame(px, py, e(self.x), e(self.y), e(self.c), e(self.s))


def route_quad(bank: MapBank, state: WorldState, fr: dict) -> jnp.ndarray:
    """Quad [W, A] the ego block describes under ``ego_lane = "route"``: among the quads
    under the agent (the first ``ASSOC_WIDTH`` candidates of its cell) heading within 90° of
    it, the one with the shortest route to its current target; the associated quad
    (``fr["quad"]``) unless another is more than 1 m shorter.

    Why: in a junction the connectors overlap, and the associated quad (best heading
    match) is the straight-on connector until the car has turned, so offset, angle and
    curvature describe the road it is leaving; on its route they describe the turn ahead.
    """
    ex = lambda v: v[..., None]  # noqa: E731
    k = jnp.minimum(state.goal_idx, state.goal_lane.shape[-1] - 1)[..., None]
    g_lane = jnp.take_along_axis(state.goal_lane, k, -1)[..., 0]
    g_s = jnp.take_along_axis(state.goal_s, k, -1)[..., 0]
    grid = bank.quad_grid
    xy = jnp.stack([state.x, state.y], -1)
    row = cell_row(grid, jnp.broadcast_to(state.map_id[:, None], state.x.shape), xy)
    cand = grid.rows[row, :ASSOC_WIDTH]  # [W, A, K]
    qc = jnp.maximum(cand, 0)
    pk = bank.q_pack[qc]
    t, d = quad_coords(pk, ex(state.x), ex(state.y))
    sin_p, cos_p = trig.sincos(state.psi)
    under = (cand >= 0) & quad_claims(pk, t, d)
    under &= pk[..., 4] * ex(cos_p) + pk[..., 5] * ex(sin_p) > 0
    rd = route_distance(
        bank, bank.q_lane[qc], bank.q_s0[qc] + jnp.clip(t, 0.0, pk[..., 6]), ex(g_lane), ex(g_s)
    )
    rd = jnp.where(under, rd, jnp.inf)
    best = jnp.argmin(rd, -1)[..., None]
    cur = route_distance(bank, fr["lane"], fr["s"], g_lane, g_s)
    shorter = jnp.take_along_axis(rd, best, -1)[..., 0] < cur - 1.0
    return jnp.where(shorter, jnp.take_along_axis(cand, best, -1)[..., 0], fr["quad"])


def ego_block(state: WorldState, fr: dict) -> jnp.ndarray:
    """``ego`` [W, A, 14] from the agent's lane frame ``fr`` (``quad_frame``)."""
    return jnp.stack(
        [fr["offset"] / 5, fr["heading_error"], fr["curvature"] * 10, state.v / 30,
         fr["speed_limit"] / 30, state.phi, state.a_long / 5, state.a_lat / 4, state.c_acc,
         state.c_throttle, state.c_steer, state.c_vel, state.length / 7, state.width / 3],
        -1,
    )  # fmt: skip


def goal_block(bank: MapBank, cfg: EnvConfig, state: WorldState, e: _Ego, fr: dict):
    """(``goals`` [W, A, G, 6], current target lane [W, A], its s [W, A], route distance of
    the ego to it [W, A] (m))."""
    ex = lambda v: v[..., None]  # noqa: E731
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
    gx, gy = e.frame(gxyz[..., 0], gxyz[..., 1])
    goals = jnp.stack(
        [gx / 100, gy / 100, (gxyz[..., 2] - ex(e.z)) / 10,
         (k == state.n_targets[..., None] - 1).astype(f32), jnp.cumsum(legs, -1) / 1000,
         valid_g.astype(f32)], -1,
    ) * valid_g[..., None]  # fmt: skip
    return goals, glane[..., 0], gs[..., 0], legs[..., 0]


def coef_block(state: WorldState) -> jnp.ndarray:
    """``coef`` [W, A, N_REWARD]: own reward coefficients scaled to [0, 1]."""
    lo = jnp.asarray([r[0] for r in REWARD_RANGES.values()], f32)
    hi = jnp.asarray([r[1] for r in REWARD_RANGES.values()], f32)
    return (state.coef - lo) / (hi - lo)


def lane_block(bank: MapBank, cfg: EnvConfig, e: _Ego, cur_lane, cur_s, ego_route):
    """``lanes`` [W, A, n_lanes, 10]; cur_lane, cur_s, ego_route [W, A] from ``goal_block``."""
    ex = lambda v: v[..., None]  # noqa: E731
    cand = cell_candidates(bank.lane_grid, e.m, e.xy)  # [W, A, K]
    cid = jnp.maximum(cand, 0)
    st, en = bank.r_start[cid], bank.r_end[cid]
    sx, sy = e.frame(st[..., 0], st[..., 1])
    tx, ty = e.frame(en[..., 0], en[..., 1])
    mid2 = (0.5 * (sx + tx)) ** 2 + (0.5 * (sy + ty)) ** 2
    valid_l = (cand >= 0) & (mid2 <= cfg.obs_radius**2)
    if cfg.training and cfg.lane_dropout > 0:
        keep = rng.hash_uniform(ex(e.agent_hash), jnp.arange(cand.shape[-1]), 11)
        valid_l &= keep >= cfg.lane_dropout
    rd = route_distance(bank, bank.r_lane[cid], bank.r_s[cid], ex(cur_lane), ex(cur_s))
    valid_l, rd = materialise((valid_l, rd), e.token)
    lanes = fused_stack(
        [sx / 100, sy / 100, tx / 100, ty / 100, (st[..., 2] - ex(e.z)) / 10,
         bank.r_width[cid] / 5, bank.r_speed[cid] / 30, rd / 1000, (rd - ex(ego_route)) / 1000,
         valid_l.astype(f32)],
    ) * valid_l[..., None]  # fmt: skip
    return lanes[..., : cfg.n_lanes, :]


def boundary_block(bank: MapBank, cfg: EnvConfig, e: _Ego) -> jnp.ndarray:
    """``boundary`` [W, A, n_boundary, 6]."""
    ex = lambda v: v[..., None]  # noqa: E731
    cand = cell_candidates(bank.boundary_grid, e.m, e.xy)
    cid = jnp.maximum(cand, 0)
    bxy, bd = bank.b_xy[cid], bank.b_dir[cid]
    bx, by = e.frame(bxy[..., 0], bxy[..., 1])
    valid_b = (cand >= 0) & (bx * bx + by * by <= cfg.obs_radius**2)
    if cfg.training and cfg.boundary_dropout > 0:
        keep = rng.hash_uniform(ex(e.agent_hash), jnp.arange(cand.shape[-1]), 13)
        valid_b &= keep >= cfg.boundary_dropout
    valid_b = materialise(valid_b, e.token)
    c, s = ex(e.c), ex(e.s)
    bcos = bd[..., 0] * c + bd[..., 1] * s
    bsin = -bd[..., 0] * s + bd[..., 1] * c
    boundary = (
        jnp.stack(
            [bx / 100, by / 100, bcos, bsin, (bank.b_z[cid] - ex(e.z)) / 10, valid_b.astype(f32)],
            -1,
        )
        * valid_b[..., None]
    )
    return boundary[..., : cfg.n_boundary, :]


def stop_block(bank: MapBank, cfg: EnvConfig, state: WorldState, e: _Ego) -> jnp.ndarray:
    """``stops`` [W, A, n_stops, 11]."""
    ex = lambda v: v[..., None]  # noqa: E731
    cand = cell_candidates(bank.stop_grid, e.m, e.xy)  # [W, A, 8]
    cid = jnp.maximum(cand, 0)
    sa, sb = bank.s_a[cid], bank.s_b[cid]
    lx, ly = (sa - sb)[..., 1], -(sa - sb)[..., 0]  # lane direction at the stop line
    ok = (cand >= 0) & (lx * ex(e.c) + ly * ex(e.s) > 0)
    rank = jnp.cumsum(ok, -1) - 1
    picks = [jnp.argmax(ok & (rank == i), -1) for i in range(cfg.n_stops)]
    pick = jnp.stack(picks, -1)
    # slot i is filled iff more than i candidates pass (argmax of an empty mask returns 0)
    has = jnp.arange(cfg.n_stops) < jnp.sum(ok, -1, keepdims=True)
    sid = jnp.where(has, jnp.take_along_axis(cand, pick, -1), -1)
    sidc = jnp.maximum(sid, 0)
    light, has, sidc = materialise((stop_states(bank, cfg, state, sid), has, sidc), e.token)
    ax_, ay_ = e.frame(bank.s_a[sidc][..., 0], bank.s_a[sidc][..., 1])
    bx_, by_ = e.frame(bank.s_b[sidc][..., 0], bank.s_b[sidc][..., 1])
    onehot = (light[..., None] == jnp.arange(4)[None, None, None]).astype(f32)
    return jnp.concatenate(
        [jnp.stack([ax_ / 100, ay_ / 100, bx_ / 100, by_ / 100,
                    (bank.s_z[sidc] - ex(e.z)) / 10, (bank.s_junc[sidc] >= 0).astype(f32)], -1),
         onehot, has[..., None].astype(f32)], -1,
    ) * has[..., None]  # fmt: skip


def agent_block(cfg: EnvConfig, state: WorldState, e: _Ego, partners) -> jnp.ndarray:
    """``agents`` [W, A, n_partners, 10] from partner indices [W, A, n_partners]."""
    ex = lambda v: v[..., None]  # noqa: E731
    w = e.w
    pid = jnp.maximum(partners, 0)
    gat = lambda v: jnp.take_along_axis(v, pid.reshape(w, -1), 1).reshape(pid.shape)  # noqa: E731
    valid_a = (partners >= 0) & ~ex(state.blind)
    slot = jnp.arange(partners.shape[-1])
    sc = cfg.noise_scale
    h = ex(e.agent_hash)  # = hash_state(seed, agent_id): the same draws as (seed, id, ...)
    px = gat(e.x) + sc * cfg.sigma_pos * _normal(h, slot, 21)
    py = gat(e.y) + sc * cfg.sigma_pos * _normal(h, slot, 22)
    pp = gat(e.psi) + sc * cfg.sigma_psi * _normal(h, slot, 23)
    pv = gat(state.v) + sc * cfg.sigma_v * _normal(h, slot, 24)
    rx, ry = e.frame(px, py)
    dpsi = pp - ex(e.psi)
    sin_d, cos_d = trig.sincos(dpsi)
    rx, ry, sin_d, cos_d, pv, valid_a = materialise((rx, ry, sin_d, cos_d, pv, valid_a), e.token)
    return fused_stack(
        [rx / 100, ry / 100, (gat(e.z) - ex(e.z)) / 10, cos_d, sin_d,
         pv * cos_d / 30, pv * sin_d / 30, gat(state.length) / 7,
         gat(state.width) / 3, valid_a.astype(f32)],
    ) * valid_a[..., None]  # fmt: skip


def observe(bank: MapBank, cfg: EnvConfig, state: WorldState, partners=None, key=None) -> dict:
    """Observation blocks (see module doc) for every slot; ``active`` [W, A] marks real ones.

    partners: optional [W, A, n_partners] indices from ``select_partners`` (recomputed when
    omitted); key: optional PRNG key mixed into the dropout/noise seed (default: the
    state's key alone)."""
    e = _Ego(state, key)
    fr = quad_frame(bank, state.quad, e.x, e.y, e.psi)
    if cfg.ego_lane == "route":
        fr = quad_frame(bank, route_quad(bank, state, fr), e.x, e.y, e.psi)
    goals, cur_lane, cur_s, ego_route = goal_block(bank, cfg, state, e, fr)
    if partners is None:
        partners = select_partners(
            e.x, e.y, state.present, cfg.n_partners, cfg.obs_radius, cfg.partner_select
        )
    return dict(
        ego=ego_block(state, fr).astype(f32),
        goals=goals.astype(f32),
        coef=coef_block(state).astype(f32),
        lanes=lane_block(bank, cfg, e, cur_lane, cur_s, ego_route).astype(f32),
        boundary=boundary_block(bank, cfg, e).astype(f32),
        stops=stop_block(bank, cfg, state, e).astype(f32),
        agents=agent_block(cfg, state, e, partners).astype(f32),
        active=state.active,
    )
