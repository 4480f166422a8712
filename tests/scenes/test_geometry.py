import jax
import jax.numpy as jnp
import numpy as np
from scipy.spatial.transform import Rotation

from simlab.scenes import geometry as g


def test_quat_matrix_roundtrip_matches_scipy():
    q = jax.jit(lambda k: g.uniform_quat(k, (200,)))(jax.random.key(0))
    R = np.asarray(jax.jit(g.quat_to_matrix)(q))
    # scipy uses (x, y, z, w)
    ref = Rotation.from_quat(np.asarray(q)[:, [1, 2, 3, 0]]).as_matrix()
    np.testing.assert_allclose(R, ref, atol=1e-5)
    q2 = np.asarray(jax.jit(g.matrix_to_quat)(jnp.asarray(R)))
    same = np.minimum(np.abs(q2 - np.asarray(q)).max(1), np.abs(q2 + np.asarray(q)).max(1))
    assert same.max() < 1e-5
    assert np.all(np.asarray(q)[:, 0] >= 0)


def test_quat_multiply_composes_rotations():
    k1, k2 = jax.random.split(jax.random.key(1))
    a, b = g.uniform_quat(k1, (50,)), g.uniform_quat(k2, (50,))
    lhs, rhs = jax.jit(
        lambda a, b: (
            g.quat_to_matrix(g.quat_multiply(a, b)),
            g.quat_to_matrix(a) @ g.quat_to_matrix(b),
        )
    )(a, b)
    np.testing.assert_allclose(lhs, rhs, atol=1e-5)


def test_pose_inverse_and_transform():
    rng = np.random.default_rng(2)
    q = rng.normal(size=(10, 4))
    T = np.asarray(
        jax.jit(g.pose_from_tq)(rng.normal(size=(10, 3)), q / np.linalg.norm(q, axis=1)[:, None])
    )
    inv = np.asarray(jax.jit(g.invert_pose)(T))
    np.testing.assert_allclose(inv @ T, np.broadcast_to(np.eye(4), T.shape), atol=1e-5)
    p = rng.normal(size=(10, 7, 3))
    hom = np.concatenate([p, np.ones((10, 7, 1))], -1) @ np.swapaxes(T, -1, -2)
    np.testing.assert_allclose(jax.jit(g.transform_points)(T, p), hom[..., :3], atol=1e-5)
    t, q2 = jax.jit(g.pose_to_tq)(T)
    np.testing.assert_allclose(jax.jit(g.pose_from_tq)(t, q2), T, atol=1e-5)


@jax.jit
def _axis_angle_case():
    q = g.axis_angle_to_quat(jnp.array([0.0, 0.0, 1.0]), jnp.pi / 2)
    R = g.rotation_about_axis(jnp.array([1.0, 0, 0]), 0.3)
    return g.quat_to_matrix(q), g.quat_angle(q), g.rotation_angle(jnp.eye(3), R)


def test_axis_angle_and_angle():
    R, angle, angle2 = _axis_angle_case()
    np.testing.assert_allclose(R, [[0, -1, 0], [1, 0, 0], [0, 0, 1]], atol=1e-6)
    assert abs(float(angle) - np.pi / 2) < 1e-6
    assert abs(float(angle2) - 0.3) < 1e-5


def test_uniform_quat_is_haar():
    # the trace of a Haar rotation has E[tr R] = 0 and E[(tr R)^2] = 1
    R = jax.jit(lambda k: g.quat_to_matrix(g.uniform_quat(k, (20000,))))(jax.random.key(4))
    tr = np.trace(np.asarray(R), axis1=1, axis2=2)
    assert abs(tr.mean()) < 0.03
    assert abs((tr**2).mean() - 1.0) < 0.05
