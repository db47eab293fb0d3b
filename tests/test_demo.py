"""The demo, checked for what a user sees in it."""

import numpy as np
import pytest
from PIL import Image

from facefill.demo import DEMO_METHODS, run_demo
from facefill.formats import read_depth
from facefill.masks import FAMILIES
from facefill.model import FaceModel
from facefill.synth import make_faces

ZOOM, PAD, TITLE = 2, 6, 14  # report.sheet's layout
PANELS = ("input", *DEMO_METHODS, "truth")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return out, run_demo(out, n_train=10)


def _panel(picture: np.ndarray, row: int, column: int) -> np.ndarray:
    height, width = 120 * ZOOM, 116 * ZOOM
    top = PAD + row * (height + TITLE + PAD) + TITLE
    left = PAD + column * (width + PAD)
    return picture[top : top + height, left : left + width]


def test_the_picture_has_a_row_per_kind_of_hole_and_a_panel_per_method(demo):
    _, paths = demo
    with Image.open(paths["comparison"]) as image:
        picture = np.asarray(image.convert("RGB"))
    assert picture.shape[0] == len(FAMILIES) * (120 * ZOOM + TITLE + PAD) + PAD
    assert picture.shape[1] == len(PANELS) * (116 * ZOOM + PAD) + PAD
    white = (picture == 255).all(axis=-1)
    for row in range(len(FAMILIES)):
        holes = {name: (_panel(white, row, c)).sum() for c, name in enumerate(PANELS)}
        # the input shows a hole; auto's panel leaves no more background than the truth has
        # (less: the hole's outline is drawn over it)
        assert holes["input"] > holes["truth"] + 100
        assert holes["auto"] < holes["truth"] + 0.15 * (holes["input"] - holes["truth"])


def test_the_filled_faces_are_the_models_fills_and_beat_the_original_rule(demo):
    out, paths = demo
    model = FaceModel.load(paths["model"])
    truths = make_faces(len(FAMILIES), seed=1)
    errors = {"auto": [], "seed": []}
    for family, truth in zip(FAMILIES, truths):
        given = read_depth(out / "test" / f"{family}.png")
        filled = read_depth(paths["filled"] / f"{family}.png")
        np.testing.assert_array_equal(filled, model.reconstruct(given))
        hidden = (given == 255) & (truth != 255)
        assert hidden.sum() > 50
        for method in errors:
            output = model.reconstruct(given, method)
            known = hidden & (output != 255)
            errors[method].append(np.abs(output[known].astype(float) - truth[known]).mean())
    assert np.mean(errors["auto"]) < 0.8 * np.mean(errors["seed"])


def test_the_demo_writes_its_training_faces_and_the_models_picture(demo):
    out, paths = demo
    assert len(list((out / "train").glob("*.png"))) == 10
    assert paths["model"].with_suffix(".png").is_file()
