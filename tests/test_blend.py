import numpy as np
import pytest

from facefill.fill.blend import SmoothCorrection, harmonic_fill, local_quadratic, smooth_correction


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


def _hole():
    unknown = np.zeros((30, 30), bool)
    unknown[10:20, 8:22] = True
    return unknown


def test_smooth_correction_carries_a_constant_border_residual_into_the_hole():
    residual = np.full((30, 30), 2.0)
    unknown = _hole()
    residual[unknown] = np.nan
    correction = smooth_correction(residual, unknown, screening=1e-6)
    np.testing.assert_allclose(correction[unknown], 2.0, atol=0.02)
    assert (correction[~unknown] == 0).all()


def test_smooth_correction_reproduces_a_plane_without_a_crease():
    rows, cols = np.mgrid[0:30, 0:30].astype(float)
    plane = 0.3 * rows - 0.2 * cols
    unknown = _hole()
    residual = np.where(unknown, np.nan, plane)
    correction = smooth_correction(residual, unknown, screening=1e-8)
    np.testing.assert_allclose(correction[unknown], plane[unknown], atol=1e-3)


def test_screening_makes_the_correction_decay_into_large_holes():
    residual = np.zeros((40, 80))
    unknown = np.zeros((40, 80), bool)
    unknown[:, 10:] = True  # a hole open to the right: only its left border is known
    residual[:, :10] = 3.0
    residual[unknown] = np.nan
    correction = smooth_correction(residual, unknown, screening=1e-2)
    assert correction[20, 11] > 1.0 and abs(correction[20, 70]) < 0.1


def test_where_nothing_is_known_beyond_the_hole_the_correction_continues_the_borders_slope():
    # the thin-plate energy's free edge: a squared Laplacian would leave any harmonic field free there
    ramp = 0.5 * np.mgrid[0:30, 0:40][1].astype(float)
    unknown = np.zeros((30, 40), bool)
    unknown[:, 10:] = True  # open to the right and at the top and bottom
    residual = np.where(unknown, np.nan, ramp)
    correction = smooth_correction(residual, unknown, screening=1e-9)
    np.testing.assert_allclose(correction[unknown], ramp[unknown], atol=0.01)


def test_soft_evidence_pulls_the_correction():
    unknown = _hole()
    residual = np.where(unknown, np.nan, 0.0)
    soft = np.where(unknown, 5.0, np.nan)
    weak = smooth_correction(residual, unknown, soft=soft, soft_weight=1e-3)
    strong = smooth_correction(residual, unknown, soft=soft, soft_weight=10.0)
    assert weak[15, 15] < strong[15, 15] and strong[15, 15] > 4.0


def test_the_sparse_solver_for_large_holes_gives_the_banded_solvers_correction():
    rng = np.random.default_rng(0)
    rows, cols = np.mgrid[0:40, 0:50]
    unknown = ((rows - 20) ** 2 / 120 + (cols - 22) ** 2 / 200 < 1) | ((rows > 30) & (cols > 35))  # two holes
    residual = np.where(unknown, np.nan, rng.normal(size=unknown.shape))
    soft = np.where(unknown & (cols > 25), 1.5, np.nan)
    banded = smooth_correction(residual, unknown, soft=soft, soft_weight=0.05)
    sparse = smooth_correction(residual, unknown, soft=soft, soft_weight=0.05, banded_limit=0)
    np.testing.assert_allclose(sparse, banded, atol=1e-9)
    assert np.abs(banded[unknown]).max() > 0.1


def test_unknown_pixels_without_a_whole_stencil_get_a_finite_correction():
    # a lone pixel in the image's corner: no Laplacian row fits around it
    residual = np.zeros((6, 6))
    unknown = np.zeros((6, 6), bool)
    unknown[0, 0] = True
    residual[unknown] = np.nan
    assert smooth_correction(residual, unknown)[0, 0] == 0.0
    soft = np.where(unknown, 2.0, np.nan)
    assert 0.0 < smooth_correction(residual, unknown, soft=soft, soft_weight=0.5)[0, 0] <= 2.0


def test_a_stack_of_residual_fields_is_solved_as_each_field_alone():
    rng = np.random.default_rng(1)
    rows, cols = np.mgrid[0:30, 0:40]
    unknown = (rows - 15) ** 2 / 60 + (cols - 20) ** 2 / 90 < 1
    residual = np.where(unknown, np.nan, rng.normal(size=unknown.shape))
    soft = np.where(unknown & (cols > 20), 2.0, np.nan)
    system = SmoothCorrection(unknown, np.isfinite(residual), 1e-3, np.isfinite(soft), 0.05)
    stack, softs = np.stack([residual, 3 * residual + 1]), np.stack([soft, -soft])
    together = system.solve(stack, softs)
    for field in range(2):
        alone = smooth_correction(stack[field], unknown, 1e-3, soft=softs[field], soft_weight=0.05)
        np.testing.assert_allclose(together[field], alone, atol=1e-10)
    assert np.abs(together[1] - together[0]).max() > 0.5


def test_local_quadratic_keeps_a_quadratic_surface_with_gaps():
    ys, xs = np.mgrid[0:30, 0:30].astype(float)
    surface = 40 + 0.7 * xs - 0.2 * ys + 0.03 * xs**2 - 0.02 * xs * ys + 0.01 * ys**2
    values = surface.copy()
    values[10:12, 3:27] = np.nan  # a scratch
    values[:, :2] = np.nan  # an edge: the fits beside it are one-sided
    at = np.isfinite(values)
    fitted = local_quadratic(values, at, 1.5)
    np.testing.assert_allclose(fitted[at], surface[at], atol=1e-3)
    assert np.isnan(fitted[~at]).all()


def test_local_quadratic_averages_noise_and_leaves_other_pixels_and_its_input_alone():
    rng = np.random.default_rng(4)
    ys, xs = np.mgrid[0:40, 0:40].astype(float)
    surface = 0.02 * (xs - 20) ** 2 + 0.3 * ys
    noisy = surface + rng.normal(0, 1.0, surface.shape)
    before = noisy.copy()
    at = np.zeros(surface.shape, bool)
    at[5:35, 5:20] = True
    fitted = local_quadratic(noisy, at, 1.5)
    np.testing.assert_array_equal(noisy, before)
    np.testing.assert_array_equal(fitted[~at], noisy[~at])
    # about 28 pixels' worth of weight, 6 coefficients: the noise falls by half or more
    assert np.abs(fitted - surface)[at].mean() < 0.5 * np.abs(noisy - surface)[at].mean()


def test_local_quadratic_keeps_a_lone_pixel_and_a_line_finite():
    values = np.full((9, 9), np.nan)
    values[4, 4] = 7.0
    values[1, :] = np.arange(9.0)
    fitted = local_quadratic(values, np.isfinite(values), 1.5)
    assert fitted[4, 4] == pytest.approx(7.0)
    np.testing.assert_allclose(fitted[1], np.arange(9.0), atol=1e-3)
