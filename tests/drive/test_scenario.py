"""Scenario generation (spec §3.1, §5): agent counts and padding masks, spawning (on lanes,
no overlaps: a shapely oracle), vehicles, goals and waypoints along routes, traffic-light
cycles and removals, erratic-driver flags.

The world (bank, config, W) is test_wrappers' one, so both files share one compilation of
the core's reset (through the wrappers' module-level jitted functions)."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive.bank import make_bank
from simlab.drive.config import EnvConfig
from simlab.drive.mapdata import UNREACHABLE, build_map
from simlab.drive.procgen import grid_town
from simlab.drive.scenario import GREEN, OFF, RED, YELLOW, stop_states
from simlab.drive.wrappers import DriveVectorEnv

shapely = pytest.importorskip("shapely")
from shapely.geometry import Polygon  # noqa: E402

CFG = EnvConfig(n_agents=8, n_partners=4, max_steps=12, p_braking=0.3, brake_prob=0.2)
W = 16
states_fn = jax.jit(stop_states, static_argnums=1)


@pytest.fixture(scope="module")
def world():
    m = build_map(grid_town(0, nx=2, ny=3))
    bank = make_bank([m])
    env = DriveVectorEnv(bank, CFG, W)
    states = []
    for seed in (0, 1):
        env.reset(seed=seed)
        states.append(jax.device_get(env.world_state))
    return m, bank, states


def cat(states, name):
    return np.concatenate([np.asarray(getattr(s, name)) for s in states])


def test_agent_counts_and_padding_masks(world):
    _, _, states = world
    n_target, used = cat(states, "n_target"), cat(states, "used")
    present, active, pending = cat(states, "present"), cat(states, "active"), cat(states, "pending")
    assert n_target.min() >= 1 and n_target.max() <= CFG.n_agents
    assert n_target.min() <= 2 and n_target.max() >= CFG.n_agents - 1  # U{1, A} spread
    np.testing.assert_array_equal(used, np.arange(CFG.n_agents)[None] < n_target[:, None])
    assert not np.any(present & ~used)
    np.testing.assert_array_equal(active, present)
    np.testing.assert_array_equal(pending, used & ~present)
    assert present.sum() >= 0.95 * used.sum()  # a 2 × 3 town has room for 8 agents


def _boxes(s, w, pad=0.0):
    x, y, psi = (np.asarray(getattr(s, k))[w] for k in ("x", "y", "psi"))
    ln, wd = np.asarray(s.length)[w] + 2 * pad, np.asarray(s.width)[w] + 2 * pad
    out = []
    for i in range(len(x)):
        c, sn = np.cos(psi[i]), np.sin(psi[i])
        corners = [(a * ln[i] / 2, b * wd[i] / 2) for a, b in ((1, 1), (-1, 1), (-1, -1), (1, -1))]
        out.append(Polygon([(x[i] + c * u - sn * v, y[i] + sn * u + c * v) for u, v in corners]))
    return out


def test_spawns_do_not_overlap(world):
    # each slot is placed after the lower slots and rejected if its box plus a 1 m margin
    # meets a placed box: no inflated later box meets an earlier box (so boxes are >= 1 m
    # apart), checked with shapely polygons
    _, _, states = world
    pairs = 0
    for s in states:
        for w in range(W):
            ok = np.flatnonzero(np.asarray(s.present)[w])
            plain, fat = _boxes(s, w), _boxes(s, w, CFG.spawn_margin)
            for jj, j in enumerate(ok):
                for i in ok[:jj]:
                    assert not fat[j].intersects(plain[i]), (w, i, j)
                    assert plain[j].distance(plain[i]) >= CFG.spawn_margin - 1e-3
                    pairs += 1
    assert pairs > 100


def test_spawns_lie_on_spawnable_lanes(world):
    m, _, states = world
    for s in states:
        pres = np.asarray(s.present)
        q = np.asarray(s.quad)[pres]
        p0, p1 = m.q_p0[q], m.q_p1[q]
        d = p1[:, :2] - p0[:, :2]
        ln = np.linalg.norm(d, axis=1)
        u = d / ln[:, None]
        rel = np.stack([np.asarray(s.x)[pres], np.asarray(s.y)[pres]], 1) - p0[:, :2]
        along = (rel * u).sum(1)
        across = rel[:, 0] * u[:, 1] - rel[:, 1] * u[:, 0]
        assert np.all((along >= -1e-3) & (along <= ln + 1e-3)) and np.abs(across).max() < 1e-3
        heading = np.arctan2(u[:, 1], u[:, 0])
        err = np.angle(np.exp(1j * (np.asarray(s.psi)[pres] - heading)))
        assert np.abs(err).max() < 1e-4
        lane = np.asarray(s.lane)[pres]
        np.testing.assert_array_equal(lane, m.q_lane[q])
        assert np.all(m.lane_spawn[lane])  # never connectors
        np.testing.assert_allclose(np.asarray(s.s)[pres], m.q_s0[q] + along, atol=1e-3)
        # kinematics at spawn: v0 ~ U(0, min(v_lim, 20 C_vel)), everything else at rest
        v = np.asarray(s.v)[pres]
        lim = np.minimum(m.lane_speed[lane], 20 * np.asarray(s.c_vel)[pres])
        assert np.all((v >= 0) & (v <= lim + 1e-5)) and v.std() > 1.0
        for k in ("a_long", "a_lat", "phi"):
            assert np.all(np.asarray(getattr(s, k))[pres] == 0), k


def test_vehicle_sizes_and_dynamics_coefficients(world):
    _, _, states = world
    used = cat(states, "used")
    ln, wd, wb = cat(states, "length")[used], cat(states, "width")[used], cat(states, "l_wb")[used]
    assert ln.min() >= 0.8 and ln.max() <= 7.0 and ln.max() - ln.min() > 4
    assert wd.min() >= 0.8 and wd.max() <= 3.0 and np.all(wd <= ln)
    np.testing.assert_allclose(wb, 0.6 * ln, rtol=1e-6)
    for name, a in (("c_throttle", 1.25), ("c_steer", 1.25), ("c_acc", 1.5), ("c_vel", 1.5)):
        c = cat(states, name)[used]
        assert c.min() >= 1 / a - 1e-6 and c.max() <= a + 1e-6, name
        assert 0.3 < np.mean(c < 1) < 0.7, name  # X(a): half below 1, half above


def _interp(pts, s):
    seg = np.linalg.norm(np.diff(pts[:, :2], axis=0), axis=1)
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    return np.array([np.interp(s, arc, pts[:, k]) for k in range(3)])


def _route(m, lane, s, goal_lane, goal_s):
    """Spec §2.1 route distance from the precomputed all-pairs matrix."""
    if lane == goal_lane and goal_s >= s:
        return goal_s - s
    return m.lane_len[lane] - s + m.route[lane, goal_lane] + goal_s


def test_goals_and_waypoints_along_routes(world):
    m, _, states = world
    legs, turns, n_targets = [], [], []
    for s in states:
        pres = np.asarray(s.present)
        for w, a in zip(*np.nonzero(pres)):
            n = int(s.n_targets[w, a])
            n_targets.append(n)
            assert int(s.goal_idx[w, a]) == 0
            lane, pos, head = int(s.lane[w, a]), float(s.s[w, a]), float(s.psi[w, a])
            for k in range(n):
                gl, gs = int(s.goal_lane[w, a, k]), float(s.goal_s[w, a, k])
                xyz = np.asarray(s.goal_xyz[w, a, k])
                assert m.lane_spawn[gl]  # goals never on connectors or parking lanes
                np.testing.assert_allclose(xyz, _interp(m.lane_pts[gl], gs), atol=2e-3)
                legs.append(_route(m, lane, pos, gl, gs))
                gh = float(s.goal_heading[w, a, k])
                turns.append(np.degrees(abs(np.angle(np.exp(1j * (gh - head))))))
                lane, pos, head = gl, gs, gh
    legs, turns, n_targets = np.array(legs), np.array(turns), np.array(n_targets)
    # 1 final goal + U{0, 3} waypoints
    assert n_targets.min() == 1 and n_targets.max() == CFG.n_goals
    counts = np.bincount(n_targets, minlength=5)[1:]
    assert counts.min() > 0.1 * len(n_targets)
    # successive targets 20–200 m apart along the lane graph, at most 60° of heading change;
    # the sampler relaxes heading first, then distance, when none of its 16 candidates fits.
    # In this 2 × 3 grid town only ~2 % of lane points satisfy both constraints from a given
    # start (~22 % the distance alone), so distance holds almost always and heading is
    # relaxed most of the time (measured: 23 % of legs within 60°, vs ~9 % for a random
    # in-range candidate). Two spawn lanes are dead ends (middle lanes of a 3-lane stem at a
    # T junction), whose agents cannot reach any target.
    reachable = legs < UNREACHABLE / 2
    assert reachable.mean() > 0.95
    in_range = (legs >= CFG.goal_min_dist) & (legs <= CFG.goal_max_dist)
    assert in_range.mean() > 0.9
    assert np.mean(in_range & (turns <= CFG.goal_max_turn_deg + 1e-3)) > 0.15


def _cycle(t, n_groups, group, tau):
    """Spec §5.3 cycle, written independently: groups take turns through green, yellow and
    all-red; t (s) is the junction's clock."""
    red, yellow, green = tau
    period = red + yellow + green
    u = np.mod(t, n_groups * period)
    turn = np.floor(u / period).astype(int)
    phase = u - turn * period
    own = np.where(phase < green, GREEN, np.where(phase < green + yellow, YELLOW, RED))
    return np.where(turn == group, own, RED)


