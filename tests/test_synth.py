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
        ({"n": 1, "face_width": 1.0}, "face width 1.0 is not valid"),
        ({"n": 1, "expression": 1.5}, "expression 1.5 is not valid"),
        ({"n": 1, "pose": (1.0, -1.0, 0.0)}, "pose \\(1.0, -1.0, 0.0\\) is not valid"),
        ({"n": 1, "noise": -0.1}, "noise -0.1 is not valid"),
        ({"n": 1, "identity": -1.0}, "identity -1.0 is not valid"),
        ({"n": 1, "dropout": 90.0}, "dropout angle 90.0 is not valid"),
        ({"n": 1, "seed": -3}, "seed -3 is not valid"),
    ],
)
def test_invalid_parameters(kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        make_faces(**kwargs)


def test_faces_are_realistic_renders_of_the_morphable_model():
    faces = make_faces(3, shape=(200, 160), dtype="float32", seed=1, noise=0.0)
    for face in faces:
        inside = np.isfinite(face)
        # one face: no speck apart from it and no hole in it (the eyes closed, the lips sealed)
        from scipy import ndimage

        assert ndimage.label(inside)[1] == 1 and (ndimage.binary_fill_holes(inside) == inside).all()
        # relief of a real face: the nose tip about 50 mm nearer than the outline's farthest point
        assert 40 < np.nanmax(face) - np.nanmin(face) < 80
        # as wide as asked by default: 70 % of the width, whatever the identity
        columns = np.nonzero(inside.any(axis=0))[0]
        assert abs(np.ptp(columns) + 1 - 0.7 * 160) <= 3
    assert not np.allclose(faces[0], faces[1], equal_nan=True)


def test_options_that_match_a_camera():
    wide = make_faces(1, shape=(120, 116), seed=2, face_width=60, noise=0.0)[0]
    assert abs(np.ptp(np.nonzero((wide != 255).any(axis=0))[0]) + 1 - 60) <= 2
    still = make_faces(2, seed=2, pose=(0, 0, 0), expression=0.0, noise=0.0, jitter=False)
    # without pose, expression or noise, faces differ only by identity: both are centred
    for face in still:
        columns = np.nonzero((face != 255).any(axis=0))[0]
        assert abs((columns[0] + columns[-1]) / 2 - 57.5) <= 1
    noisy = make_faces(1, seed=2, noise=3.0)[0].astype(float)
    clean = make_faces(1, seed=2, noise=0.0)[0].astype(float)
    both = (noisy != 255) & (clean != 255)
    assert 2.0 < np.std(noisy[both] - clean[both]) < 4.0


def test_dropout_takes_the_pixels_seen_at_grazing_angles():
    from facefill.morphable.render import grazing_angle
    from facefill.synth import default_view

    clean = make_faces(1, shape=(200, 160), dtype="float32", seed=4, noise=0.0, jitter=False)[0].astype(float)
    dropped = make_faces(1, shape=(200, 160), dtype="float32", seed=4, noise=0.0, jitter=False, dropout=60)[0]
    lost = np.isfinite(clean) & np.isnan(dropped)
    assert lost.sum() > 20 and not (np.isfinite(dropped) & np.isnan(clean)).any()
    angle = grazing_angle(clean, default_view((200, 160), "float32"))
    assert (angle[lost] > 60).all()  # the flanks of the nose, steep cheeks
    steep = angle > 80
    assert lost[steep].mean() > 0.5 and lost[angle < 60].sum() == 0


def test_a_view_fitted_elsewhere_is_used_as_it_is():
    from facefill.morphable.render import View

    view = View((50, 60), 0.3, (24.0, 30.0), 500.0, -1.0)
    face = make_faces(1, dtype="float32", seed=1, view=view, jitter=False, noise=0.0)[0]
    assert face.shape == (50, 60)
    assert abs(np.nanmin(face) - 500.0) < 6


def test_a_model_of_default_renders_fills_a_turned_face_better_than_one_of_the_narrow_jitter():
    # people turn their heads by a few degrees; a prior that saw too little pose takes a turned
    # head for another face (README, *What the face model gives you*: 1.80 -> 1.67 mm held out)
    from facefill.masks import make_mask, mask_rng
    from facefill.model import FaceModel
    from facefill.synth import POSE_SD

    turned = make_faces(8, seed=77, pose=(4.0, 4.0, 2.0))
    errors = {}
    for name, pose in (("default", POSE_SD), ("narrow", (1.5, 1.5, 1.0))):
        model = FaceModel(n_components=24, noise=8.0, mirror_weight=0.0).fit(make_faces(60, seed=3, pose=pose))
        per_face = []
        for index, truth in enumerate(turned):
            hidden = make_mask("half", truth != 255, mask_rng(0, index, "half", 0)) & (truth != 255)
            filled = model.reconstruct(np.where(hidden, 255, truth).astype(np.uint8))
            both = hidden & (filled != 255)
            per_face.append(np.abs(filled[both].astype(float) - truth[both]).mean())
        errors[name] = np.mean(per_face)
    assert errors["default"] < 0.97 * errors["narrow"]
