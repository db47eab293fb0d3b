"""Fit the morphable face's view to depth images: where their faces sit and how depth is written.

Used to render faces that look like a user's own (``train --renders``), and to
fill with no training set at all (``FaceModel.pretrained``).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError
from ..frame import face_box
from .mesh import FACE_WIDTH_MM, MASK_ABOVE, MASK_BELOW, load_mesh
from .render import View, render_depth

#: Share of the images that must be face at a pixel for it to count in the fitted outline.
OUTLINE_SHARE = 0.5
#: Pattern search: first steps of scale (relative), position (pixels) and pitch (degrees), halved
#: until below the last step; found to settle within about 40 renders on the sample faces.
SCALE_STEP, SHIFT_STEP, PITCH_STEP = 0.04, 2.0, 4.0
SEARCH_ROUNDS = 3
#: Depth misfit (mm RMS) that costs as much as 0.01 of outline IoU.
MM_PER_IOU_HUNDREDTH = 0.5


def fit_view(depths: np.ndarray) -> tuple[View, float]:
    """The view and head pitch under which the neutral face best matches the images' mean face.

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
    face = np.isfinite(depths)
    outline = face.mean(axis=0) >= OUTLINE_SHARE
    if outline.sum() < 16:
        raise InvalidParameterError("the images have too few face pixels (fewer than 16 where most are face) to fit a face to")
    counts = face.sum(axis=0)
    mean = np.where(counts > 0, np.where(face, depths, 0.0).sum(axis=0) / np.maximum(counts, 1), np.nan)
    mesh = load_mesh()
    vertices = mesh.vertices(np.zeros(0), mesh.closed_eyes)
    shape = outline.shape

    def score(scale, row, col, pitch):
        nearness = render_depth(vertices, mesh.triangles, View(shape, scale, (row, col), 0.0, 1.0), (0.0, pitch, 0.0))
        rendered = np.isfinite(nearness)
        both = rendered & outline & np.isfinite(mean)
        if both.sum() < 16:
            return -np.inf, (0.0, 1.0)
        iou = both.sum() / (rendered | outline).sum()
        design = np.column_stack([np.ones(both.sum()), nearness[both]])
        (offset, gain), *_ = np.linalg.lstsq(design, mean[both], rcond=None)
        misfit_mm = np.sqrt(np.mean((design @ (offset, gain) - mean[both]) ** 2)) / max(abs(gain), 1e-9)
        return iou - 0.01 * misfit_mm / MM_PER_IOU_HUNDREDTH, (offset, gain)

    params = np.array(_first_guess(outline), dtype=np.float64)
    best, encoding = score(*params)
    steps = np.array([SCALE_STEP * params[0], SHIFT_STEP, SHIFT_STEP, PITCH_STEP])
    for _ in range(SEARCH_ROUNDS):
        improved = True
        while improved:
            improved = False
            for axis in range(4):
                for sign in (1, -1):
                    trial = params.copy()
                    trial[axis] += sign * steps[axis]
                    value, trial_encoding = score(*trial)
                    if value > best:
                        best, encoding, params, improved = value, trial_encoding, trial, True
        steps /= 2
    scale, row, col, pitch = params.tolist()
    return View(shape, scale, (row, col), float(encoding[0]), float(encoding[1])), pitch


def _first_guess(outline: np.ndarray) -> tuple[float, float, float, float]:
    """Scale, nose row and column, pitch from the outline's box: a crop may cut the forehead
    (the sample faces') or the chin, so the nose is placed from the edge that is not cut."""
    top, bottom, left, right = face_box(outline)
    scale = (right - left + 1) / FACE_WIDTH_MM
    if bottom < outline.shape[0] - 1:
        row = bottom - MASK_BELOW * scale
    elif top > 0:
        row = top + MASK_ABOVE * scale
    else:
        row = (top + bottom) / 2
    return scale, row, (left + right) / 2, 0.0
