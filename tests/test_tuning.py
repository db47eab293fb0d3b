from dataclasses import replace

import numpy as np
import pytest
from scipy import ndimage

from facefill.fill.auto import BORDER_SMOOTHING_GRID, blended_fill
from facefill.frame import REFERENCE_FACE_WIDTH, face_width, mirror
from facefill.masks import make_mask, mask_rng
from facefill.prior import FaceStatistics, learn_prior
from facefill import tuning
from facefill.synth import make_faces
from facefill.prior.learn import borrowed_variation
from facefill.tuning import (
    COMPONENT_GRID,
    MIRROR_WEIGHT_GRID,
    NOISE_GRID,
    RENDER_SHARE_GRID,
    SHARE_SIGNIFICANCE,
    _shares_that_help,
    choose_settings,
    cross_validate,
    setting_errors,
)

from .conftest import NARROW_POSE

AUTO = {"n_components": "auto", "noise": "auto", "mirror_weight": "auto", "border_smoothing": "auto"}


@pytest.fixture(scope="module")
def learned():
    """A prior learned from 12 small faces (NaN background), before its settings are chosen."""
    faces = make_faces(12, shape=(60, 58), seed=4, pose=NARROW_POSE).astype(float)
    faces[faces == 255] = np.nan
    statistics = FaceStatistics(len(faces), faces.shape[1:])
    statistics.add(faces, 0)
    return learn_prior(statistics, lambda: iter([(0, faces)]))


def test_the_learned_prior_is_symmetric_and_defined_everywhere(learned):
    prior = learned.prior
    assert prior.mean.shape == (60, 58) and np.isfinite(prior.mean).all()
    # mirrored faces are in the training set: the mean face is symmetric
    np.testing.assert_allclose(prior.mean[prior.domain], mirror(prior.mean)[prior.domain], atol=1e-9)


@pytest.mark.parametrize("family", ["blobs", "half", "chin", "scratches"])
def test_a_setting_is_scored_by_the_fill_auto_runs_with_it(learned, family):
    prior, truth = learned.prior, learned.sample[0] + np.random.default_rng(2).normal(0, 0.5, learned.sample[0].shape)
    hidden = make_mask(family, np.isfinite(truth), mask_rng(0, 0, family, 0))
    target = hidden & np.isfinite(truth)
    depth = np.where(hidden, np.nan, truth)
    smoothings = [0.0, 1.5]
    errors = setting_errors(prior, depth, truth, target, [6], [1.5], [0.5], smoothings)
    assert errors.shape == (1, 1, 1, 2)
    for index, smoothing in enumerate(smoothings):
        # the same setting, run as reconstruction runs it: the prior's fit, then auto's blend
        fitted = replace(prior, n_components=6, noise=1.5, mirror_weight=0.5)
        prediction = fitted.fit(depth).prediction
        scale = face_width(np.isfinite(depth)) / REFERENCE_FACE_WIDTH
        filled = blended_fill(depth, prediction, mirror(depth), target, 0.5, scale, smoothing)
        # equal up to the float32 in which the fill forms its products
        assert errors[0, 0, 0, index] == pytest.approx(np.abs(filled - truth)[target].mean(), rel=1e-5)


def test_the_chosen_settings_have_the_lowest_cross_validated_error(learned):
    chosen = choose_settings(learned.sample, learned.sample_rows, learned.prior, **AUTO)
    depth_scale = learned.prior.depth_scale
    grid_k = [k for k in COMPONENT_GRID if k <= len(learned.prior.components)]
    grid_noise = [depth_scale * g for g in NOISE_GRID]
    grids = (grid_k, grid_noise, list(MIRROR_WEIGHT_GRID), list(BORDER_SMOOTHING_GRID))
    large, thin = cross_validate(
        learned.sample, learned.sample_rows, learned.prior, grids, (("blobs", "half", "chin", "top", "band"), ("speckle", "scratches")), 0
    )
    # the border smoothing that fills thin holes best, and the rest that fills the large ones best with it
    smoothing = np.argmin(thin.reshape(-1, len(BORDER_SMOOTHING_GRID)).min(axis=0))
    errors = large[..., smoothing]
    assert chosen["cv_error"] == pytest.approx(errors.min())
    k, noise, weight = np.unravel_index(np.argmin(errors), errors.shape)
    assert (chosen["n_components"], chosen["noise"], chosen["mirror_weight"], chosen["border_smoothing"]) == (
        grid_k[k], pytest.approx(grid_noise[noise]), MIRROR_WEIGHT_GRID[weight], BORDER_SMOOTHING_GRID[smoothing]
    )
    # the choice matters: the worst setting fills far worse than the best
    assert errors.max() > 1.1 * errors.min()


@pytest.mark.parametrize("noise", [0.0, 1.0])
def test_the_border_is_smoothed_for_noisy_faces_and_not_for_noiseless_ones(noise):
    faces = make_faces(12, shape=(60, 58), dtype="float32", seed=4, noise=noise)
    statistics = FaceStatistics(len(faces), faces.shape[1:])
    statistics.add(faces, 0)
    learned = learn_prior(statistics, lambda: iter([(0, faces)]))
    settings = {"n_components": 8, "noise": learned.prior.depth_scale, "mirror_weight": 0.5, "border_smoothing": "auto"}
    chosen = choose_settings(learned.sample, learned.sample_rows, learned.prior, **settings)
    assert (chosen["border_smoothing"] > 0) == (noise > 0)