def test_traffic_light_cycle_base_timings(world):
    m, bank, states = world
    s0 = states[0]
    sig = np.flatnonzero(m.s_junc >= 0)
    assert len(sig) >= 4 and len(set(m.s_junc[sig])) >= 2
    n_j = np.asarray(bank.junc_groups).shape[1]
    ids = jnp.broadcast_to(jnp.arange(len(m.s_a)), (W, len(m.s_a)))
    offset = np.linspace(0, 20, n_j)[None].repeat(W, 0)
    lights = []
    for base in range(0, 112, W):  # steps 0..111 = 33.6 s, more than one 30 s cycle
        st = eqx.tree_at(
            lambda s: (s.step, s.light_tau, s.light_offset, s.stop_mode, s.group_off),
            s0,
            (jnp.arange(base, base + W, dtype=jnp.int32),
             jnp.broadcast_to(jnp.asarray([2.0, 3.0, 10.0]), (W, 3)),
             jnp.asarray(offset, jnp.float32),
             jnp.zeros_like(s0.stop_mode), jnp.zeros_like(s0.group_off)),
        )  # fmt: skip
        lights.append(np.asarray(states_fn(bank, CFG, st, ids)))
    lights = np.concatenate(lights)  # [T, S]
    t = np.arange(lights.shape[0]) * CFG.dt
    for k in range(len(m.s_a)):
        j = m.s_junc[k]
        if j < 0:
            assert np.all(lights[:, k] == OFF)
            continue
        want = _cycle(t + offset[0, j], m.junc_groups[j], m.s_group[k], (2.0, 3.0, 10.0))
        np.testing.assert_array_equal(lights[:, k], want, err_msg=f"stop line {k}")
    # no conflicting greens: at every instant at most one group of a junction is not red
    for j in set(m.s_junc[sig]):
        ks = sig[m.s_junc[sig] == j]
        for g in range(m.junc_groups[j]):
            mine = ks[m.s_group[ks] == g]
            other = ks[m.s_group[ks] != g]
            go = (lights[:, mine] != RED).any(1) & (lights[:, other] != RED).any(1)
            assert not go.any()
    # over the 30 s cycle each group is green 10 s and yellow 3 s
    full = lights[:100, sig]
    assert np.mean(full == GREEN) == pytest.approx(10 / 30, abs=0.02)
    assert np.mean(full == YELLOW) == pytest.approx(3 / 30, abs=0.02)


