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
    # here, not at the top: scipy.sparse adds 0.1 s to the start of every command
    from scipy import sparse
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


class SmoothCorrection:
    """The system of :func:`smooth_correction` for one hole, factorised once and solved for one
    residual field or a stack of them (the cross-validation scores many prior fits of one hole).

    Parameters
    ----------
    unknown : (H, W) bool ndarray
        Pixels to solve for.
    known : (H, W) bool ndarray
        Pixels whose residual is known (only those within two pixels of the hole are read).
    screening, soft_weight, banded_limit
        As for :func:`smooth_correction`.
    soft_known : (H, W) bool ndarray, optional
        Pixels of the hole with weaker evidence (``soft``).
    """

    def __init__(
        self,
        unknown: np.ndarray,
        known: np.ndarray,
        screening: float = 1e-3,
        soft_known: np.ndarray | None = None,
        soft_weight: float = 0.0,
        banded_limit: float = BANDED_LIMIT,
    ):
        self.n = n = int(unknown.sum())
        self.ys, self.xs = np.nonzero(unknown)  # row-major
        if n == 0:
            return
        ring = ndimage.binary_dilation(unknown, iterations=2) & ~unknown & known
        active = unknown | ring
        unknown_index = np.full(unknown.shape, -1, dtype=np.int64)
        unknown_index[unknown] = np.arange(n)
        # Laplacian rows: pixels of the hole or its first ring whose whole stencil is active
        centres = ndimage.binary_dilation(unknown) & active
        padded = np.pad(active, 1)
        full = padded[1:-1, 1:-1] & padded[:-2, 1:-1] & padded[2:, 1:-1] & padded[1:-1, :-2] & padded[1:-1, 2:]
        rows_r, rows_c = np.nonzero(centres & full)
        self.m = rows_r.size
        # each Laplacian row's 5 stencil pixels: unknowns enter the matrix, known residuals its right side
        stencil_rows, stencil_cols = rows_r[:, None] + _STENCIL_ROWS, rows_c[:, None] + _STENCIL_COLS  # (m, 5)
        index = unknown_index[stencil_rows, stencil_cols]
        is_unknown = index >= 0
        weights = np.broadcast_to(_STENCIL_WEIGHTS, index.shape)
        known_entries = ~is_unknown
        self._known_rows = np.nonzero(known_entries)[0]
        self._known_weights = weights[known_entries]
        #: (rows, cols) of the known residuals the system reads, in the order solve_values takes them
        self.known_pixels = (stencil_rows[known_entries], stencil_cols[known_entries])
        index = np.where(is_unknown, index, 0)
        self.position, bandwidth = _numbering(self.ys, self.xs, index, is_unknown)
        stencil_position = self.position[index]
        self._unknown_positions = stencil_position[is_unknown]
        self._unknown_rows = np.nonzero(is_unknown)[0]
        self._unknown_weights = weights[is_unknown]
        # each pair of unknowns in a stencil (each unknown with itself included) adds their weights' product
        first, second = np.triu_indices(len(_STENCIL_WEIGHTS))
        pair = is_unknown[:, first] & is_unknown[:, second]
        i, j = stencil_position[:, first][pair], stencil_position[:, second][pair]
        low, high = np.minimum(i, j), np.maximum(i, j)
        products = np.broadcast_to(_STENCIL_WEIGHTS[first] * _STENCIL_WEIGHTS[second], pair.shape)[pair]
        diagonal = np.full(n, screening)
        self.soft_weight = soft_weight if soft_known is not None else 0.0
        has_soft = soft_known[self.ys, self.xs] if self.soft_weight > 0 else np.zeros(n, dtype=bool)
        self._soft_positions = self.position[has_soft]
        #: (rows, cols) of the soft evidence the system reads, in the order solve_values takes them
        self.soft_pixels = (self.ys[has_soft], self.xs[has_soft])
        diagonal[self._soft_positions] += self.soft_weight
        self._solve = _factorised(n, low, high, products, diagonal, bandwidth, banded_limit)

    def solve(self, residual: np.ndarray, soft: np.ndarray | None = None) -> np.ndarray:
        """The correction (shape of ``residual``: (H, W) or a stack (s, H, W)) on the hole, 0 elsewhere.

        ``residual`` is read at the known pixels, ``soft`` at the soft ones.
        """
        correction = np.zeros(residual.shape)
        if self.n == 0:
            return correction
        fields = residual.reshape(-1, *residual.shape[-2:])
        known = fields[:, self.known_pixels[0], self.known_pixels[1]]
        soft_values = None
        if self.soft_weight > 0:
            soft_values = soft.reshape(-1, *soft.shape[-2:])[:, self.soft_pixels[0], self.soft_pixels[1]]
        values = self.solve_values(known, soft_values)
        correction.reshape(len(fields), *residual.shape[-2:])[:, self.ys, self.xs] = values
        return correction

    def solve_values(self, known: np.ndarray, soft: np.ndarray | None = None) -> np.ndarray:
        """The correction at the hole's pixels (row-major), (s, n), for residuals ``known`` (s, K)
        at :attr:`known_pixels` and soft evidence ``soft`` (s, S) at :attr:`soft_pixels`."""
        count, m, n = len(known), self.m, self.n
        # per field, sums by bincount into consecutive blocks: one call for every field
        shift = np.arange(count)[:, None]
        known_values = self._known_weights * known
        b = -_sums((self._known_rows + shift * m).ravel(), known_values.ravel(), count * m).reshape(count, m)
        unknown_values = self._unknown_weights * b[:, self._unknown_rows]
        rhs = _sums((self._unknown_positions + shift * n).ravel(), unknown_values.ravel(), count * n).reshape(count, n)
        if self.soft_weight > 0:
            rhs[:, self._soft_positions] += self.soft_weight * soft
        solution = self._solve(rhs.T if count > 1 else rhs[0])
        return solution[self.position].T if count > 1 else solution[self.position][None]


