"""The original system's rules: the mirror pixel, the average face, and both (``seed``).

For these rules a hole enclosed by observed pixels is face: whatever such a
hole still lacks after the rule (a hole on the centre line, where the mirror is
missing too) is filled harmonically from its border.
"""

from __future__ import annotations

import numpy as np

from ..frame import FaceFrame, mirror
from .blend import harmonic_fill
from .region import enclosed_holes


def fill_symmetry(depth: np.ndarray, unknown: np.ndarray, frame: FaceFrame, prior=None) -> np.ndarray:
    """A missing pixel whose mirror about the image's vertical centre line is observed takes its value."""
    filled = depth.copy()
    _take(filled, mirror(depth), unknown)
    return _fill_enclosed_rest(filled, enclosed_holes(unknown))


def fill_average(depth: np.ndarray, unknown: np.ndarray, frame: FaceFrame, prior=None) -> np.ndarray:
    """A missing pixel inside the frame's outline takes the average face's value."""
    holes = enclosed_holes(unknown)
    filled = depth.copy()
    _take(filled, frame.average, unknown & (frame.outline | holes))
    return _fill_enclosed_rest(filled, holes)


def fill_seed(depth: np.ndarray, unknown: np.ndarray, frame: FaceFrame, prior=None) -> np.ndarray:
    """The original rule: the mirror's value where the mirror is observed, else the average face's
    value inside the outline."""
    holes = enclosed_holes(unknown)
    filled = depth.copy()
    _take(filled, mirror(depth), unknown)
    _take(filled, frame.average, unknown & (frame.outline | holes))
    return _fill_enclosed_rest(filled, holes)


def _fill_enclosed_rest(filled: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Harmonically fill enclosed-hole pixels that the rule left NaN."""
    rest = holes & np.isnan(filled)
    if rest.any():
        filled = harmonic_fill(filled, rest)
    return filled


def _take(filled: np.ndarray, source: np.ndarray, where: np.ndarray) -> None:
    """Copy ``source`` into ``filled`` at ``where`` where ``filled`` is NaN and ``source`` is known."""
    take = where & np.isnan(filled) & np.isfinite(source)
    filled[take] = source[take]
