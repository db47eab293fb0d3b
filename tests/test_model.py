import numpy as np
import pytest

from facefill.errors import (
    InvalidParameterError,
    ModelFileError,
    NothingObservedError,
    NotFittedError,
    ShapeMismatchError,
)
from facefill.io import missing_mask
from facefill.model import FaceModel

from .conftest import with_hole


def test_mean_face_is_per_pixel_mean_over_faces_where_face():
    a = np.array([[10, 255], [20, 30]], np.uint8)
    b = np.array([[30, 40], [255, 50]], np.uint8)
    model = FaceModel().fit([a, b])
    np.testing.assert_allclose(model.mean_, [[20, 40], [20, 40]])
    np.testing.assert_allclose(model.frequency_, [[1, 0.5], [0.5, 1]])


def test_mean_face_does_not_depend_on_order(faces8):
    forward = FaceModel().fit(faces8)
    backward = FaceModel().fit(faces8[::-1])
    np.testing.assert_allclose(forward.mean_, backward.mean_, equal_nan=True)


def test_running_average_is_the_originals_pairwise_intersection():
    a = np.array([[10, 255, 10]], np.uint8)
    b = np.array([[30, 40, 20]], np.uint8)
    c = np.array([[50, 40, 255]], np.uint8)
    model = FaceModel(average="running").fit([a, b, c])
    # ((10 + 30) / 2 + 50) / 2 = 35; a pixel missing in any image is missing
    np.testing.assert_allclose(model.mean_, [[35, np.nan, np.nan]])
    assert not model.outline_[0, 1]


def test_running_average_in_batches_averages_each_batch_first():
    images = [np.array([[v]], np.uint8) for v in (10, 30, 50, 70)]
    model = FaceModel(average="running", batch_size=2).fit(images)
    np.testing.assert_allclose(model.mean_, [[(20 + 60) / 2]])
    # with batch size 1 the same faces weigh by position: (((10+30)/2+50)/2+70)/2
    assert FaceModel(average="running").fit(images).mean_[0, 0] == pytest.approx(52.5)


def test_fit_returns_self_and_sets_learned_state(faces8):
    model = FaceModel()
    assert model.fit(faces8) is model
    assert model.shape_ == (120, 116)
    assert model.dtype_ == np.uint8 and model.missing_value_ == 255 and model.n_images_ == 12


def test_reconstruct_never_changes_observed_pixels_and_keeps_dtype(faces16):
    model = FaceModel().fit(faces16[1:])
    holed = with_hole(faces16[0], slice(60, 110), slice(30, 90), 0)
    for method in ("auto", "seed", "symmetry", "average"):
        filled = model.reconstruct(holed, method)
        assert filled.dtype == np.uint16 and filled.shape == (200, 160)
        observed = ~missing_mask(holed, 0)
        np.testing.assert_array_equal(filled[observed], holed[observed])
        assert not missing_mask(filled, 0)[60:110, 30:90].any()


def test_reconstruct_does_not_modify_the_callers_array(faces8):
    model = FaceModel().fit(faces8[1:])
    holed = with_hole(faces8[0], slice(40, 60), slice(40, 60), 255)
    before = holed.copy()
    model.reconstruct(holed)
    np.testing.assert_array_equal(holed, before)


def test_image_with_nothing_missing_comes_back_identical(faces8):
    model = FaceModel().fit(faces8)
    full_frame = np.where(faces8[0] == 255, 20, faces8[0]).astype(np.uint8)
    for method in ("auto", "seed", "symmetry", "average"):
        np.testing.assert_array_equal(model.reconstruct(full_frame, method), full_frame)


def test_fill_never_takes_the_missing_value():
    mean_face = np.full((8, 8), 255.0)
    model = FaceModel().fit([np.full((8, 8), 250, np.uint8)])
    model.mean_ = mean_face  # an average at the top of the range would round onto "missing"
    holed = np.full((8, 8), 250, np.uint8)
    holed[3:5, 3:5] = 255
    filled = model.reconstruct(holed, "average")
    assert (filled[3:5, 3:5] == 254).all()


