"""Smooth fields solved from hole borders, on sparse systems.

``harmonic_fill`` fills unknown pixels with the solution of Laplace's equation
whose boundary values are the known 4-neighbours: the smoothest surface that
meets the border without a step. ``smooth_correction`` minimises the
thin-plate (biharmonic) energy instead, which also meets the border's slope:
``auto`` uses it to bend its prior onto the observed pixels without a crease.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

#: The 5-point Laplacian: row and column offsets (the pixel, then its 4-neighbours) and weights.
_STENCIL_ROWS = np.array([0, -1, 1, 0, 0])
_STENCIL_COLS = np.array([0, 0, 0, -1, 1])
_STENCIL_WEIGHTS = np.array([-4.0, 1.0, 1.0, 1.0, 1.0])
_OFFSETS = tuple(zip(_STENCIL_ROWS[1:].tolist(), _STENCIL_COLS[1:].tolist()))  # the 4-neighbours


def harmonic_fill(values: np.ndarray, unknown: np.ndarray) -> np.ndarray:
    """Fill ``unknown`` pixels harmonically from the finite pixels around them.

    Parameters
    ----------
    values : (H, W) float ndarray
        Known values; NaN pixels that are not ``unknown`` are treated as absent
        (neither constraint nor unknown).
    unknown : (H, W) bool ndarray
        Pixels to solve for.

    Returns
    -------
    filled : (H, W) float ndarray
        A copy of ``values`` with ``unknown`` solved; a connected part of
        ``unknown`` that touches no known pixel is left NaN.
    """
    filled = np.array(values, dtype=np.float64)
    known = np.isfinite(filled) & ~unknown
    # a region that touches no known pixel has nothing to be solved from: it stays NaN
    filled[unknown] = np.nan
    unknown = _anchored(unknown, known)
    index = np.full(unknown.shape, -1, dtype=np.int64)
    ys, xs = np.nonzero(unknown)
    n = ys.size
    if n == 0:
        return filled
    index[ys, xs] = np.arange(n)
    height, width = unknown.shape
    rows, cols, data = [], [], []
    rhs = np.zeros(n)
    degree = np.zeros(n)
    for dy, dx in _OFFSETS:
        ny, nx = ys + dy, xs + dx
        inside = (ny >= 0) & (ny < height) & (nx >= 0) & (nx < width)
        src = np.nonzero(inside)[0]
        ny, nx = ny[inside], nx[inside]
        to_unknown = unknown[ny, nx]
        to_known = known[ny, nx]
        rows.append(src[to_unknown])
        cols.append(index[ny[to_unknown], nx[to_unknown]])
        data.append(np.full(to_unknown.sum(), -1.0))
        np.add.at(rhs, src[to_known], filled[ny[to_known], nx[to_known]])
        np.add.at(degree, src[to_unknown | to_known], 1.0)
    from scipy import (
        sparse,  # here, not at the top: it adds 0.1 s to the start of every command
    )
    from scipy.sparse import linalg as sparse_linalg

    matrix = sparse.csr_matrix(
        (np.concatenate(data + [degree]), (np.concatenate(rows + [np.arange(n)]), np.concatenate(cols + [np.arange(n)]))),
        shape=(n, n),
    )
    solution = sparse_linalg.spsolve(matrix.tocsc(), rhs)
    filled[ys, xs] = solution
    return filled


def _anchored(unknown: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Unknown pixels whose 4-connected unknown region touches a known pixel."""
    labels, count = ndimage.label(unknown)
    if count == 0:
        return np.zeros_like(unknown)
    border = ndimage.binary_dilation(known) & unknown
    touching = np.zeros(count + 1, dtype=bool)
    touching[np.unique(labels[border])] = True
    touching[0] = False
    return touching[labels]


def _bandwidth(stencil_position: np.ndarray, is_unknown: np.ndarray) -> int:
    """Half-bandwidth of the normal matrix when each stencil's unknowns sit at these positions."""
    high = np.where(is_unknown, stencil_position, -1).max(axis=1, initial=-1)
    low = np.where(is_unknown, stencil_position, np.iinfo(np.int64).max).min(axis=1, initial=np.iinfo(np.int64).max)
    rows = high >= 0
    return int((high[rows] - low[rows]).max(initial=0))


def _sums(index: np.ndarray, values: np.ndarray, length: int) -> np.ndarray:
    """Float sums of ``values`` by ``index`` into ``length`` bins (none given: zeros, still float)."""
    return np.bincount(index, values, minlength=length).astype(np.float64, copy=False)


#: The banded solver's work grows as n * bandwidth**2, a sparse LU's as about n**1.5: past this
#: bandwidth**2 / sqrt(n) (large holes in large images) the sparse LU is faster.
BANDED_LIMIT = 400


