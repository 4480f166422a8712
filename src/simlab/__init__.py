"""simlab: learning and inference by simulation.

Five research systems on one foundation (see ARCHITECTURE in the shared docs):
``simlab.drive`` (Gigaflow), ``simlab.agents`` (LOOP), ``simlab.eevi`` (EEVI),
``simlab.ravi`` (RAVI) and ``simlab.scenes`` (3DP3), built on ``simlab.gen`` and
``simlab.core``. Importing ``simlab`` imports neither JAX nor PyTorch.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
