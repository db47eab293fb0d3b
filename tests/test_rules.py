import numpy as np
import pytest

from facefill.errors import InvalidParameterError
from facefill.fill import METHODS, Method, get_method
from facefill.fill.region import enclosed_holes
from facefill.formats import read_depth
from facefill.model import FaceModel

TEST_PEOPLE = (17, 18, 19, 20)


def _sample(dataset, folder, person, name="frame11_dep.png"):
    return read_depth(dataset / folder / f"person-{person}" / name)


def _original_average(dataset) -> np.ndarray:
    """The original system's average face, as far as its outputs show it.

    The original trained its average on faces that are not all in train/ (it
    filled pixels outside every training face), so it cannot be recomputed; but
    wherever a test face and its mirror were both missing, the original wrote its
    average's pixel (or left 255 where the average had none). The four outputs
    agree wherever they overlap.
    """
    average = np.full((120, 116), 255, np.uint8)
    for person in TEST_PEOPLE:
        given = _sample(dataset, "test", person)
        output = _sample(dataset, "seed-results", person)
        from_average = (given == 255) & (given[:, ::-1] == 255)
        average[from_average] = output[from_average]
    return average


def _assert_original_except_enclosed_holes(given, filled, expected):
    """Equal pixel by pixel, except enclosed-hole pixels the original left missing and facefill fills."""
    differs = filled != expected
    left_by_original = enclosed_holes(given == 255) & (expected == 255)
    np.testing.assert_array_equal(differs, left_by_original)
    assert (filled[left_by_original] != 255).all()


@pytest.mark.parametrize("person", TEST_PEOPLE)
def test_seed_reproduces_the_original_pixel_by_pixel(dataset, person):
    model = FaceModel.from_average(_original_average(dataset))
    given = _sample(dataset, "test", person)
    expected = _sample(dataset, "seed-results", person)
    _assert_original_except_enclosed_holes(given, model.reconstruct(given, "seed"), expected)


@pytest.mark.parametrize("person", TEST_PEOPLE)
def test_symmetry_reproduces_the_originals_symmetry_step(dataset, person):
    model = FaceModel().fit([_sample(dataset, "train", 2)])
    given = _sample(dataset, "test", person)
    expected = _sample(dataset, "seed-results", person, "frame11_dep_sym.png")
    _assert_original_except_enclosed_holes(given, model.reconstruct(given, "symmetry"), expected)


def test_seed_on_sample_data_fills_mirror_else_average_inside_outline(dataset, sample_model):
    model = sample_model
    for person in TEST_PEOPLE:
        given = _sample(dataset, "test", person)
        filled = model.reconstruct(given, "seed")
        missing, mirror = given == 255, given[:, ::-1]
        from_mirror = missing & (mirror != 255)
        np.testing.assert_array_equal(filled[from_mirror], mirror[from_mirror])
        from_average = missing & (mirror == 255) & model.outline_
        np.testing.assert_array_equal(filled[from_average], np.rint(model.mean_[from_average]).astype(np.uint8))
        np.testing.assert_array_equal(filled[~missing], given[~missing])


def test_symmetry_fills_an_enclosed_hole_on_the_centre_line_smoothly():
    face = np.full((21, 21), 255, np.uint8)
    face[2:19, 2:19] = 50
    face[8:13, 8:13] = 255  # symmetric about the centre: no mirror pixel is known
    model = FaceModel().fit([face])
    filled = model.reconstruct(face, "symmetry")
    assert (filled[8:13, 8:13] == 50).all()


def test_average_leaves_background_outside_the_outline(faces8, model8):
    model = model8
    given = faces8[0].copy()
    given[:, :58] = 255
    filled = model.reconstruct(given, "average")
    assert (filled[~model.outline_ & (given == 255)] == 255).all()
    assert (filled[model.outline_] != 255).all()


def test_registry_names_and_lookup():
    assert list(METHODS) == ["auto", "seed", "symmetry", "average"]
    assert all(get_method(name) is METHODS[name] and METHODS[name].name == name for name in METHODS)
    assert get_method(METHODS["seed"]) is METHODS["seed"]  # a Method is taken as it is


@pytest.mark.parametrize("name", ["Auto", "", "mirror", None])
def test_an_unknown_method_is_an_error_naming_the_choices(name):
    with pytest.raises(InvalidParameterError, match="is not known; expected one of auto, seed, symmetry, average"):
        get_method(name)


def test_a_fill_sees_only_the_face_the_pixels_to_fill_the_frame_and_the_prior(model8, faces8):
    seen = []

    def spy(depth, unknown, frame, prior):
        seen.append((depth, unknown, frame, prior))
        return depth

    holed = faces8[0].copy()
    holed[50:60, 40:60] = 255
    model8.reconstruct(holed, Method("spy", "records what it is given", spy))
    depth, unknown, frame, prior = seen[0]
    np.testing.assert_array_equal(unknown, holed == 255)
    assert np.isnan(depth[unknown]).all() and (depth[~unknown] == holed[~unknown]).all()
    assert frame is model8.frame_ and prior is model8.prior_


