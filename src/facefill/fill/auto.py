"""``auto``: facefill's fill from the face frame and the shape prior.

1. Register the frame's template to the face (shift, scale, small rotation).
2. Fit the prior to the observed pixels (in the frame), predict the whole face.
3. Decide which missing pixels are face (:func:`region.face_pixels`), about the
   face's own symmetry axis.
4. Bend the prediction onto the observed pixels with a smooth correction
   (:func:`blend`, a :class:`blend.SmoothCorrection`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..align import Similarity, warp_to_image, warp_to_model
from ..frame import REFERENCE_FACE_WIDTH, FaceFrame, face_width, mirror
from .base import Filled
from .blend import SmoothCorrection
from .region import face_pixels

#: A ray whose last observed pixel lies this far inside the predicted outline (pixels, for a face
#: of the reference width; scaled with the face) ends on a cut, not on the outline.
CUT_MARGIN = 3.0
#: Decay weight of the blending correction (see ``blend.SmoothCorrection``).
BLEND_SCREENING = 1e-3
#: Weight of mirrored observed pixels in the blend, times the prior's mirror weight.
MIRROR_BLEND_WEIGHT = 0.05
#: Reach (pixels) over which the blend's trust in the border fades into the prior's uncertainty.
CONFIDENCE_REACH = 6.0


@dataclass
class _Prediction:
    """The prior's prediction of a face, in the image, and what the fill needs besides."""

    values: np.ndarray  # (H, W) predicted depth, in the image
    fit: object  # the prior's fit (its spread is the confidence's)
    transform: Similarity  # image -> frame
    identity: bool  # the transform is the identity: nothing was resampled
    symmetric_outline: np.ndarray  # the frame's symmetric outline, in the image
    mirrored: np.ndarray  # the depth mirrored about the face's own axis, in the image


class OneBlasThread:
    """Calling it gives a context that keeps NumPy's and SciPy's BLAS to one thread: one face's matrices
    are too small to gain from more (two threads on two cores made ``auto`` 3x slower), and the
    threads of several workers would fight for the cores. It owns the handle on the loaded BLAS
    libraries, made at its first use (8 us a use after that, against 0.2 ms for a new one)."""

    def __init__(self):
        self._blas = None

    def __getstate__(self):  # the handle is this process's: another one makes its own
        return {"_blas": None}

    def __call__(self):
        if self._blas is None:
            import scipy.linalg  # noqa: F401  SciPy's own BLAS, loaded now so that the limit reaches it
            from threadpoolctl import ThreadpoolController

            self._blas = ThreadpoolController()
        return self._blas.limit(limits=1, user_api="blas")


class AutoFill:
    """The ``auto`` fill; a callable ``(depth, unknown, frame, prior) -> Filled``, on one BLAS thread."""

    def __init__(self):
        self._one_thread = OneBlasThread()

    def __call__(self, depth: np.ndarray, unknown: np.ndarray, frame: FaceFrame, prior) -> Filled:
        with self._one_thread():
            return fill_auto(depth, unknown, frame, prior)


def fill_auto(depth: np.ndarray, unknown: np.ndarray, frame: FaceFrame, prior) -> Filled:
    """Fill the ``unknown`` pixels of ``depth`` (NaN there) that are face (see the module docstring)."""
    observed = ~unknown
    predicted = _predict(depth, frame, prior)
    centre, axis_angle = frame.axis_in_image(predicted.transform)
    margin = CUT_MARGIN * face_width(observed) / REFERENCE_FACE_WIDTH
    face = face_pixels(observed, predicted.symmetric_outline, centre, axis_angle, margin=margin, depth=depth, rays=frame.rays)
    # residuals are known on the observed face and zero on the background around the hole;
    # mirrored observed pixels are weaker evidence inside it
    prediction = predicted.values
    residual = np.where(observed, depth - prediction, 0.0)
    residual[face] = np.nan
    soft = np.where(face, predicted.mirrored - prediction, np.nan)
    correction = blend(face, np.isfinite(predicted.mirrored), prior.mirror_weight).solve(residual, soft)
    values = depth.copy()
    values[face] = prediction[face] + correction[face]
    return Filled(values, lambda: _confidence(observed, face, predicted, prior))


def blend(face: np.ndarray, mirrored_known: np.ndarray, mirror_weight: float) -> SmoothCorrection:
    """auto's blend for a fill region ``face``: a thin-plate correction that meets the residuals
    (observed minus predicted depth, 0 on the background) around it, drawn weakly towards the
    mirrored observed depth where ``mirrored_known``. ``facefill.tuning`` scores settings with it."""
    return SmoothCorrection(face, ~face, BLEND_SCREENING, face & mirrored_known, MIRROR_BLEND_WEIGHT * mirror_weight)


def _predict(depth: np.ndarray, frame: FaceFrame, prior) -> _Prediction:
    """Register the frame to the face, fit the prior there and take its prediction back to the image."""
    transform = frame.registration.register(depth)
    if transform.is_identity(radius=max(depth.shape) / 2):
        fit = prior.fit(depth)
        return _Prediction(fit.prediction, fit, transform, True, frame.symmetric_outline, mirror(depth))
    in_frame = warp_to_model(depth, transform)
    fit = prior.fit(in_frame)
    return _Prediction(
        warp_to_image(fit.prediction, transform, fill="nearest"),
        fit,
        transform,
        False,
        warp_to_image(frame.symmetric_outline, transform),
        warp_to_image(mirror(in_frame), transform),
    )


def _confidence(observed: np.ndarray, face: np.ndarray, predicted: _Prediction, prior) -> np.ndarray:
    """Near the border the blend trusts the observed pixels; far inside, the prior's uncertainty."""
    spread = predicted.fit.spread()
    if not predicted.identity:
        spread = warp_to_image(spread, predicted.transform, fill="nearest")
    distance = ndimage.distance_transform_edt(~observed)
    uncertainty = spread * (1 - np.exp(-distance / CONFIDENCE_REACH))
    result = np.where(observed, 1.0, 0.0)
    result[face] = 1.0 / (1.0 + uncertainty[face] / prior.depth_scale)
    return result