def test_light_overrides_and_removals(world):
    m, bank, states = world
    s0 = states[0]
    ids = jnp.broadcast_to(jnp.arange(len(m.s_a)), (W, len(m.s_a)))
    sig = m.s_junc >= 0
    mode = np.zeros(np.shape(s0.stop_mode), np.int32)
    mode[:, 0::3], mode[:, 1::3] = 1, 2  # removed, always green, normal
    group_off = np.zeros(np.shape(s0.group_off), bool)
    group_off[:4, :, 1] = True  # worlds 0-3 lose group 1 at every junction
    st = eqx.tree_at(lambda s: (s.stop_mode, s.group_off), s0,
                     (jnp.asarray(mode), jnp.asarray(group_off)))  # fmt: skip
    lights = np.asarray(states_fn(bank, CFG, st, ids))
    n = len(m.s_a)
    removed = (np.arange(n) % 3 == 0) | ~sig
    always = (np.arange(n) % 3 == 1) & sig
    assert np.all(lights[:, removed] == OFF)
    assert np.all(lights[:, always & ~(m.s_group == 1)] == GREEN)
    g1 = sig & (m.s_group == 1) & ~removed
    assert np.all(lights[:4][:, g1] == OFF) and not np.all(lights[4:][:, g1] == OFF)
    # the per-stop-line mode array is indexed by local stop ids: -1 (no stop) reads off
    assert np.all(np.asarray(states_fn(bank, CFG, st, -jnp.ones((W, 2), jnp.int32))) == OFF)


