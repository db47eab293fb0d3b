"""Fit the morphable face's view to depth images: where their faces sit and how depth is written.

Used to render faces that look like a user's own, to fill with no training set
at all (``facefill.pretrained``).
"""

from __future__ import annotations

import functools

import numpy as np
from scipy import ndimage

from ..errors import InvalidParameterError
from ..frame import face_box
from .mesh import FACE_WIDTH_MM, MASK_ABOVE, MASK_BELOW, load_mesh
from .render import View, render_depth

#: Images a view is fitted to, one at a time (evenly spread); the view is their median.
FIT_IMAGES = 5
#: Pattern search: first steps of scale (relative), position (pixels) and pitch (degrees), halved
#: each round after the first.
SCALE_STEP, SHIFT_STEP, PITCH_STEP = 0.04, 2.0, 4.0
SEARCH_ROUNDS = 3
# A fit's score: the share of the observed face that the rendered face covers, plus
# PRECISION_WEIGHT times the share of the rendered face that is observed (less than the first:
# a rendered pixel may fall in a hole), less MISFIT_WEIGHT times the depth misfit (RMS over the
# observed face's own spread of depth: no choice of the depth's gain can shrink it). Chosen on
# the sample faces and on rendered 16-bit faces hidden by every mask family, so that the view
# fitted to holed faces is the one fitted to the complete faces.
PRECISION_WEIGHT = 0.5
MISFIT_WEIGHT = 0.6
#: The scale searched: within these factors of the first guess (the face's box).
SCALE_RANGE = (0.7, 2.0)


def fit_view(depths: np.ndarray) -> tuple[View, float]:
    """The view and head pitch under which the neutral face best matches the images' faces.

    Each of up to :data:`FIT_IMAGES` images is fitted on its own; the view is
    the median of their fits, so that holes (even half a face) do not move it.

    Parameters
    ----------
    depths : (N, H, W) float ndarray
        Depth images, NaN where there is no face (any units: the depth's
        offset and gain, and so its direction, are fitted by least squares).

    Returns
    -------
    view : View
    pitch : float
        Degrees.
    """
    usable = [i for i, depth in enumerate(depths) if np.isfinite(depth).sum() >= MIN_FACE_PIXELS]
    if not usable:
        raise InvalidParameterError(
            f"the images have too few face pixels (fewer than {MIN_FACE_PIXELS} in every one) to fit a face to"
        )
    chosen = [usable[int(round(k))] for k in np.unique(np.linspace(0, len(usable) - 1, min(len(usable), FIT_IMAGES)).round())]
    scale, row, col, pitch = np.median([_fit_image(depths[i]) for i in chosen], axis=0).tolist()
    nearness = _render_neutral(depths.shape[1:], scale, row, col, pitch)
    both = np.isfinite(nearness) & np.isfinite(depths[chosen])
    offset, gain = _encoding(np.broadcast_to(nearness, both.shape)[both], depths[chosen][both])
    return View(depths.shape[1:], scale, (row, col), offset, gain), pitch


#: Fewest face pixels an image must have to be fitted.
MIN_FACE_PIXELS = 16


#: The neutral face is rendered once per pitch at this resolution (px per mm), over this
#: extent (mm up, down and to either side of the nose tip), and resampled for each view tried:
#: ten times faster than rendering each.
CANON_SCALE = 2.0
CANON_EXTENT = (110.0, 130.0, 110.0)


def _render_neutral(shape, scale, row, col, pitch) -> np.ndarray:
    """The neutral face's nearness (mm) in a view, NaN outside the face."""
    canonical = _canonical(round(float(pitch), 3))
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    step = CANON_SCALE / scale
    source = [CANON_EXTENT[0] * CANON_SCALE + (rows - row) * step, CANON_EXTENT[2] * CANON_SCALE + (cols - col) * step]
    return ndimage.map_coordinates(canonical, source, order=0, mode="constant", cval=np.nan)


