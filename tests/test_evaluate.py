import math
import sys

import numpy as np
import pytest

from facefill import evaluate as ev
from facefill.baselines import resolve_methods
from facefill.errors import InvalidParameterError, ShapeMismatchError
from facefill.fill.region import enclosed_holes
from facefill.model import FaceModel
from facefill.synth import make_faces

from .conftest import NARROW_POSE


@pytest.fixture(scope="module")
def small_faces():
    return make_faces(4, shape=(60, 58), seed=4, pose=NARROW_POSE)


def _square_face():
    truth = np.full((10, 10), 255, np.uint8)
    truth[2:8, 2:8] = 50
    hidden = np.zeros((10, 10), bool)
    hidden[3:6, 3:6] = True
    given = truth.copy()
    given[hidden] = 255
    return truth, given, hidden


def test_perfect_reconstruction_scores_zero_error_and_iou_one():
    truth, given, hidden = _square_face()
    scores = ev.score(truth, given, truth, hidden, 255)
    assert scores == {"mae": 0.0, "rmse": 0.0, "iou": 1.0, "changed": 0, "observed_changed": 0}


def test_constant_offset_scores_that_offset():
    truth, given, hidden = _square_face()
    output = truth.copy()
    output[hidden] = 53
    scores = ev.score(truth, given, output, hidden, 255)
    assert scores["mae"] == pytest.approx(3.0) and scores["rmse"] == pytest.approx(3.0)


def test_painting_background_inside_the_hidden_area_lowers_iou():
    truth, given, _ = _square_face()
    hidden = np.zeros((10, 10), bool)
    hidden[:, 5:] = True  # half the face and the background beside it
    given = truth.copy()
    given[hidden] = 255
    output = truth.copy()
    output[hidden] = 50  # 18 face pixels right, 32 background pixels wrongly painted
    scores = ev.score(truth, given, output, hidden, 255)
    assert scores["iou"] == pytest.approx(18 / 50)
    assert scores["mae"] == 0.0


def test_leaving_face_unfilled_lowers_iou_and_scores_only_filled_pixels():
    truth, given, hidden = _square_face()
    output = given.copy()
    output[3, 3:6] = 50
    scores = ev.score(truth, given, output, hidden, 255)
    assert scores["iou"] == pytest.approx(3 / 9) and scores["mae"] == 0.0


def test_nothing_filled_gives_nan_error():
    truth, given, hidden = _square_face()
    assert math.isnan(ev.score(truth, given, given, hidden, 255)["mae"])


def test_changed_counts_pixels_outside_hidden_that_differ():
    truth, given, hidden = _square_face()
    output = truth.copy()
    output[0, 0] = 7  # painted background
    output[2, 2] = 49  # altered observed pixel
    scores = ev.score(truth, given, output, hidden, 255)
    assert scores["changed"] == 2 and scores["observed_changed"] == 1


def test_evaluate_scores_every_method_on_the_same_masks(small_faces):
    result = ev.evaluate(small_faces, masks_per_face=1, examples_per_family=1)
    summary = result.summary()
    families = ev.EVALUATED_FAMILIES
    assert list(summary) == list(ev.DEFAULT_METHODS)
    assert len(result.cases) == 4 * len(families) * len(ev.DEFAULT_METHODS)
    for method, by_family in summary.items():
        assert set(by_family) == {*families, "overall"}
        assert by_family["overall"]["cases"] == 4 * len(families)
        assert by_family["overall"]["observed_changed"] == 0  # nothing observed is ever altered
    # one example per family, and auto finding the first held-out face's occluder
    assert len(result.examples) == len(families) + 1 and set(result.examples[0].outputs) == set(ev.DEFAULT_METHODS)
    json_ready = result.to_json()
    assert json_ready["settings"]["faces"] == 4 and len(json_ready["cases"]) == len(result.cases)


def test_same_seed_same_scores_other_seed_other_masks(small_faces):
    def maes(seed):
        return [c["mae"] for c in ev.evaluate(small_faces, ["seed"], ["blobs"], 1, seed=seed).cases]

    assert maes(0) == maes(0)
    assert maes(0) != maes(1)


