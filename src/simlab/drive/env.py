"""The functional core: ``reset`` and ``step`` over a ``WorldState`` pytree (spec §1, §4, §5).

    state = reset(bank, cfg, key, n_worlds)
    state, obs, reward, done, info = step(bank, cfg, state, actions)

Both are pure and jit-able with ``cfg`` static (``jax.jit(step, static_argnums=1)``); every
array has a static shape [W, A, ...]. ``actions`` are int32 indices in [0, 12) of shape
[W, A] (entries of inactive slots are ignored). Rewards, done flags and ``info`` refer to the
transition s_t → s_{t+1}; ``obs`` is the observation of s_{t+1}, where finished agents have
already been replaced (auto-reset, as in Gymnasium vector environments).

Step order: erratic braking override → dynamics → lane association → events (swept
collisions over all pairs, off-road, red light, wrong way, goals) → rewards → incident handling
(``on_collision``/``on_offroad``: remove | stop | ignore; final goal: new life in place) →
world resets (episode limit or too many stopped agents; each world on its own) →
refilling at most ``respawn_per_step`` slots per world → observations.

``info`` [W, A] arrays: ``valid`` (active at s_t: the transition counts), ``erratic`` (exclude
from PPO), ``terminated`` (no bootstrap), ``truncated`` (bootstrap with V(s_{t+1}) of the old
life: use ``info['final_obs']`` only if needed; by default the policy bootstraps from
``obs`` for non-terminated agents), event flags, ``dist`` (m), and the finished life's
``life_steps`` / ``life_dist`` on done.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from simlab.drive import rng, trig
from simlab.drive.bank import MapBank, cell_candidates, raster_lookup
from simlab.drive.config import EnvConfig
from simlab.drive.dynamics import action_jerks, bicycle_step
from simlab.drive.fusion import few_rows, materialise
from simlab.drive.geometry import (
    box_corners,
    boxes_overlap,
    swept_collision_cs,
    swept_reach,
)
from simlab.drive.observe import observe
from simlab.drive.reward import reward_terms
from simlab.drive.scenario import (
    RED,
    YELLOW,
    associate,
    sample_goals,
    sample_lights,
    sample_points,
    sample_reward_coefs,
    sample_vehicles,
    spawn_slots,
    stop_states,
)
from simlab.drive.state import WorldState

__all__ = ["collisions", "events", "reset", "step"]

f32, i32 = jnp.float32, jnp.int32


def reset(bank: MapBank, cfg: EnvConfig, key, n_worlds: int, map_id=None) -> WorldState:
    """A fresh episode in each of ``n_worlds`` worlds.

    key: a PRNG key; map_id: optional [W] map indices (default uniform over the bank).
    Agents per world ~ U{min_agents, n_agents}; slots are filled by sequential rejection
    sampling (``spawn_tries`` per slot); failures stay empty and are retried each step."""
    key = rng.from_key(key)
    w, a = n_worlds, cfg.n_agents
    ks = rng.split(key, 10)
    if map_id is None:
        map_id = rng.randint(ks[0], (w,), 0, bank.n_maps)
    map_id = jnp.asarray(map_id, i32)
    if cfg.random_agent_count:
        n_target = rng.randint(ks[1], (w,), cfg.min_agents, a + 1)
    else:
        n_target = jnp.full((w,), a, i32)
    used = jnp.arange(a)[None, :] < n_target[:, None]
    veh = sample_vehicles(ks[2], (w, a))
    zeros = jnp.zeros((w, a), f32)
    boxes = dict(x=zeros, y=zeros, psi=zeros, length=veh["length"], width=veh["width"],
                 present=jnp.zeros((w, a), bool))  # fmt: skip
    pose, placed = spawn_slots(bank, cfg, ks[3], map_id, boxes, used, cfg.spawn_tries)
    lim = jnp.minimum(bank.lane_speed[pose["lane"]], 20.0 * veh["c_vel"])
    v0 = rng.uniform(ks[4], (w, a)) * lim
    goals = sample_goals(bank, cfg, ks[5], map_id[:, None], pose["lane"], pose["s"], pose["psi"])
    lights = sample_lights(bank, cfg, ks[6], w)
    blind = rng.bernoulli(ks[7], cfg.p_blind, (w, a))
    braker = rng.bernoulli(ks[8], cfg.p_braking, (w, a))
    return WorldState(
        x=pose["x"], y=pose["y"], z=pose["z"], psi=pose["psi"],
        v=jnp.where(placed, v0, 0.0), a_long=zeros, a_lat=zeros, phi=zeros,
        **veh,
        coef=sample_reward_coefs(ks[9], (w, a), cfg.conservative),
        **goals,
        goal_idx=jnp.zeros((w, a), i32),
        quad=pose["quad"], lane=pose["lane"], s=pose["s"],
        used=used, present=placed, active=placed, pending=used & ~placed,
        reborn=jnp.zeros((w, a), bool),
        blind=blind, braker=braker, brake_timer=jnp.zeros((w, a), i32),
        wrong_dist=zeros, life_steps=jnp.zeros((w, a), i32), life_dist=zeros,
        map_id=map_id, step=jnp.zeros((w,), i32), n_target=n_target,
        light_offset=lights["light_offset"], light_tau=lights["light_tau"],
        stop_mode=lights["stop_mode"], group_off=lights["group_off"],
        key=rng.fold_in(key, 1),
    )  # fmt: skip


def _gather(v, idx):
    """v [W, A] gathered at partner indices idx [W, A, N] (clamped; mask separately)."""
    w = v.shape[0]
    return jnp.take_along_axis(v, jnp.maximum(idx, 0).reshape(w, -1), 1).reshape(idx.shape)


N_NEAR = 4  # per-agent narrow-phase slots of the collision pass (overflow handled exactly)
OVER_BATCH = 64  # up to W·A/64 agents with more near partners get a row-wise narrow test
NEAR_BATCH = 8  # up to W·A/8 agents with a near partner are gathered for the narrow test


def events(bank: MapBank, cfg: EnvConfig, state: WorldState, new: dict):
    """Event flags [W, A] for the transition from ``state`` to the poses in ``new``.

    new: x, y, z, psi, v, dist at t+1. Collisions are checked exactly over every pair of
    present agents in a world, through a broad phase (``collisions``).
    Returns dict(collision, offroad, red_light)."""
    cx = lambda v: v[..., None]  # noqa: E731
    collision = collisions(cfg, state, new)

    corners = box_corners(new["x"], new["y"], new["psi"], state.length, state.width)
    drivable = raster_lookup(bank, state.map_id[:, None, None], corners)
    offroad = ~jnp.all(drivable, -1) & state.present

    # red light: the front point crosses a stop line, moving along its lane, on red
    half = 0.5 * state.length
    (s0, c0), (s1, c1) = trig.sincos(state.psi), trig.sincos(new["psi"])
    f0x, f0y = state.x + half * c0, state.y + half * s0
    f1x, f1y = new["x"] + half * c1, new["y"] + half * s1
    cand = cell_candidates(bank.stop_grid, state.map_id[:, None], jnp.stack([f1x, f1y], -1))
    cid = jnp.maximum(cand, 0)
    sa, sb = bank.s_a[cid], bank.s_b[cid]
    cross = _segments_cross(cx(f0x), cx(f0y), cx(f1x), cx(f1y), sa[..., 0], sa[..., 1],
                            sb[..., 0], sb[..., 1])  # fmt: skip
    lx, ly = (sa - sb)[..., 1], -(sa - sb)[..., 0]
    forward = lx * cx(f1x - f0x) + ly * cx(f1y - f0y) > 0
    light = stop_states(bank, cfg, state, cand)
    bad = (light == RED) | ((light == YELLOW) & cfg.red_on_yellow)
    red_light = jnp.any((cand >= 0) & cross & forward & bad, -1) & state.present
    return dict(collision=collision, offroad=offroad, red_light=red_light)


def collisions(cfg: EnvConfig, state: WorldState, new: dict) -> jnp.ndarray:
    """Collision flags [W, A]: swept-box collision (``swept_collision``) with any other
    present agent of the world whose z is level (|Δz| <= slope_max·d_xy + 1 m, spec §4).

    Exact over all pairs, but cheap: a broad phase (``swept_reach``, a few flops per pair,
    [W, A, A] broadcasting, no gathers) keeps pairs that could meet; each agent runs the
    narrow test on its first ``N_NEAR`` such partners j > i (each pair once; a hit flags both
    agents). Only a few agents have a near partner, so up to W·A/``NEAR_BATCH`` of them are
    gathered for that test (all W·A·N_NEAR slots are tested when more have one). Agents
    with more near partners are few: up to W·A/``OVER_BATCH`` of them are gathered and
    tested against their whole world; beyond that every near pair is tested.
    So the result never depends on ``N_NEAR``."""
    w, a = state.x.shape
    ex, ey = (lambda v: v[:, :, None]), (lambda v: v[:, None, :])
    p0 = (state.x, state.y, state.psi)
    p1 = (new["x"], new["y"], new["psi"])
    radius = 0.5 * jnp.hypot(state.length, state.width)
    near = swept_reach(
        tuple(map(ex, p0)), tuple(map(ex, p1)), ex(radius),
        tuple(map(ey, p0)), tuple(map(ey, p1)), ey(radius),
    )  # fmt: skip
    dxy = jnp.hypot(ey(new["x"]) - ex(new["x"]), ey(new["y"]) - ex(new["y"]))
    level = jnp.abs(ey(new["z"]) - ex(new["z"])) <= cfg.slope_max * dxy + 1.0
    upper = jnp.arange(a)[None, :, None] < jnp.arange(a)[None, None, :]  # j > i
    # stored once (``fusion.materialise``: optimization_barrier is stripped on CPU), else
    # XLA fuses the broad phase into each of the argmax passes that read it and recomputes it
    token = state.present[0, 0].astype(f32)  # a bool as a float: always finite
    pair = materialise(near & level & upper & ex(state.present) & ey(state.present), token)

    (s0, c0), (s1, c1) = trig.sincos(state.psi), trig.sincos(new["psi"])  # once per agent
    q0, q1 = (state.x, state.y, c0, s0), (new["x"], new["y"], c1, s1)

    def narrow(i_sel, j_idx):
        """Swept test of agents i_sel(v) [..] against gathered partners j_idx [W, ...]."""
        g = lambda v: _gather(v, j_idx)  # noqa: E731
        return swept_collision_cs(
            tuple(map(i_sel, q0)), tuple(map(i_sel, q1)),
            (i_sel(state.length), i_sel(state.width)),
            tuple(map(g, q0)), tuple(map(g, q1)), (g(state.length), g(state.width)),
        )  # fmt: skip

    # the first N_NEAR near partners of each agent, by repeated argmax (no sort, no cumsum)
    k = min(N_NEAR, a)
    cols, rest = [], pair
    for _ in range(k):
        j = jnp.argmax(rest, -1)
        has = jnp.take_along_axis(rest, j[..., None], -1)[..., 0]
        cols.append(jnp.where(has, j, -1))
        rest = rest & (jnp.arange(a)[None, None, :] != j[..., None])
    idx, rest = materialise((jnp.stack(cols, -1), rest), token)  # [W, A, k]
    flat = lambda v: v.reshape(-1)  # noqa: E731
    # partners' global slot ids (w·a: none; dropped by the scatters)
    gidx = jnp.where(idx >= 0, jnp.arange(w, dtype=i32)[:, None, None] * a + idx, w * a)
    busy = flat(idx[..., 0] >= 0)  # [W·A] agents with at least one near partner
    cap_rows = max(1, -(-w * a // NEAR_BATCH))

    def dense(_):
        return narrow(ex, idx) & (idx >= 0), gidx

    def compact(_):
        # few agents have a near partner: gather them (and their partners) and test only
        # those pairs, instead of all W·A·k slots
        rows, r = few_rows(busy, cap_rows)
        gi = gidx.reshape(w * a, k)[r]  # [cap, k]
        gj = jnp.minimum(gi, w * a - 1)
        own = lambda v: flat(v)[r][:, None]  # noqa: E731
        part = lambda v: flat(v)[gj]  # noqa: E731
        hit = swept_collision_cs(
            tuple(map(own, q0)), tuple(map(own, q1)), (own(state.length), own(state.width)),
            tuple(map(part, q0)), tuple(map(part, q1)), (part(state.length), part(state.width)),
        )  # fmt: skip
        hit = hit & (gi < w * a) & (rows < w * a)[:, None]
        full = jnp.zeros((w * a, k), bool).at[rows].set(hit, mode="drop")
        return full.reshape(w, a, k), gidx

    hit, gidx = jax.lax.cond(jnp.sum(busy, dtype=i32) <= cap_rows, compact, dense, None)
    # a hit also flags the partner: a small scatter (a one-hot reduction over j would make XLA
    # recompute the narrow test once per column)
    hit_j = jnp.zeros((w * a,), bool).at[jnp.where(hit, gidx, w * a).ravel()].set(True, mode="drop")
    flags = jnp.any(hit, -1) | hit_j.reshape(w, a)

    # agents with more than N_NEAR near partners: their remaining pairs (``rest``) are tested
    # row by row for up to ``cap`` such agents (gathered), or for all pairs beyond that
    over = jnp.any(rest, -1).ravel()  # [W·A]
    cap = max(1, -(-w * a // OVER_BATCH))

    def some_rows(f):
        rows, r = few_rows(over, cap)
        rw = r // a
        own = lambda v: v.reshape(-1)[r][:, None]  # noqa: E731  [cap, 1]
        world = lambda v: v[rw]  # noqa: E731  [cap, A]
        hit = swept_collision_cs(
            tuple(map(own, q0)), tuple(map(own, q1)), (own(state.length), own(state.width)),
            tuple(map(world, q0)), tuple(map(world, q1)),
            (world(state.length), world(state.width)),
        )  # fmt: skip
        hit = hit & rest.reshape(w * a, a)[r] & (rows < w * a)[:, None]
        f = f.reshape(-1).at[rows].set(f.reshape(-1)[r] | jnp.any(hit, -1), mode="drop")
        cols = jnp.where(hit, rw[:, None] * a + jnp.arange(a), w * a)
        return f.at[cols.ravel()].set(True, mode="drop").reshape(w, a)

    def all_pairs(f):
        j_all = jnp.broadcast_to(jnp.arange(a, dtype=i32), (w, a, a))
        full = narrow(ex, j_all) & pair
        return jnp.any(full, -1) | jnp.any(full, 1)

    n_over = jnp.sum(over, dtype=i32)
    branch = jnp.where(n_over == 0, 0, jnp.where(n_over <= cap, 1, 2))
    flags = jax.lax.switch(branch, [lambda f: f, some_rows, all_pairs], flags)
    return flags & state.present


def _segments_cross(ax, ay, bx, by, cx_, cy, dx, dy):
    """True where segment a-b properly intersects segment c-d (touching counts)."""

    def orient(px, py, qx, qy, rx, ry):
        return (qx - px) * (ry - py) - (qy - py) * (rx - px)

    o1 = orient(ax, ay, bx, by, cx_, cy)
    o2 = orient(ax, ay, bx, by, dx, dy)
    o3 = orient(cx_, cy, dx, dy, ax, ay)
    o4 = orient(cx_, cy, dx, dy, bx, by)
    return (o1 * o2 <= 0) & (o3 * o4 <= 0) & ((bx - ax) ** 2 + (by - ay) ** 2 > 0)


def step(
    bank: MapBank, cfg: EnvConfig, state: WorldState, actions, with_obs: bool = True, key=None
):
    """Advance every world by one step of ``cfg.dt``. See the module docstring.

    key: optional PRNG key for this step's randomness (default: the state's own key).
    Returns (state, obs or None, reward [W, A] f32, done [W, A] bool, info dict)."""
    w, a = state.x.shape
    seed = state.key if key is None else rng.fold_in(state.key, rng.from_key(key))
    key, k_brake, k_reset, k_spawn = rng.split(seed, 4)
    act = state.active

    # erratic braking: a triggered braker holds the -15 jerk for brake_duration
    trigger = (
        state.braker & (state.brake_timer == 0) & (rng.uniform(k_brake, (w, a)) < cfg.brake_prob)
    )
    timer = jnp.where(trigger, round(cfg.brake_duration / cfg.dt), state.brake_timer)
    braking = timer > 0
    timer = jnp.maximum(timer - 1, 0)
    j_long, j_lat = action_jerks(jnp.asarray(actions, i32))
    j_long = jnp.where(braking, -15.0, j_long)

    x, y, psi, v, al, at, phi, dist = bicycle_step(
        state.x, state.y, state.psi, state.v, state.a_long, state.a_lat, state.phi,
        j_long, j_lat, state.l_wb, state.c_throttle, state.c_steer, state.c_acc, state.c_vel,
        cfg.dt,
    )  # fmt: skip
    keep = lambda new, old: jnp.where(act, new, old)  # noqa: E731  inactive agents are frozen
    x, y, psi, v = keep(x, state.x), keep(y, state.y), keep(psi, state.psi), keep(v, state.v)
    al, at, phi, dist = (
        keep(al, state.a_long),
        keep(at, state.a_lat),
        keep(phi, state.phi),
        keep(dist, 0.0),
    )
    # only active agents' association is used (every use below is masked by act)
    assoc = associate(bank, state.map_id[:, None], x, y, state.z, psi, state.quad, need=act)
    z = jnp.where(act, assoc["lane_z"], state.z)

    ev = events(bank, cfg, state, dict(x=x, y=y, z=z, psi=psi))
    collision = ev["collision"] & act
    offroad = ev["offroad"] & act
    red_light = ev["red_light"] & act
    wrong = (trig.sincos(assoc["heading_error"])[1] < 0) & (v > 0.5) & act
    wrong_dist = jnp.where(wrong, state.wrong_dist + jnp.abs(dist), 0.0)
    wrong_way = (wrong_dist > cfg.wrong_way_dist) & (state.wrong_dist <= cfg.wrong_way_dist)

    gi = state.goal_idx[..., None]
    gxyz = jnp.take_along_axis(state.goal_xyz, gi[..., None], 2)[:, :, 0]
    gdist = jnp.hypot(x - gxyz[..., 0], y - gxyz[..., 1])
    is_final = state.goal_idx == state.n_targets - 1
    reached = (gdist < state.coef[..., 0]) & (~is_final | (jnp.abs(v) < cfg.v_goal)) & act
    waypoint = reached & ~is_final
    goal = reached & is_final

    jerk = jnp.maximum(jnp.abs(state.c_throttle * j_long), jnp.abs(state.c_steer * j_lat))
    terms = reward_terms(
        state.coef, reached, collision, offroad, red_light, v, al, at, jerk,
        assoc["heading_error"], assoc["offset"], cfg.dt, cfg.alpha_velocity, cfg.alpha_timestep,
    )  # fmt: skip
    reward = jnp.where(act, sum(terms.values()), 0.0).astype(f32)

    # incident handling
    rm = (collision & (cfg.on_collision == "remove")) | (offroad & (cfg.on_offroad == "remove"))
    stop = (collision & (cfg.on_collision == "stop")) | (offroad & (cfg.on_offroad == "stop"))
    stop = stop & ~rm
    life_end = goal & ~rm & ~stop
    terminated = rm | stop | life_end
    present = state.present & ~rm
    active = act & ~terminated
    v = jnp.where(stop, 0.0, v)
    al, at = jnp.where(stop, 0.0, al), jnp.where(stop, 0.0, at)

    life_steps = state.life_steps + act.astype(i32)
    life_dist = state.life_dist + jnp.abs(dist)
    new = dict(
        x=x, y=y, z=z, psi=psi, v=v, a_long=al, a_lat=at, phi=phi,
        quad=jnp.where(act, assoc["quad"], state.quad),
        lane=jnp.where(act, assoc["lane"], state.lane),
        s=jnp.where(act, assoc["s"], state.s),
        goal_idx=state.goal_idx + waypoint.astype(i32),
        present=present, active=active, pending=state.pending | rm, reborn=state.reborn | life_end,
        brake_timer=timer, wrong_dist=wrong_dist, life_steps=life_steps, life_dist=life_dist,
        step=state.step + 1, key=key,
    )  # fmt: skip
    st = _replace(state, new)

    # world resets: episode limit, or too many stopped agents (spec §5.5: relevant under "stop").
    # Slots waiting to respawn or to start a new life do not count, else a small world under
    # "remove" would reset after a single collision or goal.
    inactive = jnp.sum(st.used & ~st.active & ~st.pending & ~st.reborn, -1)
    too_many = inactive > cfg.reset_inactive_fraction * jnp.maximum(st.n_target, 1)
    reset_w = (st.step >= cfg.max_steps) | too_many
    truncated = act & ~terminated & reset_w[:, None]
    done = terminated | truncated
    info = dict(
        valid=act, erratic=state.erratic, terminated=terminated, truncated=truncated,
        collision=collision, offroad=offroad, red_light=red_light, wrong_way=wrong_way,
        waypoint=waypoint, goal=goal, dist=dist, speed=v,
        life_steps=life_steps, life_dist=life_dist, reward_terms=terms,
    )  # fmt: skip
    st = _reset_worlds(bank, cfg, st, reset_w, k_reset)
    st = _refill(bank, cfg, st, k_spawn)
    obs = observe(bank, cfg, st) if with_obs else None
    return st, obs, reward, done, info


def _replace(state: WorldState, new: dict) -> WorldState:
    import equinox as eqx

    names = list(new)
    return eqx.tree_at(lambda s: [getattr(s, n) for n in names], state, [new[n] for n in names])


def _tree_where(mask_w, a: WorldState, b: WorldState) -> WorldState:
    def pick(x, y):
        return jnp.where(mask_w.reshape((-1,) + (1,) * (x.ndim - 1)), x, y)

    a = _replace(a, dict(key=b.key))  # the key is global, not per world
    return jax.tree_util.tree_map(lambda x, y: y if x is y else pick(x, y), a, b)


RESET_BATCHES = (32,)  # the cheap path resets up to W/32 worlds (each level costs a compile)


def _reset_worlds(bank: MapBank, cfg: EnvConfig, st: WorldState, reset_w, key) -> WorldState:
    """Replace the worlds flagged in ``reset_w`` [W] by fresh episodes (``reset``).

    A reset costs far more than a step (sequential spawning), and on most steps only a few
    worlds end, so those are gathered into the smallest batch of ``ceil(W / b)`` worlds
    (b in ``RESET_BATCHES``) that holds them, reset there, and scattered back; all worlds
    are reset in place only when more end at once. No world ever waits for its reset."""
    w = reset_w.shape[0]
    n = jnp.sum(reset_w, dtype=i32)
    caps = sorted({c for c in (-(-w // b) for b in RESET_BATCHES) if c < w})

    def full(s):
        return _tree_where(reset_w, reset(bank, cfg, key, w), s)

    def batch(cap):
        def few(s):
            rows, _ = few_rows(reset_w, cap)
            fresh = _replace(reset(bank, cfg, key, cap), dict(key=s.key))

            def put(old, val):
                return old if old is s.key else old.at[rows].set(val, mode="drop")

            return jax.tree_util.tree_map(put, s, fresh)

        return few

    branches = [lambda s: s] + [batch(c) for c in caps] + [full]
    level = jnp.where(n == 0, 0, 1 + jnp.sum(n > jnp.asarray(caps, i32), dtype=i32))
    return jax.lax.switch(level, branches, st)


def _refill(bank: MapBank, cfg: EnvConfig, st: WorldState, key) -> WorldState:
    """Start new lives in up to ``respawn_per_step`` slots per world, lowest slots first:
    ``pending`` slots get a new vehicle at a rejection-sampled free pose (``respawn_tries``
    tries against all present agents), ``reborn`` slots keep vehicle and pose. Both get new
    reward coefficients, goals and counters."""
    w = st.x.shape[0]
    wi = jnp.arange(w)

    def one(r, st):
        kr = rng.fold_in(key, r)
        ks = rng.split(kr, 8)
        want = (st.pending | st.reborn) & st.used
        slot = jnp.argmax(want, -1)
        has = want[wi, slot]
        is_new = st.pending[wi, slot]
        veh = sample_vehicles(ks[0], (w,))
        keep_old = {n: getattr(st, n)[wi, slot] for n in veh}
        veh = {n: jnp.where(is_new, veh[n], keep_old[n]) for n in veh}
        c = sample_points(bank, ks[1], st.map_id[:, None], (w, cfg.respawn_tries))
        hit = boxes_overlap(
            c["x"][..., None], c["y"][..., None], c["heading"][..., None],
            veh["length"][:, None, None] + 2 * cfg.spawn_margin,
            veh["width"][:, None, None] + 2 * cfg.spawn_margin,
            st.x[:, None, :], st.y[:, None, :], st.psi[:, None, :],
            st.length[:, None, :], st.width[:, None, :],
        )  # fmt: skip
        ok = ~jnp.any(hit & st.present[:, None, :], -1)
        first = jnp.argmax(ok, -1)[:, None]
        pick = {n: jnp.take_along_axis(v, first, -1)[:, 0] for n, v in c.items()}
        spawned = has & is_new & jnp.any(ok, -1)
        start = has & (~is_new | spawned)  # a new life begins in this slot
        old = lambda n: getattr(st, n)[wi, slot]  # noqa: E731
        sel = lambda nv, ov: jnp.where(spawned, nv, ov)  # noqa: E731
        px, py, pz = sel(pick["x"], old("x")), sel(pick["y"], old("y")), sel(pick["z"], old("z"))
        ppsi = sel(pick["heading"], old("psi"))
        pquad, plane, ps = (
            sel(pick["quad"], old("quad")),
            sel(pick["lane"], old("lane")),
            sel(pick["s"], old("s")),
        )
        lim = jnp.minimum(bank.lane_speed[plane], 20.0 * veh["c_vel"])
        v0 = rng.uniform(ks[2], (w,)) * lim
        goals = sample_goals(bank, cfg, ks[3], st.map_id, plane, ps, ppsi)
        coef = sample_reward_coefs(ks[4], (w,), cfg.conservative)
        blind = rng.bernoulli(ks[5], cfg.p_blind, (w,))
        braker = rng.bernoulli(ks[6], cfg.p_braking, (w,))

        def put(arr, val, cond=start):
            val = jnp.asarray(val, arr.dtype)
            cur = arr[wi, slot]
            shp = (-1,) + (1,) * (cur.ndim - 1)
            return arr.at[wi, slot].set(jnp.where(cond.reshape(shp), val, cur))

        zero = jnp.zeros((w,), f32)
        upd = dict(
            x=put(st.x, px), y=put(st.y, py), z=put(st.z, pz), psi=put(st.psi, ppsi),
            v=put(st.v, sel(v0, old("v"))), a_long=put(st.a_long, zero), a_lat=put(st.a_lat, zero),
            phi=put(st.phi, sel(zero, old("phi"))),
            quad=put(st.quad, pquad), lane=put(st.lane, plane), s=put(st.s, ps),
            coef=put(st.coef, coef),
            goal_xyz=put(st.goal_xyz, goals["goal_xyz"]), goal_lane=put(st.goal_lane, goals["goal_lane"]),  # noqa: E501
            goal_s=put(st.goal_s, goals["goal_s"]), goal_heading=put(st.goal_heading, goals["goal_heading"]),  # noqa: E501
            n_targets=put(st.n_targets, goals["n_targets"]), goal_idx=put(st.goal_idx, 0),
            present=put(st.present, True), active=put(st.active, True),
            pending=put(st.pending, False), reborn=put(st.reborn, False),
            blind=put(st.blind, jnp.where(spawned, blind, old("blind"))),
            braker=put(st.braker, jnp.where(spawned, braker, old("braker"))),
            brake_timer=put(st.brake_timer, 0), wrong_dist=put(st.wrong_dist, zero),
            life_steps=put(st.life_steps, 0), life_dist=put(st.life_dist, zero),
            **{n: put(getattr(st, n), veh[n]) for n in veh},
        )  # fmt: skip
        return _replace(st, upd)

    return jax.lax.fori_loop(0, cfg.respawn_per_step, one, st)
