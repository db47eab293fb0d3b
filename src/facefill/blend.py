"""Smooth fields solved from hole borders, on sparse systems.

``harmonic_fill`` fills unknown pixels with the solution of Laplace's equation
whose boundary values are the known 4-neighbours: the smoothest surface that
meets the border without a step.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse import linalg as sparse_linalg

_OFFSETS = ((-1, 0), (1, 0), (0, -1), (0, 1))


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