def test_randomized_light_timings_and_rates(world):
    m, _, states = world
    tau = cat(states, "light_tau")
    for k, (lo, hi) in enumerate(((0.15 * 2, 5.0 * 2), (0.5 * 3, 0.75 * 3), (0.1 * 10, 1.0 * 10))):
        assert tau[:, k].min() >= lo - 1e-5 and tau[:, k].max() <= hi + 1e-5
        assert np.ptp(tau[:, k]) > 0.3 * (hi - lo)  # drawn per world, not fixed
    mode = cat(states, "stop_mode")[:, : len(m.s_a)]
    all_off = np.all(mode == 1, axis=1)
    # 20 % of episodes all off; otherwise 20 % of lights removed and 5 % always green
    assert 0 < all_off.sum() < len(mode)
    rest = mode[~all_off]
    assert np.mean(rest == 1) == pytest.approx(0.2, abs=0.08)
    assert np.mean(rest == 2) == pytest.approx(0.8 * 0.05, abs=0.04)
    group_off = cat(states, "group_off")
    assert np.mean(group_off) == pytest.approx(0.2, abs=0.1)


def test_erratic_driver_flags(world):
    _, _, states = world
    used = cat(states, "used")
    blind, braker = cat(states, "blind")[used], cat(states, "braker")[used]
    assert np.mean(blind) == pytest.approx(CFG.p_blind, abs=0.04)
    assert np.mean(braker) == pytest.approx(CFG.p_braking, abs=0.08)
    for s in states:  # the flag PPO uses to exclude transitions
        np.testing.assert_array_equal(np.asarray(s.erratic), np.asarray(s.blind | s.braker))


@pytest.mark.slow  # ~24 s alone: compiles the step
def test_world_reset_counts_stopped_agents_not_respawning_ones(world):
    """Spec §5.5: a world resets when > 40 % of its agents are inactive, a rule meant for
    ``on_collision = "stop"``. Slots waiting to respawn (``pending``) or to start a new life
    (``reborn``) must not count: under "remove" a small world would reset after one crash."""
    from simlab.drive.wrappers import _step

    _, bank, states = world
    s = jax.tree_util.tree_map(jnp.asarray, states[0])
    n_target = np.asarray(s.n_target)
    w = int(np.argmax(n_target >= 4))  # a world with at least 4 agents
    assert n_target[w] >= 4
    k = int(np.ceil(0.5 * n_target[w]))  # half of them out: well above 40 %
    out = np.zeros(np.shape(s.active), bool)
    out[w, :k] = True
    actions = jnp.zeros(out.shape, jnp.int32)

    def truncated(**flags):
        new = eqx.tree_at(
            lambda t: (t.active, t.pending, t.reborn),
            s,
            (s.active & ~out, flags.get("pending", s.pending), flags.get("reborn", s.reborn)),
        )
        info = _step(bank, CFG, new, actions, False)[4]
        return bool(np.asarray(info["truncated"])[w].any())

    assert not truncated(pending=s.pending | out)  # waiting to respawn
    assert not truncated(reborn=s.reborn | out)  # waiting for a new life
    assert truncated()  # stopped in place: the world resets
