"""The route-aware ego lane (``EnvConfig.ego_lane = "route"``, ``observe.route_quad``)
against a brute force over every quad of the map."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from simlab.drive import env
from simlab.drive.bank import route_distance
from simlab.drive.config import EnvConfig
from simlab.drive.learn.simenv import procedural_bank
from simlab.drive.observe import observe, route_quad
from simlab.drive.scenario import associate, quad_frame


def test_route_quad_is_the_shortest_route_among_the_quads_under_the_agent():
    bank = procedural_bank(0, 1)  # one grid town: junctions with overlapping connectors
    cfg = EnvConfig(n_agents=64, random_agent_count=False, training=False, noise_scale=0.0)
    st = jax.jit(env.reset, static_argnums=(1, 3))(bank, cfg, jax.random.key(0), 2)
    w, a = st.x.shape
    rng = np.random.default_rng(1)
    p0, p1 = np.asarray(bank.q_p0), np.asarray(bank.q_p1)
    qlen = np.linalg.norm(p1[:, :2] - p0[:, :2], axis=1)
    real = np.flatnonzero(qlen > 0.5)
    # agents at random points of random quads, heading along the quad (± 0.3 rad)
    q = rng.choice(real, (w, a))
    f = rng.uniform(0.1, 0.9, (w, a))[..., None]
    pos = p0[q] + f * (p1[q] - p0[q])
    dirs = p1[q, :2] - p0[q, :2]
    psi = np.arctan2(dirs[..., 1], dirs[..., 0]) + rng.uniform(-0.3, 0.3, (w, a))
    x, y, z = (jnp.asarray(pos[..., i], jnp.float32) for i in range(3))
    psi = jnp.asarray(psi, jnp.float32)
    assoc = associate(bank, st.map_id[:, None], x, y, z, psi, st.quad)
    st = eqx.tree_at(
        lambda s: (s.x, s.y, s.z, s.psi, s.quad, s.goal_idx),
        st,
        (x, y, z, psi, assoc["quad"], jnp.zeros((w, a), jnp.int32)),
    )
    fr = quad_frame(bank, st.quad, x, y, psi)
    got = np.asarray(route_quad(bank, st, fr))

    # brute force over all quads: the same inside and heading tests, route distance to the
    # first target, the associated quad kept unless another is > 1 m shorter
    g_lane, g_s = np.asarray(st.goal_lane[..., 0]), np.asarray(st.goal_s[..., 0])
    pk = np.asarray(bank.q_pack)
    dx, dy = np.asarray(x)[..., None] - pk[:, 0], np.asarray(y)[..., None] - pk[:, 1]
    t = dx * pk[:, 4] + dy * pk[:, 5]
    under = (
        (t >= -0.05)
        & (t <= pk[:, 6] + 0.05)
        & (np.abs(dy * pk[:, 4] - dx * pk[:, 5]) <= 0.5 * pk[:, 7])
    )
    under &= pk[:, 4] * np.cos(psi)[..., None] + pk[:, 5] * np.sin(psi)[..., None] > 0
    s_all = np.asarray(bank.q_s0) + np.clip(t, 0.0, pk[:, 6])
    rd_all = np.asarray(
        route_distance(bank, jnp.asarray(bank.q_lane)[None, None], jnp.asarray(s_all),
                       jnp.asarray(g_lane)[..., None], jnp.asarray(g_s)[..., None])
    )  # fmt: skip
    rd_all = np.where(under, rd_all, np.inf)
    rd_cur = np.asarray(route_distance(bank, fr["lane"], fr["s"], g_lane, g_s))
    want_rd = np.where(rd_all.min(-1) < rd_cur - 1.0, rd_all.min(-1), rd_cur)
    rd_got = np.take_along_axis(rd_all, got[..., None], -1)[..., 0]
    rd_got = np.where(got == np.asarray(st.quad), rd_cur, rd_got)
    np.testing.assert_allclose(rd_got, want_rd, rtol=1e-5, atol=1e-3)
    switched = got != np.asarray(st.quad)
    assert 0 < switched.sum() < switched.size  # junction agents switch, the rest keep theirs
    assert (rd_got[switched] < rd_cur[switched] - 1.0).all()

    # the option changes the ego block (and route distances), nothing of the map's rows
    base = observe(bank, cfg, st)
    alt = observe(bank, EnvConfig(**{**cfg.__dict__, "ego_lane": "route"}), st)
    assert not np.allclose(base["ego"][switched], alt["ego"][switched])
    np.testing.assert_array_equal(base["ego"][~switched], alt["ego"][~switched])
    np.testing.assert_array_equal(base["boundary"], alt["boundary"])
