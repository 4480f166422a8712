"""Small models shared by the simlab.gen tests."""

import math

from simlab.gen import bernoulli, gen, normal

LOG_P_X = -0.5 * (1.3 / 1.5) ** 2 - math.log(1.5) - 0.5 * math.log(2 * math.pi)  # -1.7000


@gen
def gauss3(t):
    """μ ∼ N(0,1), z ∼ N(μ,1), x ∼ N(z,0.5): p(x) = N(x; 0, 1.5²)."""
    mu = t("mu", normal, 0.0, 1.0)
    z = t("z", normal, mu, 1.0)
    return t("x", normal, z, 0.5)


@gen
def gauss_proposal(t, target):
    """A Gaussian proposal for (μ, z) given x (not the exact posterior)."""
    x = target.constraints["x"]
    mu = t("mu", normal, 0.4 * x, 0.8)
    t("z", normal, 0.5 * mu + 0.6 * x, 0.6)


@gen
def mixed3(t, p):
    """A 3-variable model mixing discrete and continuous choices."""
    b = t("b", bernoulli, p)
    m = t("m", normal, 2.0 * b - 1.0, 1.0)
    return t("y", normal, m, 0.7)
