"""Test-only oracles: pgmpy (read lazily; it is slow to import and never used by simlab)."""

import functools
import gzip
import os


@functools.lru_cache(maxsize=4)
def pgmpy_model(path):
    """pgmpy's DiscreteBayesianNetwork read from a .bif / .bif.gz file."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from pgmpy.readwrite import BIFReader

    with open(path, "rb") as f:
        raw = f.read()
    text = (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()
    return BIFReader(string=text).get_model()