def _numbering(ys, xs, index, is_unknown) -> tuple[np.ndarray, int]:
    """Each unknown's position in the system, and the system's half-bandwidth.

    The normal matrix is banded: number the unknowns along rows or along columns,
    whichever keeps the band narrower (it is then solved by banded Cholesky,
    2-3x faster than a sparse LU at these sizes).
    """
    n = len(ys)
    along_cols = np.empty(n, dtype=np.int64)
    along_cols[np.lexsort((ys, xs))] = np.arange(n)
    orders = (np.arange(n), along_cols)
    bandwidths = [_bandwidth(order[index], is_unknown) for order in orders]
    return orders[int(np.argmin(bandwidths))], min(bandwidths)


def _factorised(n, low, high, products, diagonal, bandwidth, banded_limit):
    """A solver of the symmetric positive definite system whose lower triangle sums ``products``
    at (``high``, ``low``), plus ``diagonal``: banded Cholesky while ``bandwidth**2 / sqrt(n)``
    is at most ``banded_limit``, else a sparse LU. It takes one right side (n,) or several (n, s)."""
    if bandwidth**2 <= banded_limit * np.sqrt(n):
        from scipy.linalg import cho_solve_banded, cholesky_banded  # here, not at the top: see harmonic_fill

        # entry (i, j), i >= j, sits at [i - j, j] of LAPACK's lower band storage
        band = _sums((high - low) * n + low, products, (bandwidth + 1) * n).reshape(bandwidth + 1, n)
        band[0] += diagonal
        factor = cholesky_banded(band, lower=True, check_finite=False)
        return lambda rhs: cho_solve_banded((factor, True), rhs, check_finite=False)
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
    return sparse_linalg.splu(matrix, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True}).solve


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
    soft_known = None if soft is None else np.isfinite(soft)
    system = SmoothCorrection(unknown, np.isfinite(residual), screening, soft_known, soft_weight, banded_limit)
    return system.solve(residual, soft)
