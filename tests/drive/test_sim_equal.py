"""Rewritten simulator stages return exactly what the versions they replaced returned
(verbatim copies in ``tests/drive/sim_reference.py``), or, for collisions, what testing
every pair returns; on tiny worlds, in every branch, one compilation per function where
the shapes allow."""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive import env, rng, scenario, trig
from simlab.drive.bank import cell_candidates, make_bank
from simlab.drive.config import EnvConfig
from simlab.drive.geometry import swept_collision_cs, swept_reach
from simlab.drive.mapdata import build_map
from simlab.drive.procgen import grid_town

from . import sim_reference as ref


@pytest.fixture(scope="module")
def bank():
    return make_bank([build_map(grid_town(0, nx=2, ny=2))])


def _points(bank, w, a, seed=0):
    """Poses on lanes, jittered up to ±3 m (some off every quad), random headings and z."""
    ks = rng.split(rng.from_key(jax.random.key(seed)), 5)
    p = scenario.sample_points(bank, ks[0], jnp.zeros((w, 1), jnp.int32), (w, a))
    x = p["x"] + rng.uniform(ks[1], (w, a), -3.0, 3.0)
    y = p["y"] + rng.uniform(ks[2], (w, a), -3.0, 3.0)
    psi = p["heading"] + rng.uniform(ks[3], (w, a), -1.0, 1.0)
    prev = jnp.where(rng.uniform(ks[4], (w, a)) < 0.5, p["quad"], -1)
    return jnp.zeros((w, 1), jnp.int32), x, y, p["z"], psi, prev


@pytest.mark.parametrize("branch", ["default", "overflow", "full"])
def test_associate_equals_reference(bank, branch, monkeypatch):
    """default: 16 columns; overflow: a width at which some (at most half the) agents stand on
    wider cells and take the overflow pass; full: more do, so all are scanned in full.
    The grid town's cells hold few quads, so the overflow cap is raised to n/2."""
    args = _points(bank, 8, 64)
    m, x, y = args[0], args[1], args[2]
    cand = cell_candidates(bank.quad_grid, m, jnp.stack([x, y], -1))
    n_wide = np.asarray([int(jnp.sum(cand[..., k] >= 0)) for k in range(cand.shape[-1])])
    monkeypatch.setattr(scenario, "ASSOC_BATCH", 2)  # cap: up to half the agents overflow
    cap = x.size // 2
    if branch == "overflow":
        monkeypatch.setattr(scenario, "ASSOC_WIDTH", int(np.argmax((n_wide > 0) & (n_wide <= cap))))
        assert 0 < n_wide[scenario.ASSOC_WIDTH] <= cap
    elif branch == "full":
        monkeypatch.setattr(scenario, "ASSOC_WIDTH", 1)
        assert n_wide[1] > cap
    new = jax.jit(lambda *a: scenario.associate(*a))(bank, *args)  # traced with the patch
    old = jax.jit(ref.associate)(bank, *args)
    assert set(new) == set(old)
    for k in old:
        np.testing.assert_array_equal(np.asarray(new[k]), np.asarray(old[k]), err_msg=k)
    assert 0.2 < float(jnp.mean(new["on_lane"])) < 1.0  # both outcomes are exercised


def _solo_centres(bank, n, seed=0):
    """n points in the cores of solo quads (prev = that quad), heading anywhere."""
    rs = np.random.default_rng(seed)
    pk = np.asarray(bank.q_pack)
    q = rs.choice(np.flatnonzero(np.asarray(bank.q_solo)), n)
    t = rs.uniform(0.2, 0.8, n) * pk[q, 6]
    d = rs.uniform(-0.3, 0.3, n) * pk[q, 7]
    x = pk[q, 0] + t * pk[q, 4] - d * pk[q, 5]
    y = pk[q, 1] + t * pk[q, 5] + d * pk[q, 4]
    return q, x, y, rs.uniform(-np.pi, np.pi, n)


def test_solo_quads_hold_their_core_alone(bank):
    # brute force: a point in a solo quad's core is inside no other quad (as association
    # tests it), so its association is that quad whatever the heading; the grid town has
    # solo quads and others (junctions)
    solo = np.asarray(bank.q_solo)
    assert 0.3 < solo.mean() < 1.0
    q, x, y, _ = _solo_centres(bank, 4000)
    pk = np.asarray(bank.q_pack)
    dx, dy = x[:, None] - pk[:, 0], y[:, None] - pk[:, 1]
    t = dx * pk[:, 4] + dy * pk[:, 5]
    d = -dx * pk[:, 5] + dy * pk[:, 4]
    inside = (t >= -0.05) & (t <= pk[:, 6] + 0.05) & (np.abs(d) <= 0.5 * pk[:, 7])
    assert inside[np.arange(len(q)), q].all() and (inside.sum(1) == 1).all()


