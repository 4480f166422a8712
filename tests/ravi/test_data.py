"""R7: loaders."""

from pathlib import Path

import numpy as np
import pytest

from simlab.core.errors import DataError
from simlab.ravi.data import galaxy, load_hospital

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "ravi"
if not DATA.exists():
    DATA = Path("/work/shared/data/ravi")


def test_galaxy_variants():
    v = galaxy(scaled=False)
    assert v.shape == (82,) and v[77] == 26960.0 and np.all(np.diff(v) >= 0)
    assert np.allclose(galaxy(), v / 1000)
    typo = galaxy(scaled=False, mass_typo=True)
    assert 26690.0 in typo and 26960.0 not in typo and np.all(np.diff(typo) >= 0)


@pytest.mark.skipif(not DATA.exists(), reason="hospital data not available")
def test_hospital_shape_and_orientation():
    h = load_hospital(DATA)
    assert len(h.dirty) == len(h.clean) == 1000 and len(h.dirty[0]) == 19
    assert len(set(h.column("MeasureName", clean=True))) == 28
    assert len(set(h.column("MeasureName"))) == 64
    # column-stochastic: columns sum to 1, rows do not
    assert np.allclose(h.transition.sum(axis=0), 1, atol=1e-4)
    assert not np.allclose(h.transition.sum(axis=1), 1, atol=1e-2)


def test_missing_data_names_the_path(tmp_path):
    with pytest.raises(DataError, match="ravi-uai-2022"):
        load_hospital(tmp_path / "nope")
    (tmp_path / "hospital.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match="hospital_clean.csv"):
        load_hospital(tmp_path)
