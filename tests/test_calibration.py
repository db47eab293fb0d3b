"""What a confidence value means: calibrated on held-out faces (facefill.calibration)."""

import numpy as np
import pytest

from facefill.calibration import Calibration, _non_increasing, round_up
from facefill.errors import InvalidParameterError
from facefill.fill import METHODS
from facefill.masks import FAMILIES, make_mask
from facefill.model import FaceModel
from facefill.synth import make_faces


@pytest.mark.parametrize(("value", "rounded"), [(0.3, 0.5), (1.0, 1.0), (1.2, 2.0), (3.0, 5.0), (7.0, 10.0), (0.012, 0.02)])
def test_the_tolerance_is_rounded_up_to_one_two_or_five(value, rounded):
    assert round_up(value) == pytest.approx(rounded)


def test_shares_are_pooled_until_they_never_rise():
    shares = _non_increasing(np.array([0.9, 0.5, 0.7, 0.2]), np.ones(4))
    np.testing.assert_allclose(shares, [0.9, 0.6, 0.6, 0.2])
    weighted = _non_increasing(np.array([0.5, 0.8]), np.array([3.0, 1.0]))
    np.testing.assert_allclose(weighted, [0.575, 0.575])


def test_every_method_is_calibrated_with_chances_that_fall_as_uncertainty_grows(model8):
    calibration = model8.calibration_
    assert calibration.tolerance in (1.0, 2.0, 5.0)  # a round number of levels, at least one
    assert set(calibration.curves) == set(METHODS)
    for scores, chances in calibration.curves.values():
        assert np.all(np.diff(scores) > 0) and np.all(np.diff(chances) <= 0)
        assert 0 <= chances.min() <= chances.max() <= 1
    # auto's confidence tells near pixels from far ones: its curve spans much of the range
    assert calibration.curves["auto"][1].max() - calibration.curves["auto"][1].min() > 0.3


def test_a_confidence_is_the_share_of_held_out_fills_within_the_tolerance():
    model = FaceModel(n_components=8, noise=4.0, mirror_weight=0.5).fit(make_faces(16, seed=5))
    confidences, within = [], []
    rng = np.random.default_rng(6)
    for truth in make_faces(6, seed=7):  # faces the model never saw
        face = truth != 255
        for family in FAMILIES:
            hidden = make_mask(family, face, rng) & face
            filled, confidence = model.reconstruct(np.where(hidden, 255, truth).astype(np.uint8), return_confidence=True)
            scored = hidden & (filled != 255)
            confidences.append(confidence[scored])
            within.append(np.abs(filled[scored].astype(float) - truth[scored]) <= model.calibration_.tolerance)
    confidence, within = np.concatenate(confidences), np.concatenate(within)
    assert abs(confidence.mean() - within.mean()) < 0.08
    # and it ranks: the pixels it is surer of are more often within
    sure = confidence >= np.median(confidence)
    assert within[sure].mean() > within[~sure].mean() + 0.05


def test_a_stated_tolerance_is_kept_and_a_bad_one_refused(faces8):
    model = FaceModel(n_components=4, noise=1.0, mirror_weight=0.5, tolerance=3).fit(faces8)
    assert model.calibration_.tolerance == 3
    assert model.calibration_.curves["auto"][1].max() > 0.9
    for bad in (0, -1.0, "wide", float("nan")):
        with pytest.raises(InvalidParameterError, match=rf"tolerance {bad!r} is not valid; expected \"auto\" or a number > 0"):
            FaceModel(tolerance=bad).fit(faces8)


def test_a_model_of_too_few_faces_has_no_confidence_to_give(faces8):
    model = FaceModel(n_components=1, noise=1.0, mirror_weight=0.5).fit(faces8[:2])
    assert model.calibration_ is None
    with pytest.raises(InvalidParameterError, match="fewer than 3 faces"):
        model.reconstruct(faces8[0], return_confidence=True)


def test_an_uncalibrated_method_is_named():
    calibration = Calibration(1.0, {"auto": (np.array([0.0, 1.0]), np.array([0.9, 0.5]))})
    np.testing.assert_allclose(calibration.confidence("auto", np.array([0.5, 2.0, np.nan])), [0.7, 0.5, 0.5])
    with pytest.raises(InvalidParameterError, match="method 'seed' has no calibrated confidence in this model; calibrated: auto"):
        calibration.confidence("seed", np.zeros(1))
