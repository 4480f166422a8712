"""The pose MH kernels leave known targets invariant (start from exact samples, apply the
kernel, compare with a fresh exact sample), and pose MH recovers a rendered pose."""

import jax
import jax.numpy as jnp
import numpy as np
from scipy import stats

from simlab.scenes import infer
from simlab.scenes.geometry import quat_to_matrix

S = 0.01  # m, the translation target's standard deviation
MU = np.array([0.02, -0.01, 0.1])


def _log_rot(q):
    R = quat_to_matrix(q)
    return 1.5 * R[..., 2, 2] ** 2 + 1.0 * R[..., 0, 0]


def _log_target(t, q, s=S):
    return -0.5 * jnp.sum((t - MU) ** 2, -1) / s**2 + _log_rot(q)


def _exact_samples(seed, n):
    """Exact draws: Gaussian t; rotations by rejection from Haar (log density bound 2.5)."""
    rng = np.random.default_rng(seed)
    qs = []
    while sum(len(x) for x in qs) < n:
        q = rng.normal(size=(20000, 4))
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        lp = np.asarray(_log_rot(jnp.asarray(q, jnp.float32)))
        qs.append(q[np.log(rng.random(20000)) < lp - 2.5])
    q = np.concatenate(qs)[:n]
    return MU + S * rng.normal(size=(n, 3)), q


def _stats(t, q):
    R = np.asarray(quat_to_matrix(jnp.asarray(q, jnp.float32)))
    return {"tx": t[:, 0], "tz": t[:, 2], "Rzz": R[:, 2, 2], "Rxx": R[:, 0, 0], "Ryx": R[:, 1, 0]}


@jax.jit
def _run_pose_kernel(keys, t, q, s_kernel):
    sig, kap, axis = infer._move_arrays()

    def one(key, ti, qi):
        def lt(a, b):
            return _log_target(a, b, s_kernel)

        def rep(c, k):
            ti, qi = c
            ti, qi, _, oks = infer.pose_mh_kernel(k, ti, qi, lt(ti, qi), lt, sig, kap, axis)
            return (ti, qi), oks

        (ti, qi), oks = jax.lax.scan(rep, (ti, qi), jax.random.split(key, 3))
        return ti, qi, oks.mean(0)

    return jax.vmap(one)(keys, t, q)


N = 1500


def test_pose_moves_leave_target_invariant():
    t0, q0 = _exact_samples(0, N)
    keys = jax.random.split(jax.random.key(0), N)
    t1, q1, acc = _run_pose_kernel(
        keys, jnp.asarray(t0, jnp.float32), jnp.asarray(q0, jnp.float32), S
    )
    acc = np.asarray(acc).mean(0)
    # the moves do move (else the test would be vacuous): drifts and flips get accepted
    assert acc[:6].min() > 0.02 and acc[6:].max() > 0.05, acc
    ref = _stats(*_exact_samples(1, N))
    got = _stats(np.asarray(t1), np.asarray(q1))
    pvals = {k: stats.ks_2samp(got[k], ref[k]).pvalue for k in ref}
    assert min(pvals.values()) > 1e-3, pvals
    # power: the same check rejects a kernel that targets a wider translation distribution
    t2, q2, _ = _run_pose_kernel(
        keys, jnp.asarray(t0, jnp.float32), jnp.asarray(q0, jnp.float32), 2 * S
    )
    bad = _stats(np.asarray(t2), np.asarray(q2))
    assert min(stats.ks_2samp(bad[k], ref[k]).pvalue for k in ("tx", "tz")) < 1e-3


@jax.jit
def _run_grid_kernel(keys, t, q):
    def lt(ts, qi):
        return _log_target(ts, qi)

    def one(key, ti, qi):
        def rep(c, k):
            ti, n = c
            ti, ok = infer.grid_kernel(k, ti, qi, lt, 0.006, 3)
            return (ti, n + ok), None

        (ti, n), _ = jax.lax.scan(rep, (ti, 0), jax.random.split(key, 3))
        return ti, n

    return jax.vmap(one)(keys, t, q)


