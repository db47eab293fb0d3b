import numpy as np

from facefill.prior import fit_prior
from facefill.synth import make_faces


def test_fit_prior_chooses_settings_by_cross_validation():
    faces = make_faces(12, shape=(60, 58), seed=4).astype(float)
    faces[faces == 255] = np.nan
    prior = fit_prior(faces)
    assert 0 <= prior.n_components <= prior.components.shape[0]
    assert prior.noise > 0 and prior.mirror_weight >= 0 and np.isfinite(prior.cv_error)
    assert prior.mean.shape == (60, 58) and np.isfinite(prior.mean).all()
    # mirrored faces are in the training set: the mean face is symmetric
    np.testing.assert_allclose(prior.mean[prior.domain], prior.mean[:, ::-1][prior.domain], atol=1e-9)


def test_fixed_settings_are_kept():
    faces = make_faces(6, shape=(60, 58), seed=4).astype(float)
    faces[faces == 255] = np.nan
    prior = fit_prior(faces, n_components=2, noise=1.5, mirror_weight=0.3)
    assert (prior.n_components, prior.noise, prior.mirror_weight) == (2, 1.5, 0.3)
    assert np.isnan(prior.cv_error)
