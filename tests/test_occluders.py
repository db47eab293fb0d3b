"""Occluder detection (facefill.fill.occluders) on small synthetic faces with things painted on them."""

from dataclasses import replace

import numpy as np
import pytest

from facefill.depth import to_dtype
from facefill.errors import InvalidParameterError
from facefill.fill.occluders import _steps, _thin_structures, find_occluders, ridges
from facefill.occlusions import paint_occluder

#: The synthetic 8-bit faces' scale and depth units (synth's defaults: the sample data's).
PX_PER_MM, LEVELS_PER_MM = 0.694, 1.55


def _covered(face, kind, seed):
    observed = face != 255
    covered, nearer = paint_occluder(kind, observed, np.random.default_rng(seed), PX_PER_MM)
    occluded = face.copy()
    occluded[covered] = to_dtype(face[covered] + LEVELS_PER_MM * nearer[covered], face.dtype, 255)
    return occluded, covered


def _low_hand(face, seed, highest_mm):
    """``face`` with a painted hand scaled to stand at most ``highest_mm`` nearer, and where it is."""
    covered, nearer = paint_occluder("hand", face != 255, np.random.default_rng(seed), PX_PER_MM)
    nearer = highest_mm * nearer / nearer.max()
    occluded = face.copy()
    occluded[covered] = to_dtype(face[covered] + LEVELS_PER_MM * nearer[covered], face.dtype, 255)
    return occluded, covered


def _iou(found, covered):
    return (found & covered).sum() / (found | covered).sum()


@pytest.mark.parametrize("kind", ["hand", "glasses", "hair"])
def test_what_is_painted_in_front_of_a_face_is_found(faces8, model8, kind):
    occluded, covered = _covered(faces8[0], kind, 3)
    found = model8.find_occluders(occluded)
    assert _iou(found, covered) > (0.6 if kind == "hair" else 0.85)


def test_a_nearer_blob_is_found_and_filled_like_a_hole(faces8, model8):
    face = faces8[1]
    occluded = face.copy()
    blob = np.zeros(face.shape, bool)
    blob[55:75, 35:60] = True
    blob &= face != 255
    occluded[blob] = face[blob] + 20  # 13 mm nearer
    filled = model8.reconstruct(occluded, occluders=True)
    as_hole = model8.reconstruct(np.where(blob, 255, face).astype(np.uint8))
    assert np.abs(filled[blob].astype(int) - face[blob]).mean() < 1.3 * np.abs(as_hole[blob].astype(int) - face[blob]).mean() + 0.5
    observed = (occluded != 255) & ~model8.find_occluders(occluded)
    np.testing.assert_array_equal(filled[observed], occluded[observed])  # nothing else replaced


def test_glasses_on_a_face_off_centre_do_not_pull_its_registration(faces8, model8):
    # the face lies 3 px right of and below the model's; matched with the glasses in front,
    # the registration stayed put, and 82 face pixels beside the frame stood out as occluders
    face = np.full_like(faces8[0], 255)
    face[3:, 3:] = faces8[0][:-3, :-3]
    occluded, covered = _covered(face, "glasses", 3)
    found = model8.find_occluders(occluded)
    assert (found & ~covered).sum() < 10
    assert _iou(found, covered) > 0.95


def test_a_large_occluder_only_a_little_nearer_is_found_whole(faces8, synthetic_model):
    # a hand at most 5 mm nearer: a flexible prior's robust fit comes up under most of it, and
    # only its highest part stands out until the prior is fitted again without that part
    face = faces8[0]
    occluded, covered = _low_hand(face, 33, 5.0)
    assert _iou(synthetic_model.find_occluders(occluded), covered) > 0.75  # 0.46 fitted once


@pytest.mark.parametrize("face_index", [0, 1])
def test_a_low_hands_rounded_edge_is_taken_in_after_the_refit(faces8, synthetic_model, face_index):
    # a hand 5 mm nearer at its highest, its rounded edge 3 mm: the prior fitted again without what
    # was found still comes up a little under the rest, which stands 2-3 spreads nearer (IoU 0.77 and
    # 0.88 when the refit took in only what stood 3 spreads nearer)
    face = faces8[face_index]
    occluded, covered = _low_hand(face, 9, 5.0)
    assert _iou(synthetic_model.find_occluders(occluded), covered) > 0.88


@pytest.mark.parametrize("face_index, seed", [(0, 7), (1, 5)])
def test_a_large_occluder_whose_height_the_fit_could_follow_is_found(faces8, synthetic_model, face_index, seed):
    # a hand 4 mm nearer (5 spreads at its highest): a robust fit started from the plain fit
    # comes up under all of it and finds nothing (IoU 0.06, 0.00); started strict, it stays under
    face = faces8[face_index]
    occluded, covered = _low_hand(face, seed, 4.0)
    assert _iou(synthetic_model.find_occluders(occluded), covered) > 0.9


def test_a_low_hand_the_fit_comes_up_under_is_found_by_the_step_round_it(faces8, synthetic_model):
    # a hand 6 mm nearer at its highest (4.6 spreads), its edge a step of 3.6 mm: the robust fit and
    # the refit came up under half of it (IoU 0.51); the step all round it tells it from the face
    face = faces8[0]
    occluded, covered = _low_hand(face, 11, 6.0)
    assert _iou(synthetic_model.find_occluders(occluded), covered) > 0.9


def test_steps_mark_both_sides_of_a_jump_and_nothing_else():
    values = np.zeros((6, 7))
    values[2:4, 3:5] = 5.0
    expected = np.zeros(values.shape, dtype=bool)
    expected[1:5, 2:6] = True
    np.testing.assert_array_equal(_steps(values, 1, 2.0), expected)
    assert not _steps(values, 1, 5.0).any()


