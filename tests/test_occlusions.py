"""Occluders painted on faces for the evaluation (facefill.occlusions)."""

import numpy as np
import pytest

from facefill.errors import InvalidParameterError
from facefill.occlusions import KINDS, paint_occluder

#: How much nearer than the face each kind is (mm), rounded edges included.
HEIGHTS = {"hand": (3.0, 25.0), "glasses": (8.0, 20.0), "hair": (1.6, 5.0)}


@pytest.mark.parametrize("kind", KINDS)
def test_an_occluder_covers_only_the_face_and_is_nearer_by_its_kinds_height(faces8, kind):
    face = faces8[0] != 255
    covered, nearer = paint_occluder(kind, face, np.random.default_rng(0), 0.694)
    assert covered.any() and not (covered & ~face).any()
    low, high = HEIGHTS[kind]
    assert (nearer[covered] >= low).all() and (nearer[covered] <= high).all() and (nearer[~covered] == 0).all()


def test_the_same_seed_paints_the_same_occluder(faces8):
    face = faces8[0] != 255
    first = paint_occluder("hand", face, np.random.default_rng(5), 0.694)
    again = paint_occluder("hand", face, np.random.default_rng(5), 0.694)
    other = paint_occluder("hand", face, np.random.default_rng(6), 0.694)
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


def test_glasses_sit_at_the_eyes_and_hair_on_the_forehead(faces8):
    face = faces8[0] != 255
    rows = np.nonzero(face)[0]
    top, height = rows.min(), rows.max() - rows.min()
    glasses, _ = paint_occluder("glasses", face, np.random.default_rng(1), 0.694)
    hair, _ = paint_occluder("hair", face, np.random.default_rng(1), 0.694)
    assert 0.2 < (np.nonzero(glasses)[0].mean() - top) / height < 0.6
    assert (np.nonzero(hair)[0].mean() - top) / height < 0.35


def test_an_unknown_kind_is_refused():
    with pytest.raises(InvalidParameterError, match="occluder kind 'hat' is not known; expected one of hand, glasses, hair"):
        paint_occluder("hat", np.ones((10, 10), bool), np.random.default_rng(0), 1.0)
