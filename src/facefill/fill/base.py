"""What a fill is: a method's signature and its result."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Callable, Union

import numpy as np
from scipy import ndimage

if TYPE_CHECKING:  # pragma: no cover
    from ..frame import FaceFrame
    from ..prior import Prior


@dataclass
class Filled:
    """A fill's values (float, NaN where nothing was filled) and how to rate its filled pixels,
    on demand: an (H, W) uncertainty score, read at the filled pixels only, higher where the
    fill may be further off. A score has no unit of its own: ``facefill.calibration`` learns
    what it means (the chance of an error within a tolerance) per method."""

    values: np.ndarray
    uncertainty: Callable[[], np.ndarray]


FillFunction = Callable[[np.ndarray, np.ndarray, "FaceFrame", "Prior"], Union[np.ndarray, Filled]]


@dataclass(frozen=True)
class Method:
    """A named way to fill.

    ``fill(depth, unknown, frame, prior)`` takes the face as float64 (NaN at
    every ``unknown`` pixel), the pixels to fill, the model's face frame and its
    shape prior, and returns the values with the unknown pixels it judges face
    filled (the others NaN), or a :class:`Filled` that also rates them.
    Observed pixels are never its concern: ``FaceModel.reconstruct`` copies
    only the filled unknown pixels into the output.
    """

    name: str
    summary: str
    fill: FillFunction

    def run(self, depth: np.ndarray, unknown: np.ndarray, frame: "FaceFrame", prior: "Prior") -> Filled:
        """The fill, rated by the distance to the observed pixels unless the method rates its own."""
        outcome = self.fill(depth, unknown, frame, prior)
        if isinstance(outcome, Filled):
            return outcome
        return Filled(outcome, partial(ndimage.distance_transform_edt, unknown))
