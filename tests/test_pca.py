import numpy as np

from facefill.prior.pca import (
    BorrowedVariation,
    StreamingPCA,
    covariance_factor,
    impute_gaps,
    principal_components,
    project_gaps,
)


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
    _, again, _ = principal_components(rows[::-1], 10)
    np.testing.assert_allclose(again, components, atol=1e-8)


def test_antisymmetric_components_get_the_same_sign_whatever_the_row_order():
    # rows and their mirror images: half the components are antisymmetric, with two largest
    # loadings of opposite signs, where "largest loading positive" would be a coin toss
    half = _low_rank(rank=3, p=50)
    rows = np.concatenate([np.hstack([half, half[:, ::-1] * 0.5]), np.hstack([half * 0.5, half[:, ::-1]])[:, ::-1]])
    rows = np.concatenate([rows, rows[:, ::-1]])
    _, components, _ = principal_components(rows, 10)
    for order in (np.arange(len(rows))[::-1], np.random.default_rng(4).permutation(len(rows))):
        _, again, _ = principal_components(rows[order], 10)
        np.testing.assert_allclose(again, components, atol=1e-7)


def test_streaming_pca_equals_the_pca_of_all_rows_at_once():
    rows = _low_rank(n=45, rank=6) + np.random.default_rng(5).normal(0, 0.01, (45, 200))
    mean, components, variances = principal_components(rows, 60)
    streamed = StreamingPCA(keep=128)
    for start in range(0, 45, 7):
        streamed.add(rows[start : start + 7])
    s_mean, s_components, s_variances, spread = streamed.result(60)
    np.testing.assert_allclose(s_mean, mean, atol=1e-10)
    np.testing.assert_allclose(s_variances, variances, rtol=1e-8)
    np.testing.assert_allclose(s_components, components, atol=1e-6)
    np.testing.assert_allclose(spread, rows.std(axis=0), rtol=1e-10)


def test_streaming_pca_keeps_the_leading_directions_of_more_rows_than_it_tracks():
    rows = _low_rank(n=300, rank=4) + np.random.default_rng(6).normal(0, 0.01, (300, 200))
    _, components, variances = principal_components(rows, 4)
    streamed = StreamingPCA(keep=20)
    for start in range(0, 300, 25):
        streamed.add(rows[start : start + 25])
    _, s_components, s_variances, _ = streamed.result(4)
    np.testing.assert_allclose(s_variances, variances, rtol=1e-3)
    np.testing.assert_allclose(np.abs((s_components * components).sum(axis=1)), 1, atol=1e-4)


def test_project_gaps_fills_low_rank_rows_exactly_and_keeps_known_values():
    rows = _low_rank(rank=3)
    mean, components, _ = principal_components(rows, 3)
    gappy = rows.copy()
    gaps = np.random.default_rng(7).random(rows.shape) < 0.3
    gappy[gaps] = np.nan
    filled = project_gaps(gappy, mean, components)
    np.testing.assert_allclose(filled, rows, atol=1e-6)
    np.testing.assert_array_equal(filled[~gaps], rows[~gaps])


def _covariance(components, variances):
    return (components.T * variances) @ components


def test_borrowed_variation_pools_the_two_covariances_by_its_share():
    own, other = _low_rank(seed=3, rank=3, p=40), _low_rank(seed=4, n=50, rank=5, p=40)
    pca = StreamingPCA(keep=40)
    pca.add(other)
    borrowed = BorrowedVariation(covariance_factor(pca), share=0.3)
    mean, components, variances = borrowed.components(own, 40)
    np.testing.assert_allclose(mean, own.mean(axis=0))  # the mean stays the own rows'
    expected = 0.7 * np.cov(own, rowvar=False) + 0.3 * np.cov(other, rowvar=False)
    np.testing.assert_allclose(_covariance(components, variances), expected, atol=1e-8)
    assert len(components) == 8  # directions the own rows alone do not have


def test_no_borrowed_share_is_the_own_rows_principal_components():
    own = _low_rank(seed=5, rank=4)
    borrowed = BorrowedVariation(np.ones((2, own.shape[1])), share=0.0)
    for got, expected in zip(borrowed.components(own, 10), principal_components(own, 10)):
        np.testing.assert_array_equal(got, expected)
