import numpy as np

from facefill.prior import fit_prior, gappy_fit, impute_gaps, principal_components
from facefill.synth import make_faces


def _low_rank(seed=0, n=30, p=200, rank=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, rank)) @ rng.normal(size=(rank, p)) + 5.0


def test_impute_gaps_recovers_low_rank_data():
    rows = _low_rank()
    gappy = rows.copy()
    gaps = np.random.default_rng(1).random(rows.shape) < 0.1
    gappy[gaps] = np.nan
    filled = impute_gaps(gappy, rank=3, iterations=50)
    assert np.abs(filled[gaps] - rows[gaps]).mean() < 0.05 * np.abs(rows[gaps] - rows.mean()).mean()
    np.testing.assert_array_equal(filled[~gaps], rows[~gaps])


def test_principal_components_are_orthonormal_sorted_and_sign_fixed():
    rows = _low_rank(rank=4)
    mean, components, variances = principal_components(rows, 10)
    assert components.shape[0] == 4  # the rank, not more
    np.testing.assert_allclose(components @ components.T, np.eye(4), atol=1e-8)
    assert (np.diff(variances) <= 0).all()
    largest = components[np.arange(4), np.argmax(np.abs(components), axis=1)]
    assert (largest > 0).all()
    _, again, _ = principal_components(rows[::-1], 10)
    np.testing.assert_allclose(again, components, atol=1e-8)


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


def test_fit_prior_chooses_settings_by_cross_validation():
    faces = make_faces(12, shape=(60, 58), seed=4).astype(float)
    faces[faces == 255] = np.nan
    prior = fit_prior(faces)
    assert 0 <= prior.n_components <= prior.components.shape[0]
    assert prior.noise > 0 and prior.mirror_weight >= 0 and np.isfinite(prior.cv_error)
    assert prior.template.shape == (60, 58) and np.isfinite(prior.template).all()
    # mirrored faces are in the training set: the mean face is symmetric
    np.testing.assert_allclose(prior.template[prior.domain], prior.template[:, ::-1][prior.domain], atol=1e-9)


def test_fixed_settings_are_kept():
    faces = make_faces(6, shape=(60, 58), seed=4).astype(float)
    faces[faces == 255] = np.nan
    prior = fit_prior(faces, n_components=2, noise=1.5, mirror_weight=0.3)
    assert (prior.n_components, prior.noise, prior.mirror_weight) == (2, 1.5, 0.3)
    assert np.isnan(prior.cv_error)


def test_predictive_spread_is_larger_where_nothing_is_observed():
    faces = make_faces(12, shape=(60, 58), seed=4).astype(float)
    faces[faces == 255] = np.nan
    prior = fit_prior(faces[1:], n_components=4, noise=1.0, mirror_weight=0.0)
    face = faces[0].copy()
    face[:, 29:] = np.nan
    _, fit = prior.fit_face(face)
    std = prior.predictive_std(fit, prior.domain)
    assert std[prior.domain].min() >= 1.0
