import dataclasses

import numpy as np
import pytest

from facefill.prior import fit_prior, gappy
from facefill.prior.gappy import _trimmed, gappy_fit
from facefill.synth import make_faces

from .conftest import NARROW_POSE


@pytest.fixture(scope="module")
def faces():
    """12 small synthetic faces as float, NaN background."""
    faces = make_faces(12, shape=(60, 58), seed=4).astype(float)
    faces[faces == 255] = np.nan
    return faces


def test_gappy_fit_recovers_offset_and_coefficients():
    rng = np.random.default_rng(2)
    design = rng.normal(size=(500, 3))
    truth = np.array([2.0, -1.0, 0.5])
    target = 7.0 + design @ truth + rng.normal(0, 0.01, 500)
    fit = gappy_fit(design, target, np.ones(500), variances=np.full(3, 100.0), noise=0.01)
    assert abs(fit.offset - 7.0) < 0.01
    np.testing.assert_allclose(fit.coefficients, truth, atol=0.01)


def test_strong_regularisation_shrinks_coefficients_towards_the_mean():
    rng = np.random.default_rng(3)
    design = rng.normal(size=(50, 2))
    target = design @ np.array([3.0, 3.0])
    fit = gappy_fit(design, target, np.ones(50), variances=np.ones(2), noise=100.0)
    assert np.abs(fit.coefficients).max() < 0.1


def test_a_prior_without_components_predicts_the_mean_face_plus_an_offset(faces):
    prior = fit_prior(faces[1:], n_components=0, noise=1.0, mirror_weight=0.0)
    face = faces[0].copy()
    face[20:30, 20:40] = np.nan
    fit = prior.fit(face)
    assert fit.gappy.coefficients.shape == (0,)
    np.testing.assert_allclose(fit.prediction, prior.mean + fit.gappy.offset)


def test_a_fit_to_the_whole_face_is_closer_than_the_mean_face(faces):
    prior = fit_prior(faces[1:], n_components=8, noise=0.5, mirror_weight=0.0)
    face = faces[0]
    known = np.isfinite(face)
    fit = prior.fit(face)
    assert np.abs(fit.prediction - face)[known].mean() < 0.7 * np.abs(prior.mean - np.nanmean(face - prior.mean) - face)[known].mean()


def test_the_mirror_image_of_a_symmetric_face_is_evidence_of_its_hidden_half():
    faces = make_faces(12, shape=(60, 58), seed=4, jitter=False).astype(float)  # exactly symmetric
    faces[faces == 255] = np.nan
    face = faces[0].copy()
    face[:, :29] = np.nan  # the left half hidden: only its mirror image is seen
    hidden = np.isfinite(faces[0]) & np.isnan(face)
    errors = [
        np.abs(fit_prior(faces[1:], n_components=2, noise=2.0, mirror_weight=weight).fit(face).prediction - faces[0])[hidden].mean()
        for weight in (0.0, 0.25, 1.0)
    ]
    assert errors[0] > errors[1] > errors[2]


def test_predictive_spread_is_larger_where_nothing_is_observed(faces):
    prior = fit_prior(faces[1:], n_components=4, noise=1.0, mirror_weight=0.0)
    face = faces[0].copy()
    face[:, 29:] = np.nan  # the right half hidden, and not mirrored in (mirror weight 0)
    spread = prior.fit(face).spread()
    assert spread.min() >= prior.noise  # never below the pixel noise
    seen, unseen = prior.domain & np.isfinite(face), prior.domain & np.isnan(face)
    assert np.median(spread[unseen]) > np.median(spread[seen])
    # the same pixels, seen: the fit to the whole face is surer of them
    whole = prior.fit(faces[0]).spread()
    assert np.median(whole[unseen]) < np.median(spread[unseen])


def test_the_trimmed_start_drops_the_share_that_stands_out_most():
    standing_out = np.arange(10.0)
    np.testing.assert_array_equal(_trimmed(standing_out, 0.2), [1, 1, 1, 1, 1, 1, 1, 1, 0, 0])
    assert _trimmed(np.zeros(0), 0.2).shape == (0,)


def test_a_robust_fit_is_pulled_less_under_a_large_low_blob_from_the_trimmed_start(monkeypatch):
    # a hand-sized blob (16 % of the face) 5 spreads nearer: the plain fit rises under it, and
    # the biweight's strict first cutoff alone keeps part of that rise
    faces = make_faces(25, shape=(80, 78), seed=4, pose=NARROW_POSE).astype(float)
    faces[faces == 255] = np.nan
    prior = fit_prior(faces[1:], n_components=10, noise=0.5, mirror_weight=0.0)
    face = faces[0]
    known = np.isfinite(face)
    residuals = (face - prior.fit(face).prediction)[known]
    spread = 1.4826 * np.median(np.abs(residuals - np.median(residuals)))
    prior = dataclasses.replace(prior, residual_spread=spread)
    rows, columns = np.mgrid[:80, :78]
    blob = (((rows - 55) / 14) ** 2 + ((columns - 30) / 12) ** 2 < 1) & known
    occluded = face.copy()
    occluded[blob] += 5 * spread

    def error_under_the_blob():
        return np.abs(prior.robust_fit(occluded, 1.0).prediction - face)[blob].mean()

    trimmed = error_under_the_blob()
    monkeypatch.setattr(gappy, "ROBUST_TRIM", 0.0)
    assert trimmed < 0.85 * error_under_the_blob()
