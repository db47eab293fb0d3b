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


def _reference_face():
    face = np.zeros((120, 116), bool)
    face[10:110, 16:100] = True  # 84 px wide: the protocol's reference width
    return face


def test_speckle_is_many_small_clusters_covering_3_to_10_percent_of_the_face():
    from scipy import ndimage

    face = _reference_face()
    for i in range(6):
        hidden = make_mask("speckle", face, mask_rng(0, i, "speckle", 0))
        assert 0.025 <= (hidden & face).sum() / face.sum() <= 0.105
        labels, count = ndimage.label(hidden)
        assert count >= 20
        # clusters 1-6 px across (a few touch and merge into longer ones, never wider ones)
        spans = [max(np.ptp(ys), np.ptp(xs)) + 1 for ys, xs in (np.nonzero(labels == k) for k in range(1, count + 1))]
        assert np.median(spans) <= 6 and np.percentile(spans, 90) <= 10
        assert ndimage.distance_transform_edt(hidden).max() <= 3.5
        # anywhere on the face, the outline included, and never far outside it
        assert not (hidden & ~ndimage.binary_dilation(face, iterations=2)).any()


def test_scratches_are_thin_lines():
    from scipy import ndimage

    face = _reference_face()
    for i in range(6):
        hidden = make_mask("scratches", face, mask_rng(0, i, "scratches", 0))
        assert hidden.any()
        # at most 6 px wide: no hidden pixel is more than 3 px from a kept one (a little more
        # where segments join or cross)
        assert ndimage.distance_transform_edt(hidden).max() <= 4.5
        assert np.median(ndimage.distance_transform_edt(hidden)[hidden]) <= 2.0
        assert hidden.sum() >= 20  # at least one polyline of 4 segments of 5 px


def test_midline_is_a_tall_ellipse_on_the_faces_midline():
    face = _reference_face()
    for i in range(6):
        hidden = make_mask("midline", face, mask_rng(0, i, "midline", 0))
        ys, xs = np.nonzero(hidden)
        assert abs(xs.mean() - 57.5) <= 4.5
        assert 12 <= np.ptp(xs) + 1 <= 29 and 20 <= np.ptp(ys) + 1 <= 49
        assert 10 + 0.2 * 100 - 1 <= ys.mean() <= 10 + 0.9 * 100 + 1


def test_the_first_five_families_keep_their_masks():
    # new families were appended: the seeds of the earlier ones (and so their masks) are unchanged
    assert FAMILIES[:5] == ("blobs", "half", "chin", "top", "band")
    assert mask_rng(0, 1, "chin", 2).integers(1 << 30) == np.random.default_rng([0, 1, 2, 2]).integers(1 << 30)
