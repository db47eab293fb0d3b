import re
from dataclasses import replace

import numpy as np
import pytest

from facefill.depth import missing_mask
from facefill.errors import (
    InvalidParameterError,
    NotFittedError,
    NothingObservedError,
    ShapeMismatchError,
    UnsupportedImageError,
)
from facefill.model import FaceModel
from facefill.synth import make_faces

from .conftest import with_hole

#: Fixed prior settings for the tests that need some model, not a cross-validated one.
QUICK = {"n_components": 4, "noise": 1.0, "mirror_weight": 0.5, "border_smoothing": 1.0}


@pytest.fixture(scope="module")
def float_faces(faces16) -> np.ndarray:
    """The 16-bit faces as float32 millimetres, NaN missing."""
    faces = faces16.astype(np.float32)
    faces[faces == 0] = np.nan
    return faces


@pytest.fixture(scope="module")
def float_model(float_faces) -> FaceModel:
    """A model of float_faces[1:]; float_faces[0] is new to it."""
    return FaceModel(**QUICK).fit(float_faces[1:])


def test_fit_returns_self_and_sets_learned_state(faces8):
    model = FaceModel(**QUICK)
    assert model.fit(faces8) is model
    assert model.shape_ == (120, 116)
    assert model.dtype_ == np.uint8 and model.missing_value_ == 255 and model.n_images_ == 12


def test_reconstruct_never_changes_observed_pixels_and_keeps_dtype(faces16):
    model = FaceModel(**QUICK).fit(faces16[1:])
    holed = with_hole(faces16[0], slice(60, 110), slice(30, 90), 0)
    for method in ("auto", "seed", "symmetry", "average"):
        filled = model.reconstruct(holed, method)
        assert filled.dtype == np.uint16 and filled.shape == (200, 160)
        observed = ~missing_mask(holed, 0)
        np.testing.assert_array_equal(filled[observed], holed[observed])
        assert not missing_mask(filled, 0)[60:110, 30:90].any()


def test_reconstruct_does_not_modify_the_callers_array(faces8, model8):
    model = model8
    holed = with_hole(faces8[0], slice(40, 60), slice(40, 60), 255)
    before = holed.copy()
    model.reconstruct(holed)
    np.testing.assert_array_equal(holed, before)


def test_image_with_nothing_missing_comes_back_identical(faces8, model8):
    model = model8
    full_frame = np.where(faces8[0] == 255, 20, faces8[0]).astype(np.uint8)
    for method in ("auto", "seed", "symmetry", "average"):
        np.testing.assert_array_equal(model.reconstruct(full_frame, method), full_frame)


def test_fill_never_takes_the_missing_value():
    model = FaceModel(**QUICK).fit([np.full((8, 8), 250, np.uint8)])
    # an average at the top of the range would round onto "missing"
    model.frame_ = replace(model.frame_, average=np.full((8, 8), 255.0))
    holed = np.full((8, 8), 250, np.uint8)
    holed[3:5, 3:5] = 255
    filled = model.reconstruct(holed, "average")
    assert (filled[3:5, 3:5] == 254).all()


def test_float_images_with_nan_missing(float_faces, float_model):
    model = float_model
    assert np.isnan(model.missing_value_)
    holed = float_faces[0].copy()
    holed[80:100, 60:100] = np.nan
    filled = model.reconstruct(holed)
    assert filled.dtype == np.float32 and np.isfinite(filled[80:100, 60:100]).all()


def test_unfitted_model_says_so():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        FaceModel().reconstruct(np.zeros((4, 4), np.uint8))
    with pytest.raises(NotFittedError):
        FaceModel().save("x.npz")


def test_fit_rejects_unknown_average(faces8):
    with pytest.raises(InvalidParameterError, match="average 'median' is not known; expected one of mean, running"):
        FaceModel(average="median").fit(faces8)


def test_fit_rejects_bad_batch_size(faces8):
    with pytest.raises(InvalidParameterError, match="batch_size 0 is not valid"):
        FaceModel(average="running", batch_size=0).fit(faces8)


def test_fit_rejects_no_images():
    with pytest.raises(InvalidParameterError, match="images is empty"):
        FaceModel().fit([])


