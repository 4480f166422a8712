"""The optimised hot paths equal plain references.

* ``swept_reach`` (broad phase) never rejects a pair that ``swept_collision`` flags;
* ``env.collisions`` (broad phase + first N_NEAR partners + exact fallback) equals the narrow
  test on every pair, in sparse worlds and in crowded ones where the fallback runs;
* the driving-years conversion matches the spec's worked example.

(``bench_sim`` itself compiles a full step; it runs in the drive demo and the bench CLI.)
"""

from types import SimpleNamespace

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive import env
from simlab.drive.bench import driving_years_per_hour, procedural_bank
from simlab.drive.config import EnvConfig
from simlab.drive.geometry import swept_collision, swept_reach


def _random_moves(rng, shape, spread, fast):
    x0, y0 = rng.uniform(-spread, spread, shape), rng.uniform(-spread, spread, shape)
    p0 = rng.uniform(-np.pi, np.pi, shape)
    step = np.where(rng.random(shape) < fast, 12.0, 1.5)  # some fast crossings
    ang = rng.uniform(-np.pi, np.pi, shape)
    x1, y1 = x0 + step * np.cos(ang), y0 + step * np.sin(ang)
    p1 = p0 + rng.uniform(-0.3, 0.3, shape)
    size = rng.uniform(0.8, 7, shape), rng.uniform(0.8, 3, shape)
    f = lambda v: jnp.asarray(v, jnp.float32)  # noqa: E731
    return tuple(map(f, (x0, y0, p0))), tuple(map(f, (x1, y1, p1))), tuple(map(f, size))


def test_broad_phase_is_conservative():
    rng = np.random.default_rng(0)
    n = 20000
    i0, i1, si = _random_moves(rng, n, 12.0, 0.3)
    j0, j1, sj = _random_moves(rng, n, 12.0, 0.3)
    hit = np.asarray(jax.jit(swept_collision)(i0, i1, si, j0, j1, sj))
    r = lambda s: 0.5 * jnp.hypot(*s)  # noqa: E731
    near = np.asarray(jax.jit(swept_reach)(i0, i1, r(si), j0, j1, r(sj)))
    assert 0.05 < hit.mean() < 0.6  # not vacuous
    assert not np.any(hit & ~near)
    assert near.mean() < 0.95  # and it does reject pairs


def _world(seed, w, a, spread):
    """Random boxes (the fields ``collisions`` reads) moving over one step."""
    rng = np.random.default_rng(seed)
    p0, p1, size = _random_moves(rng, (w, a), spread, 0.2)
    present = jnp.asarray(rng.random((w, a)) < 0.9)
    z = jnp.asarray(np.where(rng.random((w, a)) < 0.1, 8.0, 0.0), jnp.float32)  # overpasses
    st = SimpleNamespace(x=p0[0], y=p0[1], psi=p0[2], length=size[0], width=size[1],
                         present=present, z=z)  # fmt: skip
    new = dict(x=p1[0], y=p1[1], psi=p1[2], z=z)
    return EnvConfig(n_agents=a), st, new


def _brute(cfg, st, new):
    ex, ey = (lambda v: v[:, :, None]), (lambda v: v[:, None, :])
    p0, p1 = (st.x, st.y, st.psi), (new["x"], new["y"], new["psi"])
    size = (st.length, st.width)
    hit = swept_collision(
        tuple(map(ex, p0)), tuple(map(ex, p1)), tuple(map(ex, size)),
        tuple(map(ey, p0)), tuple(map(ey, p1)), tuple(map(ey, size)),
    )  # fmt: skip
    dxy = jnp.hypot(ey(new["x"]) - ex(new["x"]), ey(new["y"]) - ex(new["y"]))
    level = jnp.abs(ey(new["z"]) - ex(new["z"])) <= cfg.slope_max * dxy + 1.0
    a = st.x.shape[1]
    ok = hit & level & ~jnp.eye(a, dtype=bool) & ex(st.present) & ey(st.present)
    return jnp.any(ok, -1)


def _n_over(st, new):
    """Agents with more than N_NEAR near partners j > i (they take the slower paths)."""
    ex, ey = (lambda v: v[:, :, None]), (lambda v: v[:, None, :])
    r = 0.5 * jnp.hypot(st.length, st.width)
    p0, p1 = (st.x, st.y, st.psi), (new["x"], new["y"], new["psi"])
    near = swept_reach(
        tuple(map(ex, p0)), tuple(map(ex, p1)), ex(r), tuple(map(ey, p0)), tuple(map(ey, p1)), ey(r)
    )
    a = st.x.shape[1]
    upper = np.triu(np.ones((a, a), bool), 1)
    return int(np.sum(np.sum(np.asarray(near) & upper, -1) > env.N_NEAR))


def test_collision_pass_equals_all_pairs():
    fast = jax.jit(lambda cfg, st, new: env.collisions(cfg, SimpleNamespace(**st), new),
                   static_argnums=0)  # fmt: skip
    brute = jax.jit(lambda cfg, st, new: _brute(cfg, SimpleNamespace(**st), new),
                    static_argnums=0)  # fmt: skip
    cap = -(-6 * 24 // env.OVER_BATCH)
    # sparse: first-N_NEAR path only; medium: a few rows tested whole; crowded: all pairs
    for spread, seed, lo, hi in ((60.0, 3, 0, 0), (35.0, 1, 1, cap), (9.0, 2, cap + 1, 999)):
        cfg, st, new = _world(seed, 6, 24, spread)
        assert lo <= _n_over(st, new) <= hi  # each path is exercised
        got = np.asarray(fast(cfg, vars(st), new))
        want = np.asarray(brute(cfg, vars(st), new))
        assert want.sum() > 0
        np.testing.assert_array_equal(got, want)


@pytest.mark.slow  # ~18 s alone, mostly compiling
def test_world_resets_batched_and_full():
    bank = procedural_bank()
    cfg = EnvConfig(n_agents=3, n_partners=2)
    w = 40  # the cheap path resets up to ceil(40 / 32) = 2 worlds
    rst = jax.jit(env.reset, static_argnums=(1, 3))
    old = rst(bank, cfg, jax.random.key(0), w)
    old = eqx.tree_at(lambda s: s.step, old, jnp.full((w,), 7, jnp.int32))
    key = jnp.uint32(99)
    fn = jax.jit(lambda s, m: env._reset_worlds(bank, cfg, s, m, key))
    for rows, n_fresh in (([5, 31], 2), ([1, 2, 3, 20, 39], w)):  # batched, then in place
        mask = jnp.zeros((w,), bool).at[jnp.asarray(rows)].set(True)
        got = fn(old, mask)
        fresh = rst(bank, cfg, key, n_fresh)
        src = np.arange(len(rows)) if n_fresh < w else np.asarray(rows)
        for name in ("x", "psi", "present", "map_id", "goal_xyz", "coef", "step"):
            g, o, f = (np.asarray(getattr(s, name)) for s in (got, old, fresh))
            np.testing.assert_array_equal(g[rows], f[src], err_msg=name)
            keep = np.setdiff1d(np.arange(w), rows)
            np.testing.assert_array_equal(g[keep], o[keep], err_msg=name)
        assert np.all(np.asarray(got.step)[rows] == 0)
        assert int(got.key) == int(old.key)


def test_driving_years_per_hour():
    # spec §10.1's check: 1.22 M agent-steps/s at 0.3 s is 41.8 driving-years per hour
    # (41.75 exactly; the spec rounds up)
    assert abs(driving_years_per_hour(1.22e6, 0.3) - 41.75) < 0.01
