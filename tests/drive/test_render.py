"""`simlab drive render` writes a valid PNG and an animated GIF with the promised frames."""

import numpy as np
import pytest
from PIL import Image

from simlab.core.errors import ConfigError
from simlab.drive.render import load_map, render_rollout


@pytest.mark.slow  # ~24 s alone, mostly compiling the simulator
def test_png_and_gif_frame_count(tmp_path):
    steps, every = 7, 2  # frames at t = 0, 2, 4, 6
    png, gif = render_rollout(tmp_path, "roundabout", steps=steps, agents=5, seed=1, every=every)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(png) as im:
        im.load()
        assert im.size[0] > 300 and im.size[1] > 300
        pixels = np.asarray(im.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 20  # something was drawn
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.is_animated
        assert im.n_frames == steps // every + 1
        first = np.asarray(im.convert("RGB"))
        im.seek(im.n_frames - 1)
        last = np.asarray(im.convert("RGB"))
    assert np.any(first != last)  # the agents moved


def test_bad_map_name(tmp_path):
    with pytest.raises(ConfigError, match="nowhere"):
        load_map("nowhere")
