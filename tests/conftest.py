"""Suite-wide pytest settings: one JAX compilation cache per test session, and under
pytest-xdist the files with ``slow`` tests scheduled first.

Several test files compile the same programs (the drive wrappers' module-level jitted reset
and step serve test_scenario and test_wrappers, for example). In one process JAX's in-memory
cache shares them; under ``make test``'s two pytest-xdist workers the files run in different
processes, and each would compile them again. So the session gets a fresh on-disk cache
(``JAX_COMPILATION_CACHE_DIR``) that both workers inherit: a program one of them compiled
is loaded, not recompiled, by the other. It starts empty every session (nothing is carried
between runs) and is deleted at the end. A cache directory set by the caller is kept as is;
``JAX_COMPILATION_CACHE_DIR=`` (empty) runs without one.

``make test`` hands out whole files (``--dist loadfile``) in collection order
(``--no-loadscope-reorder``); a file started last that takes minutes leaves the other worker
idle meanwhile. So on the workers, files holding a test marked ``slow`` (the ones that take
15 s or more alone) come first, in their usual order, then the rest.
"""

import os
import shutil
import sys
import tempfile


def pytest_configure(config):
    # Runs in the controller before xdist starts its workers (they inherit the environment);
    # workers then see the variable set and leave it.
    if "JAX_COMPILATION_CACHE_DIR" in os.environ:
        return
    path = tempfile.mkdtemp(prefix="simlab-jax-cache-")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = path
    if "jax" in sys.modules:  # imported already (by a plugin): the variable was read
        sys.modules["jax"].config.update("jax_compilation_cache_dir", path)
    config._simlab_jax_cache = path


def pytest_unconfigure(config):
    path = getattr(config, "_simlab_jax_cache", None)
    if path is not None:
        shutil.rmtree(path, ignore_errors=True)
        del os.environ["JAX_COMPILATION_CACHE_DIR"]


def pytest_collection_modifyitems(config, items):
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return  # a plain run keeps the usual order
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)  # stable: order kept otherwise
