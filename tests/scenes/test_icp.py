import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes.geometry import pose_from_tq
from simlab.scenes.icp import kabsch


def test_kabsch_recovers_a_rigid_transform_and_ignores_zero_weights():
    rng = np.random.default_rng(0)
    src = rng.normal(size=(50, 3)) * 0.05
    q = rng.normal(size=4)
    T = np.asarray(pose_from_tq(jnp.asarray([0.1, -0.2, 0.05]), jnp.asarray(q / np.linalg.norm(q))))
    dst = src @ T[:3, :3].T + T[:3, 3]
    w = np.ones(50)
    dst[:10] += 1.0  # outliers with zero weight
    w[:10] = 0
    est = np.asarray(jax.jit(kabsch)(jnp.asarray(src), jnp.asarray(dst), jnp.asarray(w)))
    np.testing.assert_allclose(est, T, atol=2e-5)
    assert np.linalg.det(est[:3, :3]) > 0