def test_float_images_with_nan_missing(faces16):
    faces = faces16.astype(np.float32)
    faces[faces == 0] = np.nan
    model = FaceModel().fit(faces[1:])
    assert np.isnan(model.missing_value_)
    holed = faces[0].copy()
    holed[80:100, 60:100] = np.nan
    filled = model.reconstruct(holed)
    assert filled.dtype == np.float32 and np.isfinite(filled[80:100, 60:100]).all()


def test_save_load_round_trip(tmp_path, faces8):
    model = FaceModel(average="running", batch_size=3).fit(faces8)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = FaceModel.load(path)
    np.testing.assert_array_equal(loaded.mean_, model.mean_)
    np.testing.assert_array_equal(loaded.frequency_, model.frequency_)
    assert (loaded.shape_, loaded.dtype_, loaded.missing_value_, loaded.n_images_) == ((120, 116), np.uint8, 255, 12)
    assert (loaded.average, loaded.batch_size) == ("running", 3)


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


def test_reconstruct_rejects_other_size(faces8, faces16):
    model = FaceModel().fit(faces8)
    with pytest.raises(ShapeMismatchError, match="size 160x200 differs from the model's 116x120"):
        model.reconstruct(faces16[0])


def test_reconstruct_rejects_other_dtype(faces8):
    model = FaceModel().fit(faces8)
    with pytest.raises(ShapeMismatchError, match="dtype float32 differs from the model's uint8"):
        model.reconstruct(faces8[0].astype(np.float32))


def test_reconstruct_rejects_all_missing_image(faces8):
    model = FaceModel().fit(faces8)
    with pytest.raises(NothingObservedError, match="every pixel of the image is missing"):
        model.reconstruct(np.full((120, 116), 255, np.uint8))


def test_reconstruct_rejects_unknown_method(faces8):
    model = FaceModel().fit(faces8)
    with pytest.raises(InvalidParameterError, match="method 'magic' is not known; expected one of auto"):
        model.reconstruct(faces8[0], "magic")


def test_load_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="no such model file"):
        FaceModel.load(tmp_path / "m.npz")


def test_load_corrupt_file(tmp_path):
    path = tmp_path / "m.npz"
    path.write_bytes(b"PK\x03\x04 definitely not a zip")
    with pytest.raises(ModelFileError, match="m.npz: not a facefill model file"):
        FaceModel.load(path)


def test_load_foreign_npz(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.zeros(3))
    with pytest.raises(ModelFileError, match="no facefill format tag"):
        FaceModel.load(path)


def _saved_with(path, faces, **changes):
    """Save a model of ``faces`` to ``path``, then rewrite some of its fields."""
    FaceModel().fit(faces).save(path)
    fields = dict(np.load(path))
    fields.update(changes)
    np.savez(path, **fields)
    return path


def test_load_future_format_version(tmp_path, faces8):
    path = _saved_with(tmp_path / "m.npz", faces8, format_version=np.array(99))
    with pytest.raises(ModelFileError, match="format version 99 is not supported"):
        FaceModel.load(path)


def test_load_damaged_fields(tmp_path, faces8):
    path = _saved_with(tmp_path / "m.npz", faces8, mean=np.zeros((3, 3)))
    with pytest.raises(ModelFileError, match="damaged"):
        FaceModel.load(path)


def test_load_refuses_arrays_larger_than_the_model_before_decompressing(tmp_path, faces8):
    import io
    import zipfile

    path = tmp_path / "bomb.npz"
    FaceModel().fit(faces8).save(path)
    with zipfile.ZipFile(path, "a") as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
        archive.writestr("extra.npy", header.getvalue() + b"\0" * 64)
    with pytest.raises(ModelFileError, match="array 'extra' declares 8000000000000 bytes, more than a model of 116x120"):
        FaceModel.load(path)


def test_load_refuses_pickled_arrays(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, format=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelFileError, match="evil.npz"):
        FaceModel.load(path)


