"""The protocol's mask families (``../shared/PROTOCOL.md``): which pixels a test hides.

Used by ``facefill evaluate`` to score methods and by the prior's tuning to
choose its settings by cross-validation on the training faces. Mask sizes in
PROTOCOL.md are for a face of ``frame.REFERENCE_FACE_WIDTH`` pixels and scale
with the face's width.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InvalidParameterError
from .frame import REFERENCE_FACE_WIDTH, face_box

#: The large, shaped holes, and the commonest sensor holes: small, thin, or on the midline.
LARGE_FAMILIES = ("blobs", "half", "chin", "top", "band")
THIN_FAMILIES = ("speckle", "scratches", "midline")
FAMILIES = LARGE_FAMILIES + THIN_FAMILIES
#: Not a mask family but scored as one: occluders painted in front of the face
#: (``facefill.occlusions``), hidden as missing pixels for every method, and found by ``auto``.
OCCLUDERS = "occluders"
EVALUATED_FAMILIES = FAMILIES + (OCCLUDERS,)


def make_mask(family: str, face: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The pixels one mask of ``family`` hides, for a face mask ``face`` of shape (H, W).

    The families and their sizes are PROTOCOL.md's; sizes scale with the face's width.
    """
    top, bottom, left, right = face_box(face)
    width, height = right - left + 1, bottom - top + 1
    scale = width / REFERENCE_FACE_WIDTH
    ys, xs = np.mgrid[0 : face.shape[0], 0 : face.shape[1]].astype(np.float64)
    if family == "blobs":
        hidden = np.zeros(face.shape, dtype=bool)
        for _ in range(rng.integers(1, 4)):
            cy, cx = rng.uniform(top, bottom), rng.uniform(left, right)
            a, b = rng.uniform(6, 18, size=2) * scale
            angle = rng.uniform(0, np.pi)
            du, dv = xs - cx, ys - cy
            u = np.cos(angle) * du + np.sin(angle) * dv
            v = -np.sin(angle) * du + np.cos(angle) * dv
            hidden |= (u / a) ** 2 + (v / b) ** 2 <= 1
        return hidden
    if family == "half":
        column = (left + right) / 2 + rng.uniform(-5, 5) * scale
        return xs < column if rng.random() < 0.5 else xs > column
    if family == "chin":
        return ys > top + rng.uniform(0.60, 0.85) * height
    if family == "top":
        radius = rng.uniform(18, 30) * scale
        cx = left + width * rng.uniform(0.3, 0.7)
        column = face[:, min(max(int(round(cx)), 0), face.shape[1] - 1)]
        cy = np.argmax(column) if column.any() else top
        return (xs - cx) ** 2 + (ys - cy) ** 2 <= radius**2
    if family == "band":
        band_top = top + rng.uniform(0.25, 0.40) * height
        return (ys >= band_top) & (ys < band_top + 14 * scale)
    if family == "speckle":
        return _speckle(face, rng, scale)
    if family == "scratches":
        hidden = np.zeros(face.shape, dtype=bool)
        for _ in range(rng.integers(1, 4)):
            point = np.array([rng.uniform(top, bottom), rng.uniform(left, right)])
            half_width = rng.uniform(1, 6) * scale / 2
            heading = rng.uniform(0, 2 * np.pi)
            for _ in range(rng.integers(4, 11)):
                heading += rng.normal(0, SCRATCH_TURN)
                end = point + rng.uniform(5, 15) * scale * np.array([np.sin(heading), np.cos(heading)])
                hidden |= near_segment(ys, xs, point, end, half_width)
                point = end
        return hidden
    if family == "midline":
        across, down = rng.uniform(6, 14) * scale, rng.uniform(10, 24) * scale
        cx = (left + right) / 2 + rng.uniform(-4, 4) * scale
        cy = top + rng.uniform(0.20, 0.90) * height
        return ((xs - cx) / across) ** 2 + ((ys - cy) / down) ** 2 <= 1
    check_family(family)
    raise AssertionError(family)  # every known family is drawn above


def check_family(family: str) -> str:
    """``family`` if it is a known mask family, else ``InvalidParameterError``."""
    if family not in FAMILIES:
        raise InvalidParameterError(f"mask family {family!r} is not known; expected one of {', '.join(FAMILIES)}")
    return family


#: Speckle: the noise's smoothing (pixels of a reference face) sets the clusters' size (1-6 px
#: across at the threshold), and clusters reach this far (pixels) beyond the face's outline.
SPECKLE_SMOOTHING = 1.2
SPECKLE_REACH = 2
#: Scratches: the standard deviation (radians) of a polyline's turn at each vertex (PROTOCOL.md:
#: segments "at any angle"; a strand or a frame bends, it does not zigzag at random).
SCRATCH_TURN = 0.6


def _speckle(face: np.ndarray, rng: np.random.Generator, scale: float) -> np.ndarray:
    """Small clusters covering 3-10 % of the face: smoothed noise above its quantile."""
    noise = ndimage.gaussian_filter(rng.standard_normal(face.shape), SPECKLE_SMOOTHING * scale)
    share = rng.uniform(0.03, 0.10)
    reach = ndimage.binary_dilation(face, iterations=max(int(round(SPECKLE_REACH * scale)), 1))
    return (noise > np.quantile(noise[face], 1 - share)) & reach


def near_segment(ys, xs, start, end, half_width: float) -> np.ndarray:
    """Pixels within ``half_width`` of the segment from ``start`` to ``end`` (row, column)."""
    direction = end - start
    length2 = max(float(direction @ direction), 1e-12)
    t = np.clip(((ys - start[0]) * direction[0] + (xs - start[1]) * direction[1]) / length2, 0, 1)
    return (ys - start[0] - t * direction[0]) ** 2 + (xs - start[1] - t * direction[1]) ** 2 <= max(half_width, 0.5) ** 2


def mask_rng(seed: int, face_index: int, family: str, mask_index: int) -> np.random.Generator:
    """The generator of one mask: the same masks whatever methods or families are run."""
    return np.random.default_rng([seed, face_index, EVALUATED_FAMILIES.index(family), mask_index])
