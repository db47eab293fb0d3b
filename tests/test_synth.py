import numpy as np
import pytest

from facefill.errors import InvalidParameterError
from facefill.synth import make_faces


def test_default_faces_follow_the_sample_datas_conventions():
    faces = make_faces(4, seed=3)
    assert faces.shape == (4, 120, 116) and faces.dtype == np.uint8
    for face in faces:
        inside = face[face != 255]
        assert 0.35 < inside.size / face.size < 0.7
        assert 10 <= inside.min() and inside.max() <= 110
        # the nose is the nearest (brightest) point, near the middle column
        y, x = np.unravel_index(np.argmax(np.where(face == 255, 0, face)), face.shape)
        assert abs(x - 57.5) < 8 and 35 < y < 90


def test_sixteen_bit_faces_are_millimetres_with_zero_missing():
    faces = make_faces(2, shape=(200, 160), dtype="uint16", seed=0)
    assert faces.shape == (2, 200, 160) and faces.dtype == np.uint16
    inside = faces[faces != 0]
    assert 650 < inside.min() and inside.max() < 900


def test_float_faces_use_nan_for_missing():
    faces = make_faces(1, dtype="float32")
    assert np.isnan(faces).any() and np.nanmin(faces) > 600


def test_same_seed_same_faces_other_seed_other_faces():
    np.testing.assert_array_equal(make_faces(2, seed=5), make_faces(2, seed=5))
    assert (make_faces(1, seed=5) != make_faces(1, seed=6)).any()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n 0 is not valid"),
        ({"n": 1, "shape": (8, 8)}, "shape \\(8, 8\\) is not valid"),
        ({"n": 1, "dtype": "int8"}, "dtype 'int8' is not valid"),
    ],
)
def test_invalid_parameters(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_faces(**kwargs)