def test_saved_prior_fills_exactly_like_the_fitted_one(tmp_path, faces8):
    model = FaceModel().fit(faces8[1:])
    model.save(tmp_path / "m.npz")
    loaded = FaceModel.load(tmp_path / "m.npz")
    assert (loaded.prior_.n_components, loaded.prior_.noise) == (model.prior_.n_components, model.prior_.noise)
    holed = with_hole(faces8[0], slice(40, 70), slice(20, 60), 255)
    np.testing.assert_array_equal(loaded.reconstruct(holed), model.reconstruct(holed))
    assert (loaded.n_components, loaded.noise, loaded.mirror_weight) == ("auto", "auto", "auto")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_components": -1}, "n_components -1 is not valid"),
        ({"n_components": 2.5}, "n_components 2.5 is not valid"),
        ({"noise": -0.1}, "noise -0.1 is not valid"),
        ({"mirror_weight": "lots"}, "mirror_weight 'lots' is not valid"),
        ({"chunk_size": 0}, "chunk_size 0 is not valid; expected a whole number >= 1"),
    ],
)
def test_fit_rejects_invalid_prior_settings(faces8, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        FaceModel(**kwargs).fit(faces8)


def test_fixed_prior_settings_are_used(faces8):
    model = FaceModel(n_components=3, noise=2.0, mirror_weight=0.5).fit(faces8)
    assert (model.prior_.n_components, model.prior_.noise, model.prior_.mirror_weight) == (3, 2.0, 0.5)


def test_confidence_is_one_on_observed_zero_on_background(faces8):
    model = FaceModel().fit(faces8[1:])
    holed = with_hole(faces8[0], slice(40, 70), slice(30, 60), 255)
    for method in ("auto", "seed"):
        filled, confidence = model.reconstruct(holed, method, return_confidence=True)
        assert confidence.dtype == np.float32 and confidence.shape == holed.shape
        assert (confidence[holed != 255] == 1).all() and (confidence[filled == 255] == 0).all()
        inside = confidence[40:70, 30:60]
        assert ((inside > 0) & (inside < 1)).all()
        # further from the observed pixels, less sure
        assert inside[15, 15] < inside[0, 15]


# ----------------------------------------------------- training in chunks
def _assert_same_model(a, b):
    np.testing.assert_allclose(a.mean_, b.mean_, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(a.frequency_, b.frequency_)
    for name in ("template", "variances", "frequency", "domain"):
        np.testing.assert_allclose(getattr(a.prior_, name), getattr(b.prior_, name), rtol=1e-9)
    np.testing.assert_allclose(a.prior_.components, b.prior_.components, atol=1e-5)
    for name in ("n_components", "noise", "mirror_weight", "depth_scale", "reach", "locality"):
        assert getattr(a.prior_, name) == pytest.approx(getattr(b.prior_, name), rel=1e-12)


def test_training_in_chunks_equals_training_at_once(faces8):
    at_once = FaceModel().fit(faces8)
    chunked = FaceModel(chunk_size=5).fit(faces8)
    _assert_same_model(chunked, at_once)
    holed = with_hole(faces8[0], slice(45, 75), slice(20, 60), 255)
    np.testing.assert_array_equal(chunked.reconstruct(holed), at_once.reconstruct(holed))


def test_running_average_in_chunks_keeps_its_batches(faces8):
    at_once = FaceModel(average="running", batch_size=2).fit(faces8)
    chunked = FaceModel(average="running", batch_size=2, chunk_size=3).fit(faces8)
    np.testing.assert_allclose(chunked.mean_, at_once.mean_, equal_nan=True)


def test_training_from_files_read_on_demand_equals_training_from_arrays(tmp_path, faces8):
    from facefill.batch import ImageFiles
    from facefill.io import write_depth

    paths = []
    for i, face in enumerate(faces8):
        paths.append(tmp_path / f"{i}.png")
        write_depth(paths[-1], face)
    _assert_same_model(FaceModel(chunk_size=4).fit(ImageFiles(paths)), FaceModel().fit(faces8))


def test_training_samples_a_large_set_for_cross_validation(faces8, monkeypatch):
    from facefill import prior

    monkeypatch.setattr(prior, "SAMPLE_FACES", 6)
    model = FaceModel(chunk_size=4).fit(faces8)
    assert model.n_images_ == 12 and model.prior_.components.shape[0] == 23  # all 24 rows, less the mean
    assert np.isfinite(model.prior_.cv_error)
