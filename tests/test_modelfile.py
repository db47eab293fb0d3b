import math
import zipfile
from io import BytesIO

import numpy as np
import pytest

from facefill.errors import InvalidParameterError, ModelFileError
from facefill.model import FaceModel

from .conftest import with_hole

QUICK = {"n_components": 4, "noise": 1.0, "mirror_weight": 0.5}


@pytest.fixture(scope="module")
def quick_model(faces8) -> FaceModel:
    """A model of the 8-bit faces with fixed prior settings, fitted once for this module."""
    return FaceModel(**QUICK).fit(faces8)


@pytest.fixture(scope="module")
def quick_file(quick_model, tmp_path_factory):
    """``quick_model`` saved once; tests that change it copy its fields (``_saved_with``)."""
    path = tmp_path_factory.mktemp("model") / "quick.npz"
    quick_model.save(path)
    return path


def test_save_load_round_trip(tmp_path, faces8):
    model = FaceModel(average="running", batch_size=3, **QUICK).fit(faces8)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = FaceModel.load(path)
    np.testing.assert_array_equal(loaded.mean_, model.mean_)
    np.testing.assert_array_equal(loaded.frequency_, model.frequency_)
    assert (loaded.shape_, loaded.dtype_, loaded.missing_value_, loaded.n_images_) == ((120, 116), np.uint8, 255, 12)
    assert (loaded.average, loaded.batch_size) == ("running", 3)


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


def _saved_with(path, saved, **changes):
    """The model file ``saved`` written to ``path`` with some of its fields rewritten."""
    fields = dict(np.load(saved))
    fields.update(changes)
    np.savez(path, **fields)
    return path


def test_load_future_format_version(tmp_path, quick_file):
    path = _saved_with(tmp_path / "m.npz", quick_file, format_version=np.array(99))
    with pytest.raises(ModelFileError, match="format version 99 is not supported"):
        FaceModel.load(path)


def test_load_damaged_fields(tmp_path, quick_file):
    path = _saved_with(tmp_path / "m.npz", quick_file, mean=np.zeros((3, 3)))
    with pytest.raises(ModelFileError, match="damaged"):
        FaceModel.load(path)


def test_load_refuses_arrays_larger_than_the_model_before_decompressing(tmp_path, quick_file):
    path = tmp_path / "bomb.npz"
    path.write_bytes(quick_file.read_bytes())
    with zipfile.ZipFile(path, "a") as archive:
        header = BytesIO()
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
    model = FaceModel().fit(faces8[1:7])  # cross-validated settings, to check they are kept as "auto"
    model.save(tmp_path / "m.npz")
    loaded = FaceModel.load(tmp_path / "m.npz")
    assert (loaded.prior_.n_components, loaded.prior_.noise) == (model.prior_.n_components, model.prior_.noise)
    holed = with_hole(faces8[0], slice(40, 70), slice(20, 60), 255)
    for method in ("auto", "seed"):
        filled, confidence = model.reconstruct(holed, method, return_confidence=True)
        loaded_filled, loaded_confidence = loaded.reconstruct(holed, method, return_confidence=True)
        np.testing.assert_array_equal(loaded_filled, filled)
        np.testing.assert_array_equal(loaded_confidence, confidence)
    assert (loaded.n_components, loaded.noise, loaded.mirror_weight) == ("auto", "auto", "auto")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"average": np.array("median")}, "inconsistent sizes or fields"),
        ({"settings": np.array('{"n_components": 3, "colour": "red"}')}, "settings are not a mapping"),
        ({"dtype": np.array("complex64")}, "inconsistent sizes or fields"),
        ({"missing_value": np.array(300.0)}, "missing value 300"),
        ({"prior_frequency": np.full((120, 116), 2.0)}, "field 'prior_frequency' holds values outside"),
        ({"calibration": np.array('{"tolerance": -1, "curves": {}}')}, "tolerance -1.0 is not a positive number"),
        ({"calibration": np.array('{"tolerance": 1, "curves": {"auto": [[2, 1], [0.5, 0.4]]}}')}, "curve of 'auto' is damaged"),
        ({"calibration": np.array('{"tolerance": 1, "curves": {"auto": [[1, 2], [0.5, 1.5]]}}')}, "curve of 'auto' is damaged"),
    ],
)
def test_load_names_the_damaged_field(tmp_path, quick_file, changes, message):
    path = _saved_with(tmp_path / "m.npz", quick_file, **changes)
    with pytest.raises(ModelFileError, match=message):
        FaceModel.load(path)


