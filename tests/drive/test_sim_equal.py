"""Rewritten simulator stages return exactly what the versions they replaced returned
(verbatim copies in ``tests/drive/sim_reference.py``), on tiny worlds, in every branch."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from simlab.drive import env, rng, scenario
from simlab.drive.bank import cell_candidates, make_bank
from simlab.drive.config import EnvConfig
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


@pytest.mark.parametrize("spread", [400.0, 25.0])
def test_collisions_equals_reference(bank, spread):
    """400 m: few agents have a near partner (the gathered narrow test); 25 m: most do, many
    have more than 4 (the dense test and the overflow passes)."""
    w, a = 4, 32
    cfg = EnvConfig(n_agents=a, random_agent_count=False)
    st = jax.jit(env.reset, static_argnums=(1, 3))(bank, cfg, jax.random.key(0), w)
    ks = rng.split(rng.from_key(jax.random.key(1)), 6)
    u = lambda k, lo, hi: rng.uniform(k, (w, a), lo, hi)  # noqa: E731
    x, y, psi = u(ks[0], 0, spread), u(ks[1], 0, spread), u(ks[2], -4, 4)
    present = u(ks[3], 0, 1) < 0.9
    st = eqx.tree_at(lambda s: (s.x, s.y, s.psi, s.present), st, (x, y, psi, present))
    new = dict(x=x + u(ks[4], -4, 4), y=y + u(ks[5], -4, 4), psi=psi + 0.3, z=st.z)
    old = jax.jit(ref.collisions, static_argnums=0)(cfg, st, new)
    got = jax.jit(env.collisions, static_argnums=0)(cfg, st, new)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(old))
    assert 0 < int(jnp.sum(old)) < int(jnp.sum(present))


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
