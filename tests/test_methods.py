import os

import numpy as np
import pytest

from facefill.io import read_depth
from facefill.methods import METHODS, get_method
from facefill.model import FaceModel
from facefill.outline import enclosed_holes

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


def test_seed_on_sample_data_fills_mirror_else_average_inside_outline(dataset):
    model = FaceModel().fit([read_depth(p) for p in sorted((dataset / "train").glob("*/*.png"))])
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


def test_average_leaves_background_outside_the_outline(faces8):
    model = FaceModel().fit(faces8[1:])
    given = faces8[0].copy()
    given[:, :58] = 255
    filled = model.reconstruct(given, "average")
    assert (filled[~model.outline_ & (given == 255)] == 255).all()
    assert (filled[model.outline_] != 255).all()


def test_registry_names_and_lookup():
    assert set(METHODS) == {"auto", "seed", "symmetry", "average"}
    assert get_method("seed").name == "seed"


# ------------------------------------------------------------------ auto
from facefill.evaluate import score  # noqa: E402
from facefill.masks import make_mask, mask_rng  # noqa: E402
from facefill.synth import make_faces  # noqa: E402


@pytest.fixture(scope="module")
def synthetic_model():
    return FaceModel().fit(make_faces(30, seed=21))


def _hole_mae(model, face, rows, cols):
    holed = face.copy()
    holed[rows, cols] = 255
    filled = model.reconstruct(holed, "auto")
    assert (filled[rows, cols] != 255).all()
    return np.abs(filled[rows, cols].astype(float) - face[rows, cols]).mean()


def test_a_face_shifted_by_3_pixels_fills_as_well_as_a_centred_one(synthetic_model):
    centred = make_faces(1, seed=3, jitter=False)[0]
    shifted = make_faces(1, seed=3, shift=(0.0, 3.0), jitter=False)[0]
    mae_centred = _hole_mae(synthetic_model, centred, slice(60, 75), slice(30, 50))
    mae_shifted = _hole_mae(synthetic_model, shifted, slice(60, 75), slice(33, 53))
    assert mae_shifted < 1.5 * mae_centred + 0.2
    assert mae_shifted < 1.5


def test_auto_keeps_linear_algebra_to_one_thread_while_it_fills(synthetic_model, monkeypatch):
    # more threads made one face's small systems 3x slower; the limit is lifted afterwards
    from threadpoolctl import threadpool_info

    import facefill.methods as methods

    seen = []
    solve = methods.smooth_correction

    def watched(*args, **kwargs):
        seen.append({library["filepath"]: library["num_threads"] for library in threadpool_info()})
        return solve(*args, **kwargs)

    monkeypatch.setattr(methods, "smooth_correction", watched)
    face = make_faces(1, seed=8)[0]
    face[40:60, 40:70] = 255
    before = {library["filepath"]: library["num_threads"] for library in threadpool_info()}
    synthetic_model.reconstruct(face, "auto")
    # NumPy's and SciPy's own BLAS (their wheels keep them in numpy.libs and scipy.libs); other
    # packages' (OpenCV's) are not used to fill
    import scipy

    ours = [path for path in seen[0] if path.startswith((os.path.dirname(np.__file__), os.path.dirname(scipy.__file__)))]
    assert len(ours) >= 2 and all(seen[0][path] == 1 for path in ours)
    after = {library["filepath"]: library["num_threads"] for library in threadpool_info()}
    assert all(after[path] == before.get(path, after[path]) for path in after)


def test_a_hole_on_the_midline_is_filled_smoothly(synthetic_model):
    face = make_faces(1, seed=8, jitter=False)[0]
    mae = _hole_mae(synthetic_model, face, slice(45, 60), slice(50, 66))  # across the nose
    assert mae < 2.0


@pytest.mark.parametrize("family", ["blobs", "half", "chin", "top", "band"])
def test_auto_beats_the_original_rule_and_keeps_the_visible_outline(synthetic_model, family):
    maes = {"auto": [], "seed": []}
    ious = []
    for i, face in enumerate(make_faces(4, seed=31)):
        hidden = make_mask(family, face != 255, mask_rng(0, i, family, 0))
        given = face.copy()
        given[hidden] = 255
        for method in maes:
            output = synthetic_model.reconstruct(given, method)
            scores = score(face, given, output, hidden, 255)
            maes[method].append(scores["mae"])
            if method == "auto":
                ious.append(scores["iou"])
                assert scores["changed"] <= 0.01 * (face != 255).sum()
    assert np.mean(maes["auto"]) < np.mean(maes["seed"])
    assert np.mean(ious) > 0.85


def test_auto_on_sample_data_never_changes_observed_pixels(dataset):
    model = FaceModel().fit([read_depth(p) for p in sorted((dataset / "train").glob("*/*.png"))])
    for person in TEST_PEOPLE:
        given = _sample(dataset, "test", person)
        filled, confidence = model.reconstruct(given, "auto", return_confidence=True)
        observed = given != 255
        np.testing.assert_array_equal(filled[observed], given[observed])
        assert (filled[enclosed_holes(~observed)] != 255).all()
        assert (confidence[observed] == 1).all() and (confidence[filled == 255] == 0).all()
        newly = ~observed & (filled != 255)
        assert ((confidence[newly] > 0) & (confidence[newly] < 1)).all()
