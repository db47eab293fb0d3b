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

_OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1))  # the 4-neighbours
#: The thin-plate energy's second differences, (row, column) offsets and weights: u_yy, u_xx and
#: u_xy (weighted sqrt 2, as it enters the energy twice). Unlike the squared Laplacian (whose
#: Euler-Lagrange equation is the same inside a hole), their sum has no free harmonic fields
#: where the solved region ends without known pixels: there it continues the border's slope.
_SECOND_DIFFERENCES = (
    (np.array([[-1, 0], [0, 0], [1, 0]]), np.array([1.0, -2.0, 1.0])),
    (np.array([[0, -1], [0, 0], [0, 1]]), np.array([1.0, -2.0, 1.0])),
    (np.array([[0, 0], [0, 1], [1, 0], [1, 1]]), np.sqrt(2.0) * np.array([1.0, -1.0, -1.0, 1.0])),
)


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


def local_quadratic(values: np.ndarray, at: np.ndarray, sigma: float) -> np.ndarray:
    """``values`` with each pixel of ``at`` replaced by the quadratic surface fitted, by least
    squares with Gaussian weights of width ``sigma`` (pixels), to the finite pixels around it.

    A local polynomial regression (Savitzky and Golay's smoothing on a grid with gaps, as
    Knutsson and Westin's normalized convolution): a smooth surface keeps its value, slope and
    curvature, while independent noise is averaged over about ``4 * pi * sigma**2`` pixels. The
    weighted moments of the finite pixels are separable Gaussian filters, so the work is one
    6x6 solve per pixel of ``at``.

    Parameters
    ----------
    values : (H, W) float ndarray
        NaN where unknown.
    at : (H, W) bool ndarray
        Pixels to replace (finite ones: a pixel with too little around it keeps a lower-order fit).
    sigma : float
        Width of the weights (> 0), pixels; they reach ``ceil(2 * sigma)`` pixels.

    Returns
    -------
    (H, W) float ndarray

    Examples
    --------
    >>> y, x = np.mgrid[:9, :9].astype(float)
    >>> plane = 2 * x + y + 0.5 * x * y; plane[4, 2:6] = np.nan
    >>> at = np.zeros((9, 9), bool); at[4, 6] = at[0, 0] = True
    >>> np.allclose(local_quadratic(plane, at, 1.5), plane, atol=1e-3, equal_nan=True)
    True
    """
    result = np.array(values, dtype=np.float64)
    at = at & np.isfinite(result)
    if not at.any():
        return result
    reach = int(np.ceil(2 * sigma))
    rows, cols = np.nonzero(at)
    box = (
        slice(max(rows.min() - reach, 0), rows.max() + reach + 1),
        slice(max(cols.min() - reach, 0), cols.max() + reach + 1),
    )
    known = np.isfinite(result[box])
    weight, weighted = known.astype(np.float64), np.where(known, result[box], 0.0)
    offsets = np.arange(-reach, reach + 1, dtype=np.float64)
    kernels = [offsets**power * np.exp(-(offsets**2) / (2 * sigma**2)) for power in range(5)]

    def moment(image, power_x, power_y, where):
        along_x = ndimage.correlate1d(image, kernels[power_x], axis=1, mode="constant")
        return ndimage.correlate1d(along_x, kernels[power_y], axis=0, mode="constant")[where]

    where = at[box]
    basis = ((0, 0), (1, 0), (0, 1), (2, 0), (1, 1), (0, 2))  # powers of (x, y): 1, x, y, x², xy, y²
    powers = {(xi + xj, yi + yj) for xi, yi in basis for xj, yj in basis}
    moments = {power: moment(weight, *power, where) for power in powers}
    right = np.stack([moment(weighted, xi, yi, where) for xi, yi in basis], axis=1)
    # a pixel with too little around it (a gap on one side) keeps a fit of lower order: the
    # slope and curvature terms are drawn weakly towards 0 (its own weight makes the sum > 0)
    ridge = _LOCAL_FIT_RIDGE * np.array([0.0, sigma**2, sigma**2, sigma**4, sigma**4, sigma**4])
    fitted = np.empty(len(right))
    for start in range(0, len(right), _LOCAL_FIT_BLOCK):  # the 6x6 systems a block at a time: bounded memory
        block = slice(start, start + _LOCAL_FIT_BLOCK)
        normal = np.empty((len(right[block]), 6, 6))
        for i, (xi, yi) in enumerate(basis):
            for j, (xj, yj) in enumerate(basis):
                normal[:, i, j] = moments[(xi + xj, yi + yj)][block]
        normal[:, np.arange(6), np.arange(6)] += moments[(0, 0)][block, None] * ridge
        fitted[block] = np.linalg.solve(normal, right[block, :, None])[:, 0, 0]
    result[box][where] = fitted
    return result