def test_what_occluder_detection_learned_is_saved_and_older_files_still_load(tmp_path, faces8, quick_model, quick_file):
    model = quick_model
    loaded = FaceModel.load(quick_file)
    assert loaded.prior_.residual_spread == model.prior_.residual_spread > 0
    np.testing.assert_array_equal(loaded.prior_.ridge_spread, model.prior_.ridge_spread)
    np.testing.assert_array_equal(loaded.prior_.local_spread, model.prior_.local_spread)
    fields = dict(np.load(quick_file))
    del fields["prior_residual_spread"], fields["prior_ridge_spread"], fields["prior_local_spread"]
    np.savez(tmp_path / "old.npz", **fields)
    old = FaceModel.load(tmp_path / "old.npz")
    assert math.isnan(old.prior_.residual_spread) and old.prior_.ridge_spread is None and old.prior_.local_spread is None
    np.testing.assert_array_equal(old.reconstruct(faces8[0]), model.reconstruct(faces8[0]))  # fills as before


def test_the_share_of_the_renders_is_saved_and_older_files_have_none(tmp_path, faces8):
    model = FaceModel(**QUICK, render_share=0.25).fit(faces8[:4], renders=faces8[4:])
    model.save(tmp_path / "m.npz")
    loaded = FaceModel.load(tmp_path / "m.npz")
    assert loaded.prior_.render_share == 0.25 and loaded.get_params()["render_share"] == 0.25
    np.testing.assert_array_equal(loaded.prior_.components, model.prior_.components)
    fields = dict(np.load(tmp_path / "m.npz"))
    del fields["prior_render_share"]
    np.savez(tmp_path / "old.npz", **fields)
    assert FaceModel.load(tmp_path / "old.npz").prior_.render_share == 0.0


def test_the_border_smoothing_is_saved_and_older_files_fill_as_they_did(tmp_path, faces8):
    model = FaceModel(**QUICK, border_smoothing=1.5).fit(faces8[:6])
    model.save(tmp_path / "m.npz")
    loaded = FaceModel.load(tmp_path / "m.npz")
    assert loaded.prior_.border_smoothing == 1.5 and loaded.get_params()["border_smoothing"] == 1.5
    given = with_hole(faces8[7], slice(40, 42), slice(20, 90), 255)  # a scratch: its border fills it
    np.testing.assert_array_equal(loaded.reconstruct(given), model.reconstruct(given))
    fields = dict(np.load(tmp_path / "m.npz"))
    del fields["prior_border_smoothing"]
    np.savez(tmp_path / "old.npz", **fields)
    old = FaceModel.load(tmp_path / "old.npz")
    assert old.prior_.border_smoothing == 0.0
    unsmoothed = FaceModel(**QUICK, border_smoothing=0.0).fit(faces8[:6])
    np.testing.assert_array_equal(old.reconstruct(given), unsmoothed.reconstruct(given))
    assert (old.reconstruct(given) != model.reconstruct(given)).any()


def test_what_the_confidence_means_is_saved_and_older_files_say_to_train_again(tmp_path, faces8, quick_model, quick_file):
    model = quick_model
    loaded = FaceModel.load(quick_file)
    assert loaded.calibration_.tolerance == model.calibration_.tolerance
    for name, (scores, chances) in model.calibration_.curves.items():
        np.testing.assert_array_equal(loaded.calibration_.curves[name][0], scores)
        np.testing.assert_array_equal(loaded.calibration_.curves[name][1], chances)
    fields = dict(np.load(quick_file))
    del fields["calibration"]
    np.savez(tmp_path / "old.npz", **fields)
    old = FaceModel.load(tmp_path / "old.npz")
    holed = with_hole(faces8[0], slice(40, 60), slice(30, 60), 255)
    np.testing.assert_array_equal(old.reconstruct(holed), model.reconstruct(holed))  # fills as before
    with pytest.raises(InvalidParameterError, match="no calibrated confidence .* train it again"):
        old.reconstruct(holed, return_confidence=True)