def test_fit_rejects_mixed_sizes(faces8, faces16):
    with pytest.raises(ShapeMismatchError, match="image 1: size 160x200 differs from the first image's 116x120"):
        FaceModel().fit([faces8[0], faces16[0]])


def test_a_mismatch_in_a_later_chunk_names_the_image(faces8, faces16):
    images = list(faces8[:7]) + [faces16[0]]
    with pytest.raises(ShapeMismatchError, match="image 7: size 160x200 differs from the first image's 116x120"):
        FaceModel(chunk_size=3).fit(images)


def test_fit_rejects_mixed_dtypes(faces8):
    with pytest.raises(ShapeMismatchError, match="image 1: dtype uint16 differs"):
        FaceModel().fit([faces8[0], faces8[1].astype(np.uint16)])


def test_fit_rejects_all_missing_training_images():
    with pytest.raises(NothingObservedError):
        FaceModel().fit([np.full((4, 4), 255, np.uint8)])


def test_reconstruct_rejects_other_size(faces8, faces16, model8):
    model = model8
    with pytest.raises(ShapeMismatchError, match="size 160x200 differs from the model's 116x120"):
        model.reconstruct(faces16[0])


def test_reconstruct_rejects_other_dtype(faces8, model8):
    model = model8
    with pytest.raises(ShapeMismatchError, match="dtype float32 differs from the model's uint8"):
        model.reconstruct(faces8[0].astype(np.float32))


def test_reconstruct_rejects_all_missing_image(faces8, model8):
    model = model8
    with pytest.raises(NothingObservedError, match="^image: every pixel is missing"):
        model.reconstruct(np.full((120, 116), 255, np.uint8))


