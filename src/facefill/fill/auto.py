"""``auto``: facefill's fill from the face frame and the shape prior.

1. Register the frame's template to the face (shift, scale, small rotation).
2. Fit the prior to the observed pixels (in the frame), predict the whole face.
3. Decide which missing pixels are face (:func:`region.face_pixels`), about the
   face's own symmetry axis.
4. Bend the prediction onto the observed pixels with a smooth correction
   (:func:`blend`, a :class:`blend.SmoothCorrection`), reading them as a local
   quadratic fit, which leaves their noise out (:func:`border_depth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..align import Similarity, warp_to_image, warp_to_model
from ..frame import REFERENCE_FACE_WIDTH, FaceFrame, face_width, mirror
from .base import Filled
from .blend import SmoothCorrection, local_quadratic
from .region import face_pixels

#: A ray whose last observed pixel lies this far inside the predicted outline (pixels, for a face
#: of the reference width; scaled with the face) ends on a cut, not on the outline.
CUT_MARGIN = 3.0
#: Decay weight of the blending correction (see ``blend.SmoothCorrection``), in a thick hole.
BLEND_SCREENING = 1e-3
#: Weight of mirrored observed pixels in the blend, times the prior's mirror weight, in a thick hole.
MIRROR_BLEND_WEIGHT = 0.05
#: Reach (pixels) over which the blend's trust in the border fades into the prior's uncertainty.
UNCERTAINTY_REACH = 6.0
#: Background within this distance of the fill region (pixels of a face of the reference width)
#: is solved with it, free (no value is imposed there), so that the correction continues the
#: border's slope past the outline instead of being held at a value. Leave-one-out on the sample
#: faces: 5 px took scratches from 0.51 to 0.45 and band from 0.89 to 0.81 (2 px: 0.45, 0.84;
#: 10 px: 0.42, 0.81, blobs worse).
BACKGROUND_BAND = 5.0
#: How thick a hole must be (pixels of a reference face) for the prior to matter there: a pixel
#: of the fill region whose :func:`local_thickness` is t gets the share 1 - exp(-(t /
#: THICKNESS_REACH)**2) of the prior's fine detail, of the mirror's pull and of the decay (none
#: in thin holes: THIN_SHARE). The square puts a hole of 6 px or more on the prior (90 % or
#: more). Leave-one-out on the sample faces and 20 rendered 16-bit faces held out, one mask each:
#: against 1 - exp(-thickness / 4), midline 0.91 -> 0.89 and 1.40 -> 1.31, band 0.79 and 1.06 ->
#: 1.03, speckle and scratches within 0.01 on both; 3 px and 5 px were worse on the 16-bit faces'
#: band and midline.
THICKNESS_REACH = 4.0
#: A hole whose share is at most this (under 5 px deep) gets none: a pure thin-plate fill of its
#: border, which fixes a thin hole better than the prior does. Sample faces left out and 20
#: rendered 16-bit faces held out, three masks each, against keeping the share there (faded
#: towards the outline): scratches 0.300 -> 0.298 and 0.636 -> 0.622 mm, 16-bit speckle 0.604 ->
#: 0.601 mm, 16-bit blobs 1.039 -> 1.042 mm, the rest within 0.001. At 0.9 (under 6 px) sample
#: scratches reached 0.292, but a 6 px hole on the nose bridge, which the border cannot know,
#: went from 0.55 to 2.08 levels (midline 1.02 -> 1.05).
THIN_SHARE = 0.8
#: Beyond the background band around a hole whose share exceeds this (6 px deep or more), the
#: correction is held at 0: a thick hole trusts the prior there, a thin one its border.
#: Leave-one-out, one mask each, against a free band everywhere: blobs 0.76 -> 0.74 and top
#: 1.34 -> 1.32 on the sample faces, blobs 1.04 -> 1.02 and top 1.00 -> 0.98 mm on 20 rendered
#: 16-bit faces held out, thin holes unchanged (anchoring every hole cost sample scratches 0.33 ->
#: 0.35); sample chin 2.14 -> 2.16.
THICK_SHARE = 0.9
#: Local thickness is measured in steps of this many pixels of a reference face ...
THICKNESS_STEP = 0.5
#: ... up to this thickness, where the prior's share is 1 - exp(-9) (all of it). A cap of
#: 2 * THICKNESS_REACH (share 0.98) cost 20 rendered 16-bit faces 0.01 mm on half, chin and top.
THICKNESS_CAP = 3 * THICKNESS_REACH
#: The disc radii :func:`thickness_share` tries (pixels of a reference face): from the thinnest
#: whose share exceeds THIN_SHARE (a thinner disc leaves the share 0) up to the cap.
SHARED_THICKNESSES = np.arange(
    THICKNESS_REACH * np.sqrt(-np.log(1 - THIN_SHARE)), THICKNESS_CAP + THICKNESS_STEP, THICKNESS_STEP
)
#: The widths (pixels of a reference face) the cross-validation tries for the prior's
#: ``border_smoothing``: the blend reads the observed pixels around a hole as the quadratic
#: surface fitted to them with Gaussian weights that wide (:func:`border_depth`), so that a
#: sensor's noise at the border (and an 8-bit image's rounding) is not carried into the hole,
#: filled with the border's noise and not the truth's. How wide depends on the data: sample
#: faces left out / 20 rendered 16-bit faces held out (noise 0.8 mm) / 20 noiseless float32
#: renders held out, speckle and scratches, as they are against
#: 1.25 px: 0.230 -> 0.154 and 0.294 -> 0.243 / 0.601 -> 0.492 and 0.622 -> 0.503 mm / 0.091 ->
#: 0.127 and 0.101 -> 0.129 mm. The cross-validation chooses one for the faces (``tuning``).
#: Rendered 16-bit faces choose 2 px, the widest; 3 px was worse there (60 faces scored by a
#: model of 40 others, one mask each: speckle 0.494 -> 0.529 mm, the eight families 1.036 -> 1.054).
BORDER_SMOOTHING_GRID = (0.0, 0.75, 1.0, 1.25, 1.5, 2.0)
#: The widest border smoothing a model may be given (pixels of a reference face): its weights
#: reach a quarter of the face's width, so that a fit stays local and its work bounded.
MAX_BORDER_SMOOTHING = 10.0


@dataclass
class Prediction:
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
    predicted = predict(depth, frame, prior.fit)
    centre, axis_angle = frame.axis_in_image(predicted.transform)
    scale = face_width(observed) / REFERENCE_FACE_WIDTH
    face = face_pixels(
        observed, predicted.symmetric_outline, centre, axis_angle, margin=CUT_MARGIN * scale, depth=depth, rays=frame.rays
    )
    values = blended_fill(depth, predicted.values, predicted.mirrored, face, prior.mirror_weight, scale, prior.border_smoothing)
    return Filled(values, lambda: _uncertainty(observed, predicted, prior))


def blended_fill(depth, prediction, mirrored, face, mirror_weight: float, scale: float, border_smoothing: float = 0.0) -> np.ndarray:
    """``depth`` (NaN where missing) with its ``face`` pixels filled from the ``prediction``:
    auto's blend.

    The prediction is bent onto the observed pixels by a thin-plate correction of
    the residuals (observed minus predicted; 0 on the background where :func:`blend`
    holds it), drawn weakly towards the
    ``mirrored`` depth; the prediction's own fine detail (what a smooth fill of its
    border misses) is kept as far as the :func:`thickness_share` says: in thin
    holes not at all, which leaves a thin-plate fill of their border. The border is read
    smoothed (:func:`border_depth`, ``border_smoothing`` pixels of a reference face).
    ``facefill.tuning`` scores settings by this fill, by linearity.
    """
    observed = np.isfinite(depth)
    share = thickness_share(face, observed, scale)
    blending = blend(face, observed, np.isfinite(mirrored), mirror_weight, scale, share)
    residual = np.where(observed, border_depth(depth, blending, border_smoothing * scale) - prediction, 0.0)
    # the detail is found on small numbers (0 where the prediction has nothing to say)
    shifted = np.where(np.isfinite(prediction), prediction - float(depth[observed].mean()), 0.0)
    corrections = blending.solve(
        np.stack([residual, shifted]), np.stack([np.where(face, mirrored - prediction, np.nan), np.where(face, shifted, np.nan)])
    )
    detail = shifted - corrections[1]
    values = depth.copy()
    values[face] = (prediction + corrections[0] - (1 - share) * detail)[face]
    return values


def border_depth(depth: np.ndarray, blending: SmoothCorrection, width: float) -> np.ndarray:
    """``depth`` with the observed pixels that ``blending`` reads replaced by the quadratic surface
    fitted around each with Gaussian weights ``width`` pixels wide (``blend.local_quadratic``; 0:
    as they are)."""
    if width <= 0:
        return depth
    reads = np.zeros(depth.shape, dtype=bool)
    reads[blending.known_pixels] = True
    return local_quadratic(depth, reads, width)


def thickness_share(face: np.ndarray, observed: np.ndarray, scale: float) -> np.ndarray:
    """Per pixel of ``face`` (a fill region in a face ``scale`` times the reference width), the
    share of the prior's say that its :func:`local_thickness` gives it (see
    :data:`THICKNESS_REACH`): 0 in thin parts (:data:`THIN_SHARE`) and elsewhere."""
    distance = ndimage.distance_transform_edt(~observed)
    thickness = local_thickness(face, distance, SHARED_THICKNESSES * scale) / scale
    share = 1 - np.exp(-((thickness / THICKNESS_REACH) ** 2))
    return np.where(face & (share > THIN_SHARE), share, 0.0)


def local_thickness(region: np.ndarray, distance: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """Per pixel of ``region``, how thick the hole is there, not at its thickest point: the largest
    of the increasing ``radii`` whose disc covers the pixel with its centre in the region at least
    that far from the nearest observed pixel (``distance``); the pixel's own ``distance`` if
    larger, up to the last radius; 0 outside ``region``.

    A scratch that widens somewhere, or runs into a thick hole, is thin along the rest of its
    length, and is filled there as a thin hole is. Against the thickness of the whole connected
    part (its deepest pixel), leave-one-out on the sample faces, three masks each: scratches
    0.298 -> 0.294, blobs 0.868 -> 0.863, top 1.259 -> 1.250, band 0.780 -> 0.779, midline
    1.026 -> 1.022 levels, the rest within 0.001; 20 rendered 16-bit faces held out: midline
    1.306 -> 1.300 mm, band 1.058 -> 1.060, the rest within 0.001. Discs of 0.75 or 0.85 times
    the radius were better on the 16-bit faces (blobs 1.03) and worse on the sample (midline 1.03
    to 1.04).

    Examples
    --------
    >>> region = np.zeros((9, 20), bool); region[1:8, 1:8] = True; region[4, 8:19] = True
    >>> distance = ndimage.distance_transform_edt(region)
    >>> thickness = local_thickness(region, distance, np.arange(1.0, 10.0))
    >>> float(thickness[4, 4]), float(thickness[2, 4]), float(thickness[4, 15])
    (4.0, 4.0, 1.0)
    """
    thickness = np.where(region, np.minimum(distance, radii[-1]), 0.0)
    for radius in radii:
        centres = region & (distance >= radius)
        if not centres.any():
            break
        # the discs lie within ``radius`` of their centres' bounding box
        rows, cols = np.nonzero(centres)
        reach = int(np.ceil(radius))
        box = (
            slice(max(rows.min() - reach, 0), rows.max() + reach + 1),
            slice(max(cols.min() - reach, 0), cols.max() + reach + 1),
        )
        covered = region[box] & (ndimage.distance_transform_edt(~centres[box]) <= radius)
        thickness[box][covered] = np.maximum(thickness[box][covered], radius)
    return thickness


def blend(face, observed, mirrored_known, mirror_weight: float, scale: float, share: np.ndarray) -> SmoothCorrection:
    """auto's blend for a fill region ``face`` (in a face ``scale`` times the reference width):
    a thin-plate system over the region and the background within :data:`BACKGROUND_BAND` of it,
    which meets the observed values around them, drawn weakly towards the mirrored observed depth
    where ``mirrored_known`` and towards no correction, both by the :func:`thickness_share`
    ``share``. Around a thick hole (share above :data:`THICK_SHARE`) the background beyond the
    band holds the correction at 0; around a thin one it is free."""
    band = max(int(round(BACKGROUND_BAND * scale)), 1)
    solved = face | (ndimage.binary_dilation(face, iterations=band) & ~observed)
    anchored = ~solved & ~observed & ndimage.binary_dilation(face & (share > THICK_SHARE), iterations=band + 2)
    return SmoothCorrection(
        solved, observed | anchored, BLEND_SCREENING * share, face & mirrored_known, MIRROR_BLEND_WEIGHT * mirror_weight * share
    )


def predict(depth: np.ndarray, frame: FaceFrame, fit, registered_on: np.ndarray | None = None) -> Prediction:
    """Register the frame to the face (to ``registered_on`` if given: ``depth`` with pixels left
    out), ``fit`` the prior there (a prior's ``fit`` or ``robust_fit``, taking the face in the
    frame) and take its prediction back to the image."""
    transform = frame.registration.register(depth if registered_on is None else registered_on)
    if transform.is_identity(radius=max(depth.shape) / 2):
        fitted = fit(depth)
        return Prediction(fitted.prediction, fitted, transform, True, frame.symmetric_outline, mirror(depth))
    in_frame = warp_to_model(depth, transform)
    fitted = fit(in_frame)
    return Prediction(
        warp_to_image(fitted.prediction, transform, fill="nearest"),
        fitted,
        transform,
        False,
        warp_to_image(frame.symmetric_outline, transform),
        warp_to_image(mirror(in_frame), transform),
    )


def _uncertainty(observed: np.ndarray, predicted: Prediction, prior) -> np.ndarray:
    """Near the border the blend trusts the observed pixels; far inside, the prior's spread (in
    units of the prior's depth scale)."""
    spread = predicted.fit.spread()
    if not predicted.identity:
        spread = warp_to_image(spread, predicted.transform, fill="nearest")
    distance = ndimage.distance_transform_edt(~observed)
    return spread * (1 - np.exp(-distance / UNCERTAINTY_REACH)) / prior.depth_scale