def test_the_share_of_borrowed_variation_is_the_best_of_those_that_clearly_help(learned, monkeypatch):
    other = make_faces(30, shape=(60, 58), seed=9).astype(float)
    other[other == 255] = np.nan
    borrowed = borrowed_variation(learned, lambda: iter([(0, other)]))
    settings = {"n_components": 8, "noise": learned.prior.depth_scale, "mirror_weight": 0.5, "border_smoothing": 1.0}
    chosen = choose_settings(learned.sample, learned.sample_rows, learned.prior, **settings, borrowed=borrowed)
    large = ("blobs", "half", "chin", "top", "band")

    def cases(lent):
        """Each large-hole case's error at the one setting."""
        grids = ([8], [settings["noise"]], [0.5], [1.0])
        kept = []
        cross_validate(learned.sample, learned.sample_rows, learned.prior, grids, (large,), 0, borrowed=lent, first_group_cases=kept)
        return np.array(kept).ravel()

    errors = np.array([cases(borrowed.with_share(share)) for share in RENDER_SHARE_GRID])
    gains = errors[0] - errors[1:]
    helps = gains.mean(axis=1) > SHARE_SIGNIFICANCE * gains.std(axis=1, ddof=1) / np.sqrt(gains.shape[1])
    allowed = np.where(np.concatenate([[True], helps]), errors.mean(axis=1), np.inf)
    assert chosen["render_share"] == RENDER_SHARE_GRID[int(np.argmin(allowed))]
    assert chosen["cv_error"] == pytest.approx(allowed.min())
    np.testing.assert_allclose(errors[0], cases(None))  # no share is no borrowing
    assert len({row.mean() for row in errors}) == len(errors)  # and each share fills otherwise
    assert chosen["render_share"] > 0  # here the renders help clearly ...
    monkeypatch.setattr(tuning, "SHARE_SIGNIFICANCE", 100.0)
    unsure = choose_settings(learned.sample, learned.sample_rows, learned.prior, **settings, borrowed=borrowed)
    assert unsure["render_share"] == 0.0  # ... and a gain not clear enough lends nothing


def test_a_share_is_taken_only_when_its_gain_over_none_is_clear():
    rng = np.random.default_rng(0)
    none = rng.uniform(1.0, 2.0, size=40)
    settings = np.stack([none, none + 0.5], axis=-1)  # two settings: the first is always the better
    clear = settings - 0.05  # every case 0.05 better
    noisy = settings - 0.05 + rng.normal(0, 0.5, size=(40, 1))  # better on average, by far less than its spread
    case_errors = np.stack([settings, clear, noisy])  # (shares, cases, settings)
    errors = case_errors.mean(axis=1)
    np.testing.assert_array_equal(_shares_that_help(errors, case_errors), [True, True, False])
    # with too few cases to tell, only none
    np.testing.assert_array_equal(_shares_that_help(case_errors[:, :1].mean(axis=1), case_errors[:, :1]), [True, False, False])


def test_settings_given_are_kept_and_only_the_rest_is_chosen(learned):
    chosen = choose_settings(learned.sample, learned.sample_rows, learned.prior, n_components=2, noise=1.5, mirror_weight="auto")
    assert (chosen["n_components"], chosen["noise"]) == (2, 1.5) and chosen["mirror_weight"] in MIRROR_WEIGHT_GRID
    given = {"n_components": 2, "noise": 1.5, "mirror_weight": 0.3, "border_smoothing": 0.8}
    fixed = choose_settings(learned.sample, learned.sample_rows, learned.prior, **given)
    assert {name: fixed[name] for name in given} == given
    assert np.isnan(fixed["cv_error"])


def test_residual_statistics_are_learned_on_held_out_faces(learned):
    from facefill.tuning import residual_statistics

    prior = replace(learned.prior, n_components=8, noise=learned.prior.depth_scale)
    statistics = residual_statistics(learned.sample, learned.sample_rows, prior)
    for name in ("ridge_spread", "local_spread"):
        spread_map = statistics[name]
        assert spread_map.shape == (60, 58) and spread_map.dtype == np.float32 and (spread_map >= 0).all() and spread_map.max() > 0
    # the faces stray from the fit more at their outlines than inside
    inner = ndimage.binary_erosion(prior.symmetric_outline, iterations=6)
    rim = prior.symmetric_outline & ~ndimage.binary_erosion(prior.symmetric_outline, iterations=2)
    assert np.median(statistics["local_spread"][rim]) > np.median(statistics["local_spread"][inner])
    # in-sample residuals are smaller: a face's own components fit it
    in_sample = np.concatenate([(face - prior.fit(face).prediction)[np.isfinite(face)] for face in learned.sample])
    assert statistics["residual_spread"] > 1.4826 * np.median(np.abs(in_sample - np.median(in_sample))) > 0


def test_too_few_faces_for_held_out_residuals_take_the_depth_scale(learned):
    from facefill.tuning import residual_statistics

    statistics = residual_statistics(learned.sample[:2], learned.sample_rows[[0, 1, 12, 13]], learned.prior)
    assert statistics["residual_spread"] == learned.prior.depth_scale and not statistics["ridge_spread"].any()
