"""x64 for simlab.eevi tests only, via a context manager (never a global config update: all
systems' tests share one pytest process)."""

import jax
import pytest


@pytest.fixture(autouse=True)
def _x64():
    with jax.enable_x64(True):
        yield