def test_grid_move_leaves_target_invariant():
    t0, q0 = _exact_samples(2, N)
    t1, n_acc = _run_grid_kernel(
        jax.random.split(jax.random.key(1), N),
        jnp.asarray(t0, jnp.float32),
        jnp.asarray(q0, jnp.float32),
    )
    assert np.asarray(n_acc).mean() > 1.0  # of 3 moves
    ref = _exact_samples(3, N)[0]
    for k in range(3):
        assert stats.ks_2samp(np.asarray(t1)[:, k], ref[:, k]).pvalue > 1e-3


def test_grid_offsets_are_symmetric():
    offs = np.asarray(infer.grid_offsets(5, 0.01))
    np.testing.assert_allclose(offs[::-1], -offs, atol=1e-7)
    assert offs.shape == (125, 3)


def test_pose_mh_recovers_a_rendered_pose():
    from simlab.scenes import likelihood, objects, render
    from simlab.scenes.camera import YCBV, look_at, scale_down
    from simlab.scenes.eval import add_s
    from simlab.scenes.geometry import pose_from_tq

    cam_full, cam = scale_down(YCBV, 2), scale_down(YCBV, 4)
    obj = objects.load_object("CrackerBox")
    T_wc = look_at([0.1, -0.6, 0.45], [0.0, 0.0, 0.1])
    T = np.eye(4)
    T[:3, 3] = [0.0, 0.0, obj.half_extents[2]]
    tris = objects.subdivide(obj.mesh, 0.02).transformed(np.linalg.inv(T_wc) @ T).triangles
    depth, _ = render.raster_depth(cam_full, jnp.asarray(tris, jnp.float32), 32)
    ws = likelihood.Workspace(lo=(-0.2, -0.2, 0.012), hi=(0.2, 0.2, 0.3))
    obs = likelihood.make_observation(
        None, T_wc, ws, depth_full=np.asarray(depth), cam_full=cam_full, cam_low=cam
    )
    scene = infer.make_scene([obj.surface_points], T_wc)
    cfg = infer.Config()
    t0 = jnp.asarray([[0.015, -0.012, obj.half_extents[2] + 0.01]], jnp.float32)
    q0 = jnp.asarray([[0.995, 0.0, 0.0, 0.0998]], jnp.float32)  # 11.5° about z
    start = np.asarray(pose_from_tq(t0[0], q0[0]))
    t1, q1, lls, _acc = infer.mh_sweeps(jax.random.key(0), cam, ws, cfg, scene, obs, t0, q0, 60)
    end = np.asarray(pose_from_tq(t1[0], q1[0]))
    e0, e1 = add_s(T, start, obj.metric_points), add_s(T, end, obj.metric_points)
    assert e0 > 0.01 and e1 < 0.005, (e0, e1)
    truth = infer.log_likelihood(
        cam,
        ws,
        cfg,
        scene,
        obs,
        jnp.asarray(T[None, :3, 3], jnp.float32),
        jnp.asarray([[1.0, 0, 0, 0]]),
    )
    assert float(lls[-1]) > float(lls[0]) and float(lls[-1]) <= float(truth) + 50


@jax.jit
def _run_icp_kernel(keys, t, q):
    # a deterministic stand-in for ICP: contract half-way towards the mode (any deterministic
    # map of the pose must leave the target invariant under the mixture proposal)
    def icp_fn(a, b):
        return MU + 0.5 * (a - MU), b

    def one(key, ti, qi):
        def rep(c, k):
            ti, qi, n = c
            cur = _log_target(ti, qi)
            ti, qi, _, ok = infer.icp_mixture_kernel(
                k, ti, qi, cur, _log_target, icp_fn, 0.003, 5000.0
            )
            return (ti, qi, n + ok), None

        (ti, qi, n), _ = jax.lax.scan(rep, (ti, qi, 0), jax.random.split(key, 4))
        return ti, n

    return jax.vmap(one)(keys, t, q)


def test_icp_mixture_move_leaves_target_invariant():
    t0, q0 = _exact_samples(4, N)
    t1, n_acc = _run_icp_kernel(
        jax.random.split(jax.random.key(2), N),
        jnp.asarray(t0, jnp.float32),
        jnp.asarray(q0, jnp.float32),
    )
    assert np.asarray(n_acc).mean() > 0.3  # of 4 moves
    ref = _exact_samples(5, N)[0]
    for k in range(3):
        assert stats.ks_2samp(np.asarray(t1)[:, k], ref[:, k]).pvalue > 1e-3
