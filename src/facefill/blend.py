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
    from scipy import sparse  # here, not at the top: it adds 0.1 s to the start of every command
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


def smooth_correction(
    residual: np.ndarray,
    unknown: np.ndarray,
    screening: float = 1e-3,
    soft: np.ndarray | None = None,
    soft_weight: float = 0.0,
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

    Returns
    -------
    correction : (H, W) float ndarray
        The field on ``unknown``, 0 elsewhere.
    """
    height, width = unknown.shape
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
    stencil = ((0, 0, -4.0), (-1, 0, 1.0), (1, 0, 1.0), (0, -1, 1.0), (0, 1, 1.0))
    a_rows, a_cols, a_vals = [], [], []
    b = np.zeros(m)
    for dr, dc, weight in stencil:
        rr, cc = rows_r + dr, rows_c + dc
        u = unknown_index[rr, cc]
        is_u = u >= 0
        a_rows.append(np.nonzero(is_u)[0])
        a_cols.append(u[is_u])
        a_vals.append(np.full(int(is_u.sum()), weight))
        is_k = ~is_u
        b[is_k] -= weight * residual[rr[is_k], cc[is_k]]
    from scipy import sparse  # see harmonic_fill
    from scipy.sparse import linalg as sparse_linalg

    a = sparse.csr_matrix((np.concatenate(a_vals), (np.concatenate(a_rows), np.concatenate(a_cols))), shape=(m, n))
    diagonal = np.full(n, screening)
    rhs = a.T @ b
    if soft is not None and soft_weight > 0:
        soft_values = soft[unknown]
        has_soft = np.isfinite(soft_values)
        diagonal[has_soft] += soft_weight
        rhs[has_soft] += soft_weight * soft_values[has_soft]
    normal = (a.T @ a + sparse.diags(diagonal)).tocsc()
    # the system is symmetric positive definite: a symmetric ordering factorises it fastest
    factor = sparse_linalg.splu(normal, permc_spec="MMD_AT_PLUS_A", options={"SymmetricMode": True})
    correction[unknown] = factor.solve(rhs)
    return correction
