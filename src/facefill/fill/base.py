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

#: For methods without a model of their own uncertainty: confidence falls by 1/e per this many
#: pixels of distance from the observed pixels.
DISTANCE_CONFIDENCE_REACH = 10.0


@dataclass
class Filled:
    """A fill's values (float, NaN where nothing was filled) and how to compute its per-pixel
    confidence in [0, 1] (1 observed, 0 background), on demand."""

    values: np.ndarray
    confidence: Callable[[], np.ndarray]


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
        """The fill, with a confidence that falls with the distance to observed pixels unless the
        method rates its own."""
        outcome = self.fill(depth, unknown, frame, prior)
        if isinstance(outcome, Filled):
            return outcome
        return Filled(outcome, partial(distance_confidence, unknown, outcome))


def distance_confidence(unknown: np.ndarray, values: np.ndarray) -> np.ndarray:
    """1 at observed pixels, 0 where nothing was filled, and a filled pixel's confidence falling
    with its distance to the observed pixels."""
    filled = unknown & np.isfinite(values)
    confidence = np.where(unknown, 0.0, 1.0)
    distance = ndimage.distance_transform_edt(unknown)[filled]
    confidence[filled] = np.exp(-distance / DISTANCE_CONFIDENCE_REACH)
    return confidence
