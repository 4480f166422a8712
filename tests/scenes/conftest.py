from pathlib import Path

import pytest

YCB = Path(__file__).resolve().parents[3] / "shared" / "data" / "ycb"


@pytest.fixture(scope="session")
def ycb_root():
    """The shared YCB meshes, or skip when ../shared/data is absent."""
    if not (YCB / "YcbCrackerBox" / "textured_simple_reoriented.obj").exists():
        pytest.skip("../shared/data/ycb not present")
    return YCB
