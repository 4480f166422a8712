import jax
import jax.numpy as jnp
import numpy as np

from simlab.scenes.geometry import pose_from_tq
from simlab.scenes.icp import kabsch, nearest_neighbours


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


def test_nearest_neighbours_match_a_brute_force_float64_oracle():
    """Points of a table-top scene (0.5 m off the origin, mm-scale gaps): the matmul form
    picks a neighbour whose exact distance equals the true minimum to float32 precision."""
    rng = np.random.default_rng(1)
    dst = np.array([0.4, -0.3, 0.1]) + rng.uniform(-0.1, 0.1, (800, 3))
    src = dst[rng.integers(0, 800, 400)] + rng.normal(0, 0.002, (400, 3))
    mask = rng.random(800) > 0.3
    j, d2 = jax.jit(nearest_neighbours)(
        jnp.asarray(src, jnp.float32), jnp.asarray(dst, jnp.float32), jnp.asarray(mask)
    )
    full = ((src[:, None] - dst[None]) ** 2).sum(-1)
    full[:, ~mask] = np.inf
    best = full.min(1)
    assert mask[np.asarray(j)].all()
    np.testing.assert_allclose(full[np.arange(400), np.asarray(j)], best, rtol=0, atol=1e-8)
    np.testing.assert_allclose(np.asarray(d2), best, rtol=1e-4, atol=1e-9)
    _, none = nearest_neighbours(jnp.zeros((3, 3)), jnp.ones((4, 3)), jnp.zeros(4, bool))
    assert np.isinf(np.asarray(none)).all()
