"""The fast float32 trigonometry against NumPy float64, including quadrants and edge cases."""

import jax
import numpy as np
import pytest

from simlab.drive import trig


@pytest.mark.parametrize("jit", [True, False])  # eager: no fused multiply-adds across ops
def test_sincos_tan_accuracy(jit):
    x = np.concatenate([np.linspace(-1000, 1000, 200001), [0.0, np.pi, -np.pi, np.pi / 2]])
    s, c = (jax.jit(trig.sincos) if jit else trig.sincos)(x.astype(np.float32))
    x32 = x.astype(np.float32).astype(np.float64)  # compare at the float32 input
    assert np.max(np.abs(np.asarray(s) - np.sin(x32))) < 2e-7
    assert np.max(np.abs(np.asarray(c) - np.cos(x32))) < 2e-7
    phi = np.linspace(-0.6, 0.6, 10001).astype(np.float32)
    np.testing.assert_allclose(np.asarray(trig.tan(phi)), np.tan(phi.astype(np.float64)), atol=3e-7)
    assert float(trig.sincos(np.float32(0.0))[0]) == 0.0
    assert float(trig.sincos(np.float32(0.0))[1]) == 1.0


def test_atan2_atan_wrap():
    rng = np.random.default_rng(0)
    y = rng.normal(size=100000) * rng.choice([1e-3, 1.0, 1e3], 100000)
    x = rng.normal(size=100000) * rng.choice([1e-3, 1.0, 1e3], 100000)
    y[:8], x[:8] = [0, 0, 1, -1, 0, 0, 1, -1], [1, -1, 0, 0, 0, 2, 1, -1]
    y32, x32 = y.astype(np.float32), x.astype(np.float32)
    got = np.asarray(jax.jit(trig.atan2)(y32, x32))
    want = np.arctan2(y32.astype(np.float64), x32.astype(np.float64))
    want[4] = 0.0  # atan2(0, 0) = 0
    err = np.abs(np.angle(np.exp(1j * (got - want))))  # -π and π are the same angle
    assert err.max() < 3e-7
    t = np.linspace(-50, 50, 10001).astype(np.float32)
    np.testing.assert_allclose(np.asarray(trig.atan(t)), np.arctan(t.astype(np.float64)), atol=3e-7)
    a = np.linspace(-20, 20, 10001).astype(np.float32)
    w = np.asarray(trig.wrap(a))
    assert np.all(w >= -np.pi - 1e-6) and np.all(w < np.pi + 1e-6)
    np.testing.assert_allclose(np.cos(w), np.cos(a), atol=2e-6)
    np.testing.assert_allclose(np.sin(w), np.sin(a), atol=2e-6)
