"""``jit0``: jit for tests, compiled with XLA's backend optimisation level 0.

The statistical tests run each compiled program once or twice on small inputs, so XLA's
optimisation passes cost far more than they save (measured: SMC compile 5.8 s -> 2.4 s).
Speed is measured in bench/gen with the default options, never here.
"""

import jax

_OPTIONS = {"xla_backend_optimization_level": 0}


def jit0(fn):
    """Like ``jax.jit(fn)`` (positional array/pytree arguments only), compiled at -O0."""
    jf = jax.jit(fn)
    cache = {}

    def call(*args):
        leaves, treedef = jax.tree_util.tree_flatten(args)
        sig = (
            treedef,
            tuple((getattr(x, "shape", ()), str(getattr(x, "dtype", type(x)))) for x in leaves),
        )
        if sig not in cache:
            cache[sig] = jf.lower(*args).compile(_OPTIONS)
        return cache[sig](*args)

    return call
