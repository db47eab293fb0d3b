"""What a shape prior is to the fill: fit it to a face's observed pixels, read its prediction
and how uncertain it is.

A prior works in the face frame (the model's image grid): the fill registers
the frame to the face before it fits the prior and takes the prediction back.
Any object with these members plugs into ``auto`` without touching the fill.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class PriorFit(Protocol):
    """A prior fitted to one face."""

    #: (H, W) the predicted depth of the whole face, in the frame.
    prediction: np.ndarray

    def spread(self) -> np.ndarray:
        """(H, W) predictive standard deviation of the depth at each pixel, in the frame."""


class Prior(Protocol):
    """A statistical model of face shapes."""

    #: Typical spread of depth between faces (image units): the scale of its uncertainty.
    depth_scale: float
    #: How much a face's mirrored observed pixels count as evidence of it, against observed ones (0-1).
    mirror_weight: float
    #: Width (pixels of a face of the reference width) over which ``auto`` smooths the observed
    #: pixels around a hole before bending the prediction onto them (0: not at all).
    border_smoothing: float

    def fit(self, depth: np.ndarray) -> PriorFit:
        """Fit to a face in the frame: ``depth`` (H, W), NaN where missing."""