@pytest.mark.parametrize("outer", ["none", "some"])
def test_associate_keeps_solo_quads_without_a_scan(bank, outer):
    """none: every agent is in its solo previous quad's core, nothing is scanned; some: the
    previous quad is up to 3 quads behind on the lane (the quad ahead is tested), and a
    quarter are jittered points (prev -1), gathered and scanned. ``need`` = False agents
    are not compared (their result is unused by contract)."""
    w, a = 4, 64
    q, x, y, psi = _solo_centres(bank, w * a, seed=1)
    m, jx, jy, z, jpsi, _ = _points(bank, w, a, seed=2)
    x, y, psi = (jnp.asarray(v.reshape(w, a), jnp.float32) for v in (x, y, psi))
    prev = jnp.asarray(q.reshape(w, a), jnp.int32)
    need = jnp.ones((w, a), bool)
    if outer == "some":
        back = np.random.default_rng(3).integers(0, 4, q.shape)
        lane = np.asarray(bank.q_lane)
        behind = np.where(lane[np.maximum(q - back, 0)] == lane[q], np.maximum(q - back, 0), q)
        assert (behind < q).mean() > 0.5
        prev = jnp.asarray(behind.reshape(w, a), jnp.int32)
        jit_ = np.zeros((w, a), bool)
        jit_[:, : a // 4] = True
        x, y = jnp.where(jit_, jx, x), jnp.where(jit_, jy, y)
        psi, prev = jnp.where(jit_, jpsi, psi), jnp.where(jit_, -1, prev)
        need = need.at[:, -4:].set(False)  # some of the stayers: not needed
    in_own = np.asarray(scenario._in_solo_core(bank, jnp.asarray(q.reshape(w, a)), x, y)[0])
    stay_own = in_own & (np.asarray(prev) >= 0)
    if outer == "none":
        assert stay_own.all()  # nothing to scan
    else:  # the jittered quarter is scanned, the others found on their lanes (most of them)
        assert (~stay_own).sum() >= w * a // 4 and stay_own.mean() > 0.6
    new = jax.jit(lambda *v: scenario.associate(*v[:-1], need=v[-1]))(
        bank, m, x, y, z, psi, prev, need
    )
    old = jax.jit(ref.associate)(bank, m, x, y, z, psi, prev)
    sel = np.asarray(need)
    for k in old:
        np.testing.assert_array_equal(np.asarray(new[k])[sel], np.asarray(old[k])[sel], err_msg=k)


class _Boxes(NamedTuple):
    """The fields of ``WorldState`` that ``env.collisions`` reads (a pytree, so no reset
    has to be compiled to build one): [W, A] each."""

    x: jnp.ndarray
    y: jnp.ndarray
    psi: jnp.ndarray
    length: jnp.ndarray
    width: jnp.ndarray
    present: jnp.ndarray


def _all_pairs_collisions(cfg, st, new):
    """Oracle by enumeration: the swept test on every pair i < j of present, level agents,
    with no broad phase (so a broad phase that dropped a colliding pair would show)."""
    a = st.x.shape[1]
    ex, ey = (lambda v: v[:, :, None]), (lambda v: v[:, None, :])
    cs = lambda x, y, psi: (x, y, *trig.sincos(psi)[::-1])  # noqa: E731
    q0, q1 = cs(st.x, st.y, st.psi), cs(new["x"], new["y"], new["psi"])
    hit = swept_collision_cs(
        tuple(map(ex, q0)), tuple(map(ex, q1)), (ex(st.length), ex(st.width)),
        tuple(map(ey, q0)), tuple(map(ey, q1)), (ey(st.length), ey(st.width)),
    )  # fmt: skip
    dxy = jnp.hypot(ey(new["x"]) - ex(new["x"]), ey(new["y"]) - ex(new["y"]))
    level = jnp.abs(ey(new["z"]) - ex(new["z"])) <= cfg.slope_max * dxy + 1.0
    upper = jnp.arange(a)[:, None] < jnp.arange(a)[None, :]
    pair = hit & level & upper & ex(st.present) & ey(st.present)
    return (jnp.any(pair, -1) | jnp.any(pair, 1)) & st.present


def _near_counts(cfg, st, new):
    """Per agent [W, A], its near (broad-phase, level, present) partners j > i: which of
    ``env.collisions``' branches a case takes."""
    a = st.x.shape[1]
    ex, ey = (lambda v: v[:, :, None]), (lambda v: v[:, None, :])
    p0, p1 = (st.x, st.y, st.psi), (new["x"], new["y"], new["psi"])
    r = 0.5 * jnp.hypot(st.length, st.width)
    near = swept_reach(tuple(map(ex, p0)), tuple(map(ex, p1)), ex(r),
                       tuple(map(ey, p0)), tuple(map(ey, p1)), ey(r))  # fmt: skip
    dxy = jnp.hypot(ey(new["x"]) - ex(new["x"]), ey(new["y"]) - ex(new["y"]))
    level = jnp.abs(ey(new["z"]) - ex(new["z"])) <= cfg.slope_max * dxy + 1.0
    upper = jnp.arange(a)[:, None] < jnp.arange(a)[None, :]
    pair = near & level & upper & ex(st.present) & ey(st.present)
    return jnp.sum(pair, -1)


@functools.partial(jax.jit, static_argnums=0)
def _collisions_both(cfg, st, new):
    """New, oracle and near counts in one compiled program (one compilation for all cases)."""
    return (
        env.collisions(cfg, st, new),
        _all_pairs_collisions(cfg, st, new),
        _near_counts(cfg, st, new),
    )


@pytest.mark.parametrize("spread", [400.0, 60.0, 25.0])
@pytest.mark.slow  # ~15 s alone (first case compiles)
def test_collisions_equals_all_pairs(spread):
    """Uniform boxes over spread x spread m. 400 m: few agents have a near partner (the
    gathered narrow test); 60 m: many do (the dense test), 1-2 have more than N_NEAR (the
    gathered overflow rows); 25 m: many have more (every near pair tested). Half the
    agents are 6 m up (a bridge), so the level test matters. The oracle tests every pair."""
    w, a = 4, 32
    cfg = EnvConfig(n_agents=a, random_agent_count=False)
    ks = rng.split(rng.from_key(jax.random.key(1)), 8)
    u = lambda k, lo, hi: rng.uniform(k, (w, a), lo, hi)  # noqa: E731
    x, y, psi = u(ks[0], 0, spread), u(ks[1], 0, spread), u(ks[2], -4, 4)
    present = u(ks[3], 0, 1) < 0.9
    veh = scenario.sample_vehicles(ks[6], (w, a))
    z = jnp.where(u(ks[7], 0, 1) < 0.5, 6.0, 0.0)
    st = _Boxes(x, y, psi, veh["length"], veh["width"], present)
    new = dict(x=x + u(ks[4], -4, 4), y=y + u(ks[5], -4, 4), psi=psi + 0.3, z=z)
    got, want, n_near = _collisions_both(cfg, st, new)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert 0 < int(jnp.sum(want)) < int(jnp.sum(present))
    busy, over = int(jnp.sum(n_near > 0)), int(jnp.sum(n_near > env.N_NEAR))
    cap_rows, cap_over = w * a // env.NEAR_BATCH, -(-w * a // env.OVER_BATCH)
    branch = {400.0: busy <= cap_rows and over == 0,
              60.0: busy > cap_rows and 0 < over <= cap_over,
              25.0: over > cap_over}  # fmt: skip
    assert branch[spread], (busy, over)


@pytest.mark.parametrize("a", [24, 150])
def test_select_partners_equals_reference(a):
    """Crowded worlds (rings matter) with absent slots, at the two benchmark widths' kinds."""
    from simlab.drive.partners import select_partners

    ks = rng.split(rng.from_key(jax.random.key(2)), 3)
    x = rng.uniform(ks[0], (3, a), 0.0, 150.0)
    y = rng.uniform(ks[1], (3, a), 0.0, 150.0)
    present = rng.uniform(ks[2], (3, a)) < 0.8
    got = jax.jit(select_partners, static_argnums=(3, 4))(x, y, present, 20, 200.0)
    want = jax.jit(ref.select_partners, static_argnums=(3, 4))(x, y, present, 20, 200.0)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert int(jnp.sum(got >= 0)) > 3 * a * 10


def test_sample_points_equals_reference(bank):
    """Headings from ``bank.q_heading`` (one atan2 per quad, at bank build) are bitwise the
    per-point atan2 the old code ran, on every spawn quad of the grid town and of the
    benchmark's procedural bank (freeways, roundabouts: all heading quadrants)."""
    from simlab.drive.bench import procedural_bank

    f_new = jax.jit(scenario.sample_points, static_argnums=3)
    f_old = jax.jit(ref.sample_points, static_argnums=3)
    for b in (bank, procedural_bank(n=3)):
        for m in range(b.n_maps):
            shape = (8, 2048)
            args = (b, rng.from_key(jax.random.key(m)), jnp.full((8, 1), m, jnp.int32), shape)
            got, want = f_new(*args), f_old(*args)
            for k in want:
                np.testing.assert_array_equal(np.asarray(got[k]), np.asarray(want[k]), err_msg=k)
            off, n = int(b.spawn_off[m]), int(b.spawn_count[m])
            hits = np.isin(np.asarray(b.spawn_quads[off : off + n]), np.asarray(got["quad"]))
            assert hits.mean() > 0.9, hits.mean()  # nearly every spawn quad of the map drawn
