import numpy as np
import pytest

from simlab.scenes import eval as ev


@pytest.mark.parametrize(
    ("errors", "expected"),
    [([0.05], 1.0), ([0.2], 0.0), ([0.0, 0.2], 0.5), ([0.02, 0.04, 0.06, 0.08], 0.7)],
)
def test_auc_spec_cases(errors, expected):
    assert ev.auc(errors) == pytest.approx(expected, abs=1e-12)


def test_add_hand_computed():
    pts = np.array([[0.0, 0, 0], [1.0, 0, 0]])
    T = np.eye(4)
    T2 = np.eye(4)
    T2[:3, 3] = [0.0, 0.03, 0.04]  # pure shift of 5 cm
    assert ev.add(T, T2, pts) == pytest.approx(0.05)
    # rotation by π about z around the origin: distances 0 and 2 → mean 1
    Rz = np.diag([-1.0, -1.0, 1.0, 1.0])
    assert ev.add(T, Rz, pts) == pytest.approx(1.0)
    # ADD-S: the rotated point set {0, −1} matched to nearest: 0 → 0 (0), 1 → 0 (1)
    assert ev.add_s(T, Rz, pts) == pytest.approx(0.5)


def test_add_s_symmetric_object_and_bounds():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(500, 3)) * [0.05, 0.05, 0.1]
    pts = np.vstack([pts, pts * [-1, -1, 1]])  # symmetric under π about z
    T = np.eye(4)
    assert ev.add_s(T, T, pts) == 0.0
    Rz = np.diag([-1.0, -1.0, 1.0, 1.0])
    assert ev.add_s(T, Rz, pts) < 1e-12 < ev.add(T, Rz, pts)
    for _ in range(5):
        T2 = np.eye(4)
        T2[:3, 3] = rng.normal(size=3) * 0.02
        assert ev.add_s(T, T2, pts) <= ev.add(T, T2, pts) + 1e-12


def test_fraction_below():
    assert ev.fraction_below([0.005, 0.015, 0.03], 0.01) == pytest.approx(1 / 3)
    assert ev.fraction_below([0.005, 0.015, 0.03], 0.02) == pytest.approx(2 / 3)