def test_a_face_with_nothing_on_it_comes_back_unchanged(faces8, model8):
    for face in faces8[:2]:
        assert not model8.find_occluders(face).any()
        np.testing.assert_array_equal(model8.reconstruct(face, occluders=True), model8.reconstruct(face))


def test_the_users_mask_is_not_looked_at(faces8, model8):
    occluded, covered = _covered(faces8[0], "hand", 3)
    assert not model8.find_occluders(occluded, mask=covered).any()


def test_a_part_of_the_face_where_faces_stray_from_the_fit_must_stand_out_further(faces8, model8):
    # a bump on the forehead, where the training faces fit the prior well, is an occluder; the
    # same bump where they stray from it by many spreads (as at the tip of the nose) is not
    face = faces8[1]
    depth = np.where(face == 255, np.nan, face.astype(float))
    bump = np.zeros(face.shape, bool)
    bump[20:36, 45:61] = True
    depth[bump] += 6 * model8.prior_.residual_spread
    assert find_occluders(depth, model8.frame_, model8.prior_)[bump].all()
    local_spread = model8.prior_.local_spread.copy()
    local_spread[15:41, 40:66] = 20 * model8.prior_.residual_spread
    assert not (find_occluders(depth, model8.frame_, replace(model8.prior_, local_spread=local_spread)) & bump).any()


def test_a_model_without_the_learned_residuals_says_to_train_again(faces8, model8):
    old = replace(model8.prior_, residual_spread=float("nan"), ridge_spread=None)
    with pytest.raises(InvalidParameterError, match="train it again"):
        find_occluders(np.where(faces8[0] == 255, np.nan, faces8[0].astype(float)), model8.frame_, old)


def test_ridges_are_thin_structures_nearer_than_their_surroundings():
    standing_out = np.zeros((30, 30))
    standing_out[15, 5:25] = 4.0  # a strand
    standing_out[2:10, 2:10] = 4.0  # a wide plateau
    found = ridges(standing_out, 1.0)
    assert (found[15, 6:24] == 4.0).all() and np.abs(found[3:9, 3:9]).max() == 0.0


def test_the_outline_is_no_ridge_and_a_strand_is_found_up_to_it():
    standing_out = np.full((30, 30), 0.5)  # a face standing out a little everywhere ...
    standing_out[:, 19] = 2.0  # ... and more at its rim, where the fit is the outline's
    standing_out[:, 20:] = np.nan  # the background beyond its outline
    standing_out[15, 5:19] = 4.0  # a strand that runs into the outline
    found = ridges(standing_out, 1.0)
    assert np.abs(np.delete(found[:, 19], 15)).max() == 0.0  # the rim is not thin: the background is no edge
    assert (found[15, 6:19] == 3.5).all()


def test_a_hair_strand_reaching_the_outline_is_found_there(faces8, model8):
    face = faces8[0]
    observed = face != 255
    rows = np.flatnonzero(observed.any(axis=1))
    row = rows[len(rows) // 4]  # across the forehead, from the outline inwards
    left = np.flatnonzero(observed[row])[0]
    strand = np.zeros(face.shape, bool)
    strand[row : row + 2, left : left + 25] = True
    occluded = face.copy()
    occluded[strand] = to_dtype(face[strand] + LEVELS_PER_MM * 4.0, face.dtype, 255)
    found = model8.find_occluders(occluded)
    assert found[strand].mean() > 0.9
    assert found[row : row + 2, left : left + 3].mean() >= 0.8  # the pixels at the outline too



def test_a_long_faint_strand_is_found_in_noise_and_a_short_one_is_not():
    # depth noise: what the opening removes from it is the faces' typical ridge; two strands 1.8
    # times as high, under the 2 that a short structure needs: the long one is found
    rng = np.random.default_rng(8)
    noise = rng.normal(0, 0.5, (60, 90))
    typical = np.sqrt(np.mean(ridges(noise, 1.0) ** 2))
    standing_out = noise.copy()
    standing_out[15:17, 10:80] += 1.8 * typical  # long
    standing_out[40:42, 30:42] += 1.8 * typical  # short
    no_outline = np.full(noise.shape, np.inf)
    found = _thin_structures(
        standing_out, np.full(noise.shape, typical), 1.0, no_outline, np.zeros(noise.shape, bool), typical, 1.0
    )
    assert found[15:17, 10:80].mean() > 0.8
    assert found[40:42, 30:42].mean() < 0.3
    elsewhere = np.ones(noise.shape, bool)
    elsewhere[12:20, 7:83] = elsewhere[37:45, 27:45] = False
    assert found[elsewhere].mean() < 0.01

def test_a_faint_fringe_beside_what_was_found_is_not_taken_in():
    # a frame found clearly, with a faint fringe along it (eyelids, noise): the fringe is long only
    # next to the frame, so it is no strand of its own
    standing_out = np.zeros((40, 60))
    standing_out[10:12, 5:55] = 4.0  # the frame
    standing_out[12, 5:55] = 1.7  # the fringe beside it
    standing_out[30:32, 5:55] = 1.7  # a faint strand away from it
    no_outline = np.full((40, 60), np.inf)
    found = _thin_structures(standing_out, np.ones((40, 60)), 1.0, no_outline, np.zeros((40, 60), bool), 1.0, 1.0)
    assert found[10:12, 6:54].all() and found[30:32, 6:54].all()
    assert not found[12, 6:54].any()
