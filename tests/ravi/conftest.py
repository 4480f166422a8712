import jax
import pytest


@pytest.fixture(autouse=True)
def _x64():
    # The RAVI tests compare estimators with exact values: run JAX in float64 without
    # changing the global config of other test modules.
    with jax.enable_x64(True):
        yield