@functools.lru_cache(maxsize=32)
def _canonical(pitch: float) -> np.ndarray:
    mesh = load_mesh()
    above, below, side = CANON_EXTENT
    shape = (int((above + below) * CANON_SCALE), int(2 * side * CANON_SCALE))
    view = View(shape, CANON_SCALE, (above * CANON_SCALE, side * CANON_SCALE), 0.0, 1.0)
    return render_depth(mesh.vertices(np.zeros(0), mesh.closed_eyes), mesh.triangles, view, (0.0, pitch, 0.0))


def _encoding(nearness: np.ndarray, depth: np.ndarray) -> tuple[float, float]:
    """Offset and gain of depth = offset + gain * nearness, by least squares."""
    design = np.column_stack([np.ones(nearness.size), nearness])
    (offset, gain), *_ = np.linalg.lstsq(design, depth, rcond=None)
    return float(offset), float(gain)


def _fit_image(depth: np.ndarray) -> tuple[float, float, float, float]:
    """Scale, nose row and column and pitch of the neutral face that best matches one image.

    A pattern search from each first guess (:func:`_first_guesses`) with coarse steps; the best
    of them is refined with finer steps.
    """
    observed = np.isfinite(depth)
    spread = max(float(np.std(depth[observed])), 1e-9)
    guesses = _first_guesses(depth)
    low, high = guesses[0][0] * SCALE_RANGE[0], guesses[0][0] * SCALE_RANGE[1]

    def score(params) -> float:
        scale, row, col, pitch = params
        if not low <= scale <= high:
            return -np.inf
        nearness = _render_neutral(depth.shape, scale, row, col, pitch)
        rendered = np.isfinite(nearness)
        both = rendered & observed
        if both.sum() < MIN_FACE_PIXELS:
            return -np.inf
        offset, gain = _encoding(nearness[both], depth[both])
        misfit = np.sqrt(np.mean((offset + gain * nearness[both] - depth[both]) ** 2)) / spread
        return both.sum() / observed.sum() + PRECISION_WEIGHT * both.sum() / rendered.sum() - MISFIT_WEIGHT * misfit

    steps = np.array([SCALE_STEP * guesses[0][0], SHIFT_STEP, SHIFT_STEP, PITCH_STEP])
    searched = [_pattern_search(score, np.array(guess, dtype=np.float64), steps) for guess in guesses]
    params, best = max(searched, key=lambda found: found[1])
    for _ in range(SEARCH_ROUNDS - 1):
        steps = steps / 2
        params, best = _pattern_search(score, params, steps, best)
    return tuple(params.tolist())


def _pattern_search(score, params: np.ndarray, steps: np.ndarray, best: float | None = None):
    """Move one parameter at a time by its step while the score improves; the end and its score."""
    best = score(params) if best is None else best
    improved = True
    while improved:
        improved = False
        for axis in range(len(params)):
            for sign in (1, -1):
                trial = params.copy()
                trial[axis] += sign * steps[axis]
                value = score(trial)
                if value > best:
                    best, params, improved = value, trial, True
    return params, best


def _first_guesses(depth: np.ndarray) -> list[tuple[float, float, float, float]]:
    """Where a search starts: the scale from the face's box (a hole or a crop only shrinks it,
    across or down: the larger of the two), and for the nose tip each extreme depth (the nose is
    the nearest point, whichever way depth runs; the other extreme is on the rim) and the box's
    centre (when a hole hides the nose)."""
    observed = np.isfinite(depth)
    top, bottom, left, right = face_box(observed)
    scale = max((right - left + 1) / FACE_WIDTH_MM, (bottom - top + 1) / (MASK_ABOVE + MASK_BELOW))
    values = np.where(observed, depth, np.nan)
    points = [np.unravel_index(np.nanargmax(values), depth.shape), np.unravel_index(np.nanargmin(values), depth.shape)]
    points.append(((top + bottom) / 2, (left + right) / 2))
    return [(scale, float(row), float(col), 0.0) for row, col in points]
