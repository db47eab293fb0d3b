"""A model with no training set: faces rendered in the frame of the images to fill."""

import numpy as np
import pytest

from facefill.errors import InvalidParameterError
from facefill.evaluate import score
from facefill.masks import make_mask, mask_rng
from facefill.morphable.render import View
from facefill.pretrained import PRETRAINED_FACES, RENDER_CHUNK, assume_frame, pretrained_model, renders_like
from facefill.synth import LEVELS_PER_MM, make_faces

#: Faces of another camera than synth's defaults: 16-bit, 90x80, faces 54 px wide, 850 mm away.
VIEW = View((90, 80), 0.47, (40.0, 39.5), 850.0, -1.0)


@pytest.fixture(scope="module")
def holed():
    truths = make_faces(4, dtype="uint16", seed=12, view=VIEW, pitch=2.0)
    hidden = [make_mask("blobs", truth != 0, mask_rng(0, i, "blobs", 0)) for i, truth in enumerate(truths)]
    return truths, hidden, [np.where(h, 0, t).astype(np.uint16) for t, h in zip(truths, hidden)]


@pytest.fixture(scope="module")
def pretrained(holed):
    return pretrained_model(holed[2], faces=16)


def test_the_model_is_fitted_in_the_images_frame(pretrained, holed):
    model, assumed = pretrained
    assert model.shape_ == (90, 80) and model.dtype_ == np.uint16 and model.missing_value_ == 0
    assert assumed.millimetres and assumed.view.gain == -1.0
    assert assumed.view.scale == pytest.approx(0.47, rel=0.08)
    assert abs(assumed.view.offset - 850) < 5
    assert "depth in millimetres, nearer is smaller" in assumed.describe()


def test_it_fills_better_than_the_original_rule_and_keeps_observed_pixels(pretrained, holed):
    model, _ = pretrained
    truths, hidden, given = holed
    errors = {"auto": [], "seed": []}
    for truth, mask, image in zip(truths, hidden, given):
        for method, found in errors.items():
            output = model.reconstruct(image, method)
            found.append(score(truth, image, output, mask, 0)["mae"])
            observed = image != 0
            np.testing.assert_array_equal(output[observed], image[observed])
    assert np.mean(errors["auto"]) < 0.7 * np.mean(errors["seed"])
    assert np.mean(errors["auto"]) < 2.0  # millimetres


def test_eight_bit_levels_are_fitted_from_the_faces_relief():
    assumed = assume_frame(make_faces(3, seed=4))
    assert not assumed.millimetres and assumed.view.gain == pytest.approx(LEVELS_PER_MM, rel=0.15)
    assert "per mm, nearer is larger" in assumed.describe()
    assert assumed.missing_value == 255 and assumed.faces == PRETRAINED_FACES


@pytest.mark.parametrize(
    ("images", "kwargs", "message"),
    [
        ([np.full((40, 40), 255, np.uint8)], {}, "too few face pixels"),
        ([], {}, "images is empty"),
        ([make_faces(1)[0]], {"faces": 1}, "faces 1 is not valid"),
        ([make_faces(1)[0]], {"missing_value": 300}, "missing value"),
    ],
)
def test_bad_inputs_are_refused(images, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        assume_frame(images, **kwargs)


def test_renders_like_ones_faces_take_their_frame_outline_and_noise():
    faces = make_faces(6, shape=(60, 58), seed=9)
    renders = renders_like(list(faces), 12, seed=3)
    assert len(renders) == 12 and all(r.dtype == np.uint8 and r.shape == (60, 58) for r in renders)
    for i, render in enumerate(renders):
        # cut by the silhouette of one of the faces: never face outside it, nearly all of it inside
        silhouette = faces[i % 6] != 255
        assert not (render != 255)[~silhouette].any()
        assert (render != 255)[silhouette].mean() > 0.97
    # not copies of the faces: other identities
    assert all(np.abs(r.astype(float) - f)[(r != 255) & (f != 255)].mean() > 0.5 for r, f in zip(renders, np.tile(faces, (2, 1, 1))))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(renders_like(list(faces), 12, seed=3), renders))  # seeded


def test_renders_like_ones_faces_vary_as_much_as_they_do_around_their_mean():
    from facefill.pretrained import _mean, _spread

    # "one's own faces": renders of little variety, and nearer than synth's defaults by 20 levels
    own = make_faces(8, shape=(60, 58), seed=10, identity=0.3, expression=0.05, pose=(0.5, 0.5, 0.5))
    own = np.where(own == 255, 255, np.minimum(own.astype(int) + 20, 254)).astype(np.uint8)
    depths = lambda images: np.stack([np.where(i == 255, np.nan, i.astype(float)) for i in images])  # noqa: E731
    renders = depths(renders_like(list(own), 16, seed=1))
    assert _spread(renders) == pytest.approx(_spread(depths(own)), rel=0.35)
    assert _spread(renders) < 0.6 * _spread(depths(make_faces(16, shape=(60, 58), seed=1)))
    both = np.isfinite(_mean(renders)) & np.isfinite(_mean(depths(own)))
    assert np.abs(_mean(renders) - _mean(depths(own)))[both].mean() < 0.5


def test_renders_like_needs_a_count_of_at_least_one():
    with pytest.raises(InvalidParameterError, match="count 0 is not valid"):
        renders_like(list(make_faces(2, shape=(60, 58))), 0)


def test_renders_are_made_a_chunk_at_a_time_as_asked_for_and_alike_in_any_order():
    faces = list(make_faces(2, shape=(60, 58), seed=8))
    renders = renders_like(faces, 10**9, seed=2)  # nothing is rendered before it is asked for
    assert len(renders) == 10**9
    last, first, second_chunk = renders[-1].copy(), renders[0].copy(), renders[RENDER_CHUNK].copy()
    again = renders_like(faces, 10**9, seed=2)
    assert [again[i].tobytes() for i in (RENDER_CHUNK, 0, -1)] == [second_chunk.tobytes(), first.tobytes(), last.tobytes()]
    assert first.tobytes() != second_chunk.tobytes()
    with pytest.raises(IndexError):
        renders[10**9]