def _solve_normal(n, low, high, products, diagonal, rhs, bandwidth, banded_limit) -> np.ndarray:
    """Solve the symmetric positive definite system whose lower triangle sums ``products`` at
    (``high``, ``low``), plus ``diagonal``, for ``rhs``: by banded Cholesky while
    ``bandwidth**2 / sqrt(n)`` is at most ``banded_limit``, else by a sparse LU."""
    if bandwidth**2 <= banded_limit * np.sqrt(n):
        from scipy.linalg import (
            solveh_banded,  # here, not at the top: see harmonic_fill
        )

        # entry (i, j), i >= j, sits at [i - j, j] of LAPACK's lower band storage
        band = _sums((high - low) * n + low, products, (bandwidth + 1) * n).reshape(bandwidth + 1, n)
        band[0] += diagonal
        return solveh_banded(band, rhs, lower=True, check_finite=False)
    from scipy import sparse
    from scipy.sparse import linalg as sparse_linalg

    off = high != low
    matrix = sparse.csc_matrix(
        (
            np.concatenate([products, products[off], diagonal]),
            (np.concatenate([high, low[off], np.arange(n)]), np.concatenate([low, high[off], np.arange(n)])),
        ),
        shape=(n, n),
    )
    # a symmetric ordering factorises a symmetric positive definite matrix fastest
    factor = sparse_linalg.splu(matrix, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
    return factor.solve(rhs)


def smooth_correction(
    residual: np.ndarray,
    unknown: np.ndarray,
    screening: float = 1e-3,
    soft: np.ndarray | None = None,
    soft_weight: float = 0.0,
    banded_limit: float = BANDED_LIMIT,
) -> np.ndarray:
    """A smooth field over ``unknown`` that meets ``residual`` (and its slope) at the hole border.

    Minimises the squared Laplacian of the field (thin-plate / biharmonic
    energy) over every pixel whose 5-point stencil lies in the hole and its
    two-pixel ring of known residuals, plus ``screening`` times the squared
    field, which makes it decay away from the border instead of extrapolating
    far into large holes. Pixels next to neither (the background side of a
    hole) get natural boundary conditions.

    Parameters
    ----------
    residual : (H, W) float ndarray
        Known values (observed minus prior) where finite.
    unknown : (H, W) bool ndarray
        Pixels to solve for.
    screening : float
        Weight of the decay term (larger: shorter reach).
    soft : (H, W) float ndarray, optional
        Weaker evidence inside the hole (finite where known), such as mirrored
        observed pixels: the field is drawn towards it with ``soft_weight``.
    soft_weight : float
        Weight of ``soft`` relative to the smoothness term.
    banded_limit : float
        Which solver: see :data:`BANDED_LIMIT` (0 always takes the sparse LU).

    Returns
    -------
    correction : (H, W) float ndarray
        The field on ``unknown``, 0 elsewhere.
    """
    correction = np.zeros(unknown.shape)
    n = int(unknown.sum())
    if n == 0:
        return correction
    ring = ndimage.binary_dilation(unknown, iterations=2) & ~unknown & np.isfinite(residual)
    active = unknown | ring
    unknown_index = np.full(unknown.shape, -1, dtype=np.int64)
    unknown_index[unknown] = np.arange(n)
    # Laplacian rows: pixels of the hole or its first ring whose whole stencil is active
    centres = ndimage.binary_dilation(unknown) & active
    padded = np.pad(active, 1)
    full = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
    rows_r, rows_c = np.nonzero(centres & full)
    m = rows_r.size
    # each Laplacian row's 5 stencil pixels: unknowns enter the matrix, known residuals its right side
    stencil_rows, stencil_cols = rows_r[:, None] + _STENCIL_ROWS, rows_c[:, None] + _STENCIL_COLS  # (m, 5)
    index = unknown_index[stencil_rows, stencil_cols]
    is_unknown = index >= 0
    weights = np.broadcast_to(_STENCIL_WEIGHTS, index.shape)
    known = ~is_unknown
    b = -_sums(np.nonzero(known)[0], weights[known] * residual[stencil_rows[known], stencil_cols[known]], m)
    # The normal matrix is banded: number the unknowns along rows or along columns, whichever keeps
    # the band narrower, and solve it by banded Cholesky (2-3x faster than a sparse LU at these sizes).
    ys, xs = np.nonzero(unknown)  # row-major: unknown_index order
    along_cols = np.empty(n, dtype=np.int64)
    along_cols[np.lexsort((ys, xs))] = np.arange(n)
    index = np.where(is_unknown, index, 0)
    orders = (np.arange(n), along_cols)
    bandwidths = [_bandwidth(order[index], is_unknown) for order in orders]
    position, bandwidth = orders[int(np.argmin(bandwidths))], min(bandwidths)
    stencil_position = position[index]
    # each pair of unknowns in a stencil (each unknown with itself included) adds their weights' product
    first, second = np.triu_indices(len(_STENCIL_WEIGHTS))
    pair = is_unknown[:, first] & is_unknown[:, second]
    i, j = stencil_position[:, first][pair], stencil_position[:, second][pair]
    low, high = np.minimum(i, j), np.maximum(i, j)
    products = np.broadcast_to(_STENCIL_WEIGHTS[first] * _STENCIL_WEIGHTS[second], pair.shape)[pair]
    diagonal = np.full(n, screening)
    rhs = _sums(stencil_position[is_unknown], (weights * b[:, None])[is_unknown], n)
    if soft is not None and soft_weight > 0:
        soft_values = soft[ys, xs]
        has_soft = np.isfinite(soft_values)
        diagonal[position[has_soft]] += soft_weight
        rhs[position[has_soft]] += soft_weight * soft_values[has_soft]
    correction[ys, xs] = _solve_normal(n, low, high, products, diagonal, rhs, bandwidth, banded_limit)[position]
    return correction
