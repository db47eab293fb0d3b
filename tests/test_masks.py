import numpy as np
import pytest

from facefill.errors import InvalidParameterError
from facefill.masks import FAMILIES, make_mask, mask_rng
from facefill.synth import make_faces


@pytest.fixture(scope="module")
def small_faces():
    return make_faces(4, shape=(60, 58), seed=4)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_hides_face_and_is_reproducible(small_faces, family):
    face = small_faces[0] != 255
    first = make_mask(family, face, mask_rng(0, 0, family, 0))
    again = make_mask(family, face, mask_rng(0, 0, family, 0))
    np.testing.assert_array_equal(first, again)
    assert (first & face).any() and (face & ~first).any()


def test_half_hides_one_side_of_the_face_centre():
    face = np.zeros((120, 116), bool)
    face[10:110, 16:100] = True  # 84 px wide: the protocol's reference width
    for i in range(10):
        hidden = make_mask("half", face, mask_rng(0, i, "half", 0))
        columns = np.nonzero(hidden[50])[0]
        edge = columns.max() + 1 if columns.min() == 0 else columns.min()
        assert abs(edge - 57.5) <= 6
        assert hidden[:, 0].all() or hidden[:, -1].all()


def test_band_is_14_pixels_high_for_an_84_pixel_face_and_scales():
    face = np.zeros((120, 116), bool)
    face[10:110, 16:100] = True
    assert make_mask("band", face, mask_rng(0, 0, "band", 0))[:, 50].sum() == 14
    wide = np.zeros((240, 232), bool)
    wide[20:220, 32:200] = True  # twice as wide
    assert make_mask("band", wide, mask_rng(0, 0, "band", 0))[:, 100].sum() == 28


def test_unknown_family():
    with pytest.raises(InvalidParameterError, match="mask family 'hat' is not known"):
        make_mask("hat", np.ones((5, 5), bool), np.random.default_rng(0))