def test_reconstruct_rejects_unknown_method(faces8, model8):
    model = model8
    with pytest.raises(InvalidParameterError, match="method 'magic' is not known; expected one of auto"):
        model.reconstruct(faces8[0], "magic")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_components": -1}, "n_components -1 is not valid"),
        ({"n_components": 2.5}, "n_components 2.5 is not valid"),
        ({"noise": -0.1}, "noise -0.1 is not valid"),
        ({"mirror_weight": "lots"}, "mirror_weight 'lots' is not valid"),
        ({"chunk_size": 0}, "chunk_size 0 is not valid; expected a whole number >= 1"),
        ({"render_share": 1.0}, 'render_share 1.0 is not valid; expected "auto" or a number >= 0 and < 1'),
        ({"border_smoothing": 11}, 'border_smoothing 11 is not valid; expected "auto" or a number >= 0 and <= 10'),
    ],
)
def test_fit_rejects_invalid_prior_settings(faces8, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        FaceModel(**kwargs).fit(faces8)


def test_fixed_prior_settings_are_used_and_init_only_stores_parameters(faces8):
    unfitted = FaceModel(n_components=-5, average="nonsense")  # checked by fit, not stored differently
    assert unfitted.get_params()["n_components"] == -5 and not hasattr(unfitted, "frame_")
    model = FaceModel(n_components=3, noise=2.0, mirror_weight=0.5).fit(faces8)
    assert (model.prior_.n_components, model.prior_.noise, model.prior_.mirror_weight) == (3, 2.0, 0.5)


def test_confidence_is_one_on_observed_zero_on_background(faces8, model8):
    model = model8
    holed = with_hole(faces8[0], slice(40, 70), slice(30, 60), 255)
    for method in ("auto", "seed"):
        filled, confidence = model.reconstruct(holed, method, return_confidence=True)
        assert confidence.dtype == np.float32 and confidence.shape == holed.shape
        assert (confidence[holed != 255] == 1).all() and (confidence[filled == 255] == 0).all()
        inside = confidence[40:70, 30:60]
        assert ((inside > 0) & (inside < 1)).all()
        # further from the observed pixels, less sure
        assert inside[15, 15] < inside[0, 15]


def test_a_float_image_holding_no_depth_is_refused_naming_it(float_faces, float_model):
    model = float_model
    holed = float_faces[0].copy()
    holed[80:100, 60:100] = np.nan
    holed[10, 10] = 3e38
    with pytest.raises(UnsupportedImageError, match=r"^scan.tif: holds the value 3e\+38, which is no depth"):
        model.reconstruct(holed, name="scan.tif")


def test_a_mask_replaces_what_it_covers_and_nothing_else(faces8, model8):
    face = faces8[0]
    mask = np.zeros(face.shape, bool)
    mask[50:62, 40:56] = True  # on the cheek: a hand, say
    covered = face.copy()
    covered[mask] = np.clip(covered[mask].astype(int) + 30, 0, 254)  # nearer than the face
    filled = model8.reconstruct(covered, mask=mask)
    kept = ~mask & (covered != 255)
    np.testing.assert_array_equal(filled[kept], covered[kept])
    assert not (filled[mask] == 255).any()
    # the fill comes from the face around it, not from what covered it
    assert np.abs(filled[mask].astype(int) - face[mask]).mean() < 0.3 * np.abs(covered[mask].astype(int) - face[mask]).mean()
    # given as missing pixels, the same pixels fill the same way
    np.testing.assert_array_equal(filled, model8.reconstruct(with_hole(covered, slice(50, 62), slice(40, 56), 255)))


def test_a_mask_outside_the_face_is_handled_as_missing_pixels_are(faces8, model8):
    face = faces8[0]
    mask = np.zeros(face.shape, bool)
    mask[:6, :6] = True  # background corner: already missing
    np.testing.assert_array_equal(model8.reconstruct(face, mask=mask), model8.reconstruct(face))


def test_a_masked_pixel_judged_background_is_removed(faces8, model8):
    face = faces8[0].copy()
    face[2:8, 2:8] = 60  # something beside the face, measured
    mask = np.zeros(face.shape, bool)
    mask[2:8, 2:8] = True
    filled = model8.reconstruct(face, mask=mask)
    assert (filled[2:8, 2:8] == 255).all()


@pytest.mark.parametrize(
    ("mask", "error", "message"),
    [
        (np.zeros((10, 10), bool), ShapeMismatchError, "mask of 10x10 differs from the image's size 116x120"),
        (np.zeros((120, 116, 3), bool), ShapeMismatchError, "mask of shape (120, 116, 3) differs"),
        (np.full((120, 116), "x"), InvalidParameterError, "mask of dtype <U1; expected numbers or booleans"),
        (np.ones((120, 116), np.uint8), NothingObservedError, "every pixel is missing or masked"),
    ],
)
def test_bad_masks_are_refused_naming_the_image(faces8, model8, mask, error, message):
    with pytest.raises(error, match=re.escape(message)):
        model8.reconstruct(faces8[0], mask=mask, name="face.png")


def test_renders_lend_a_few_faces_the_variation_they_lack():
    # four faces of one's own and renders of the same kind of face: the prior borrows the
    # renders' variation, and fills new faces better than the four faces alone
    own, renders, new = (make_faces(n, shape=(60, 58), seed=s) for n, s in ((4, 31), (40, 32), (6, 33)))
    alone = FaceModel().fit(own)
    lent = FaceModel().fit(own, renders=renders)
    assert alone.prior_.render_share == 0 and lent.prior_.render_share > 0
    np.testing.assert_array_equal(lent.mean_, alone.mean_)  # the average face and outline stay one's own
    np.testing.assert_array_equal(lent.outline_, alone.outline_)

    def error(model):
        total = 0.0
        for face in new:
            holed = with_hole(face, slice(22, 36), slice(12, 30), 255)
            hidden = (holed == 255) & (face != 255)
            total += np.abs(model.reconstruct(holed).astype(float) - face)[hidden].mean()
        return total / len(new)

    assert error(lent) < 0.9 * error(alone)


def test_renders_of_another_size_are_refused_naming_the_render(faces8):
    with pytest.raises(ShapeMismatchError, match="render 1: size 58x60 differs from the first image's 116x120"):
        FaceModel().fit(faces8[:4], renders=[faces8[4], make_faces(1, shape=(60, 58))[0]])


def test_components_asked_for_beyond_what_lent_renders_add_are_the_ones_there(faces8):
    # renders may add components, so more may be asked for than the faces have: none lent, the
    # model uses the ones there are and fills
    model = FaceModel(n_components=48, noise=1.0, mirror_weight=0.5, render_share=0.0).fit(faces8[:4], renders=faces8[4:8])
    assert model.prior_.n_components == len(model.prior_.components) < 48
    holed = with_hole(faces8[8], slice(50, 60), slice(40, 60), 255)
    assert (model.reconstruct(holed)[50:60, 40:60] != 255).any()
