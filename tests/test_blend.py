import numpy as np

from facefill.blend import harmonic_fill


def test_harmonic_fill_reproduces_a_linear_ramp():
    ys, xs = np.mgrid[0:12, 0:15].astype(float)
    ramp = 3 * xs + 2 * ys + 5
    unknown = np.zeros(ramp.shape, bool)
    unknown[3:9, 4:11] = True
    values = ramp.copy()
    values[unknown] = np.nan
    np.testing.assert_allclose(harmonic_fill(values, unknown), ramp, atol=1e-9)


def test_harmonic_fill_leaves_regions_without_known_border_nan():
    values = np.full((5, 5), np.nan)
    unknown = np.zeros((5, 5), bool)
    unknown[1:3, 1:3] = True
    filled = harmonic_fill(values, unknown)
    assert np.isnan(filled).all()


def test_harmonic_fill_does_not_modify_its_input():
    values = np.array([[1.0, np.nan, 3.0]])
    unknown = np.isnan(values)
    harmonic_fill(values, unknown)
    assert np.isnan(values[0, 1])
