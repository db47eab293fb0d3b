import numpy as np
import pytest

from facefill.batch import ImageFiles
from facefill.formats import write_depth
from facefill.model import FaceModel
from facefill.training import learn

from .conftest import with_hole

QUICK = {"n_components": 4, "noise": 1.0, "mirror_weight": 0.5, "border_smoothing": 1.0}  # nothing cross-validated


def test_mean_face_is_per_pixel_mean_over_faces_where_face():
    a = np.array([[10, 255], [20, 30]], np.uint8)
    b = np.array([[30, 40], [255, 50]], np.uint8)
    model = FaceModel(**QUICK).fit([a, b])
    np.testing.assert_allclose(model.mean_, [[20, 40], [20, 40]])
    np.testing.assert_allclose(model.frequency_, [[1, 0.5], [0.5, 1]])


def test_mean_face_does_not_depend_on_order(faces8):
    forward = FaceModel(**QUICK).fit(faces8)
    backward = FaceModel(**QUICK).fit(faces8[::-1])
    np.testing.assert_allclose(forward.mean_, backward.mean_, equal_nan=True)


def test_running_average_is_the_originals_pairwise_intersection():
    a = np.array([[10, 255, 10]], np.uint8)
    b = np.array([[30, 40, 20]], np.uint8)
    c = np.array([[50, 40, 255]], np.uint8)
    model = FaceModel(average="running", **QUICK).fit([a, b, c])
    # ((10 + 30) / 2 + 50) / 2 = 35; a pixel missing in any image is missing
    np.testing.assert_allclose(model.mean_, [[35, np.nan, np.nan]])
    assert not model.outline_[0, 1]


def test_running_average_in_batches_averages_each_batch_first():
    images = [np.array([[v]], np.uint8) for v in (10, 30, 50, 70)]
    model = FaceModel(average="running", batch_size=2, **QUICK).fit(images)
    np.testing.assert_allclose(model.mean_, [[(20 + 60) / 2]])
    # with batch size 1 the same faces weigh by position: (((10+30)/2+50)/2+70)/2
    assert FaceModel(average="running", **QUICK).fit(images).mean_[0, 0] == pytest.approx(52.5)


def _assert_same_model(a, b):
    np.testing.assert_allclose(a.mean_, b.mean_, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(a.frequency_, b.frequency_)
    for name in ("template", "symmetric_frequency"):
        np.testing.assert_allclose(getattr(a.frame_, name), getattr(b.frame_, name), rtol=1e-9)
    for name in ("mean", "variances", "domain"):
        np.testing.assert_allclose(getattr(a.prior_, name), getattr(b.prior_, name), rtol=1e-9)
    np.testing.assert_allclose(a.prior_.components, b.prior_.components, atol=1e-5)
    for name in ("n_components", "noise", "mirror_weight", "depth_scale", "reach", "locality"):
        assert getattr(a.prior_, name) == pytest.approx(getattr(b.prior_, name), rel=1e-12)


def test_training_in_chunks_equals_training_at_once(faces8):
    # settings cross-validated: the sample they are chosen on is the same however the faces come
    at_once = FaceModel().fit(faces8[:8])
    chunked = FaceModel(chunk_size=3).fit(faces8[:8])
    _assert_same_model(chunked, at_once)
    holed = with_hole(faces8[0], slice(45, 75), slice(20, 60), 255)
    np.testing.assert_array_equal(chunked.reconstruct(holed), at_once.reconstruct(holed))


def test_running_average_in_chunks_keeps_its_batches(faces8):
    at_once = FaceModel(average="running", batch_size=2, **QUICK).fit(faces8)
    chunked = FaceModel(average="running", batch_size=2, chunk_size=3, **QUICK).fit(faces8)
    np.testing.assert_allclose(chunked.mean_, at_once.mean_, equal_nan=True)


def test_training_from_files_read_on_demand_equals_training_from_arrays(tmp_path, faces8):
    paths = []
    for i, face in enumerate(faces8):
        paths.append(tmp_path / f"{i}.png")
        write_depth(paths[-1], face)
    _assert_same_model(FaceModel(chunk_size=4, **QUICK).fit(ImageFiles(paths)), FaceModel(**QUICK).fit(faces8))


def test_training_samples_a_large_set_for_cross_validation(faces8):
    settings = {"n_components": "auto", "noise": "auto", "mirror_weight": "auto"}
    frame, prior, _ = learn(faces8, 255, chunk_size=4, prior_settings=settings, sample_faces=6)
    assert prior.components.shape[0] == 23  # all 24 rows (faces and mirrors), less the mean
    assert np.isfinite(prior.cv_error)