def test_baselines_fill_only_inside_the_majority_silhouette_and_enclosed_holes(small_faces):
    model = FaceModel(n_components=2, noise=1.0, mirror_weight=0.5).fit(small_faces[1:])
    given = small_faces[0].copy()
    given[:, :29] = 255  # half the face, and the background beside it
    given[30:34, 40:44] = 255  # an enclosed hole
    methods, skipped = resolve_methods(["telea", "ns", "biharmonic"])
    assert not skipped
    where = (given == 255) & (model.outline_ | enclosed_holes(given == 255))
    assert where.sum() > 500 and ((given == 255) & ~where).sum() > 500  # both face to fill and background to keep
    for method in methods.values():
        filled = model.reconstruct(given, method)
        np.testing.assert_array_equal(filled != 255, (given != 255) | where)


def test_missing_extra_skips_baselines_with_the_reason(small_faces, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    result = ev.evaluate(small_faces, ["seed", "telea", "ns"], ["band"], 1)
    assert set(result.skipped) == {"telea", "ns"}
    assert "pip install 'facefill[eval]'" in result.skipped["telea"]
    assert result.settings["methods"] == ["seed"]


def test_only_unavailable_methods_is_an_error(small_faces, monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(InvalidParameterError, match="no method can be scored"):
        ev.evaluate(small_faces, ["telea"], ["band"], 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"methods": ["magic"]}, "method 'magic' is not known"),
        ({"families": ["hat"]}, "mask family 'hat' is not known"),
        ({"families": []}, "families is empty"),
        ({"masks_per_face": 0}, "masks_per_face 0 is not valid"),
    ],
)
def test_invalid_arguments(small_faces, kwargs, message):
    with pytest.raises(InvalidParameterError, match=message):
        ev.evaluate(small_faces, **kwargs)


def test_one_face_is_not_enough(small_faces):
    with pytest.raises(InvalidParameterError, match="at least 2"):
        ev.evaluate(small_faces[:1])


def test_a_given_model_is_scored_on_held_out_faces(model8, faces8):
    held_out = faces8[:2]  # model8 never saw them
    result = ev.evaluate(held_out, methods=["auto", "seed"], families=["blobs"], masks_per_face=1, model=model8)
    assert result.settings["protocol"] == "a given model of 10 faces"
    assert len(result.cases) == 2 * 2
    for case in result.cases:
        hidden = ev.make_mask("blobs", held_out[case["face"]] != 255, ev.mask_rng(0, case["face"], "blobs", 0))
        given = np.where(hidden, 255, held_out[case["face"]]).astype(np.uint8)
        expected = ev.score(held_out[case["face"]], given, model8.reconstruct(given, case["method"]), hidden, 255)
        assert case["mae"] == pytest.approx(expected["mae"]) and case["iou"] == pytest.approx(expected["iou"])


def test_a_given_model_must_take_the_faces_size(model8):
    with pytest.raises(ShapeMismatchError, match="images"):
        ev.evaluate(np.full((1, 30, 30), 255, np.uint8), model=model8)


def test_occluders_are_painted_given_as_missing_to_every_method_and_found_by_auto(small_faces):
    result = ev.evaluate(small_faces, methods=["auto", "seed"], families=["occluders"], masks_per_face=3, examples_per_family=1)
    assert [c["method"] for c in result.cases] == ["auto", "seed"] * 12  # the painted pixels, as missing
    assert len(result.detections) == 12 and len(result.untouched) == 4
    assert {d["kind"] for d in result.detections} == {"hand", "glasses", "hair"}
    occluders = result.occluder_summary()
    assert set(occluders) == {"hand", "glasses", "hair", "overall", "untouched"}
    # faces 40 px wide: the wiring, not the quality (README and tests/test_occluders.py have that)
    assert occluders["hand"]["detection_iou"] > 0.3 and occluders["overall"]["cases"] == 12
    assert occluders["untouched"]["flagged_share"] < 0.05
    given = {(c["face"], c["mask"]): c["mae"] for c in result.cases if c["method"] == "auto"}
    hand = [d for d in result.detections if d["kind"] == "hand"]
    assert occluders["hand"]["mae_given"] == pytest.approx(np.mean([given[(d["face"], d["mask"])] for d in hand]))
    assert [e.family for e in result.examples] == ["occluders", "occluders found", "occluders found", "occluders found"]
    assert result.to_json()["occluders"]["overall"]["cases"] == 12


def test_detection_scores_compare_found_and_painted_pixels():
    painted = np.zeros((4, 4), bool)
    painted[:2] = True
    found = np.zeros((4, 4), bool)
    found[1:3] = True
    assert ev.detection_scores(found, painted) == {"precision": 0.5, "recall": 0.5, "detection_iou": 4 / 12}
    assert math.isnan(ev.detection_scores(np.zeros((4, 4), bool), painted)["precision"])