#: How strongly :func:`local_quadratic` draws slope and curvature to 0, relative to the weights'
#: sum: enough to keep a pixel whose neighbours lie on one line solvable, too little to move a fit.
_LOCAL_FIT_RIDGE = 1e-6
#: Pixels whose systems :func:`local_quadratic` solves at a time (300 bytes each).
_LOCAL_FIT_BLOCK = 65536


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
            self.known_pixels = self.soft_pixels = (self.ys, self.xs)  # none
            return
        ring = ndimage.binary_dilation(unknown, iterations=2) & ~unknown & known
        active = unknown | ring
        unknown_index = np.full(unknown.shape, -1, dtype=np.int64)
        unknown_index[unknown] = np.arange(n)
        known_rows, known_weights, known_r, known_c = [], [], [], []
        unknown_rows, unknown_entries, unknown_weights, pairs = [], [], [], []
        self.m = 0
        for offsets, stencil_weights in _SECOND_DIFFERENCES:
            # rows: every placement of the stencil on active pixels that touches the hole
            stencil_rows, stencil_cols = _placements(active, unknown, offsets)  # (rows, len(offsets))
            index = unknown_index[stencil_rows, stencil_cols]
            is_unknown = index >= 0
            weights = np.broadcast_to(stencil_weights, index.shape)
            row = self.m + np.broadcast_to(np.arange(len(index))[:, None], index.shape)
            known_rows.append(row[~is_unknown])
            known_weights.append(weights[~is_unknown])
            known_r.append(stencil_rows[~is_unknown])
            known_c.append(stencil_cols[~is_unknown])
            unknown_rows.append(row[is_unknown])
            unknown_entries.append(index[is_unknown])
            unknown_weights.append(weights[is_unknown])
            # each pair of unknowns in a row (each unknown with itself included) adds their weights' product
            first, second = np.triu_indices(len(stencil_weights))
            pair = is_unknown[:, first] & is_unknown[:, second]
            products = np.broadcast_to(stencil_weights[first] * stencil_weights[second], pair.shape)[pair]
            pairs.append((index[:, first][pair], index[:, second][pair], products))
            self.m += len(index)
        self._known_rows, self._known_weights = np.concatenate(known_rows), np.concatenate(known_weights)
        #: (rows, cols) of the known residuals the system reads, in the order solve_values takes them
        self.known_pixels = (np.concatenate(known_r), np.concatenate(known_c))
        first_unknown = np.concatenate([p[0] for p in pairs])
        second_unknown = np.concatenate([p[1] for p in pairs])
        products = np.concatenate([p[2] for p in pairs])
        self.position, bandwidth = _numbering(self.ys, self.xs, first_unknown, second_unknown)
        self._unknown_positions = self.position[np.concatenate(unknown_entries)]
        self._unknown_rows = np.concatenate(unknown_rows)
        self._unknown_weights = np.concatenate(unknown_weights)
        i, j = self.position[first_unknown], self.position[second_unknown]
        low, high = np.minimum(i, j), np.maximum(i, j)
        diagonal = _at_unknowns(screening, self.ys, self.xs)
        soft_weights = _at_unknowns(soft_weight, self.ys, self.xs)
        has_soft = soft_weights > 0
        if soft_known is not None:
            has_soft &= soft_known[self.ys, self.xs]
        else:
            has_soft[:] = False
        self._soft_positions = self.position[has_soft]
        self._soft_weights = soft_weights[has_soft]
        #: (rows, cols) of the soft evidence the system reads, in the order solve_values takes them
        self.soft_pixels = (self.ys[has_soft], self.xs[has_soft])
        diagonal[self._soft_positions] += self._soft_weights
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
        if len(self._soft_positions):
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
        if len(self._soft_positions):
            rhs[:, self._soft_positions] += self._soft_weights * soft
        solution = self._solve(rhs.T if count > 1 else rhs[0])
        return solution[self.position].T if count > 1 else solution[self.position][None]


def _at_unknowns(weight, ys, xs) -> np.ndarray:
    """A weight given as one number or per pixel (an (H, W) array), at the unknowns (``ys``, ``xs``)."""
    if np.ndim(weight) == 0:
        return np.full(len(ys), float(weight))
    return np.asarray(weight, dtype=np.float64)[ys, xs]


def _numbering(ys, xs, first, second) -> tuple[np.ndarray, int]:
    """Each unknown's position in the system, and the system's half-bandwidth, for unknowns at
    (``ys``, ``xs``) coupled in pairs (``first``, ``second``).

    The normal matrix is banded: number the unknowns along rows or along columns,
    whichever keeps the band narrower (it is then solved by banded Cholesky,
    2-3x faster than a sparse LU at these sizes).
    """
    n = len(ys)
    along_cols = np.empty(n, dtype=np.int64)
    along_cols[np.lexsort((ys, xs))] = np.arange(n)
    orders = (np.arange(n), along_cols)
    bandwidths = [int(np.abs(order[first] - order[second]).max(initial=0)) for order in orders]
    return orders[int(np.argmin(bandwidths))], min(bandwidths)


def _placements(active: np.ndarray, unknown: np.ndarray, offsets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns, (k, len(offsets)), of every placement of a stencil whose pixels are all
    ``active`` and one at least ``unknown`` (found by shifting whole masks: no per-placement work)."""
    pad = int(np.abs(offsets).max())
    padded_active, padded_unknown = np.pad(active, pad), np.pad(unknown, pad)
    height, width = active.shape
    fits, touches = np.ones(active.shape, dtype=bool), np.zeros(active.shape, dtype=bool)
    for dy, dx in offsets:
        window = (slice(pad + dy, pad + dy + height), slice(pad + dx, pad + dx + width))
        fits &= padded_active[window]
        touches |= padded_unknown[window]
    rows, cols = np.nonzero(fits & touches)
    return rows[:, None] + offsets[:, 0], cols[:, None] + offsets[:, 1]


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
