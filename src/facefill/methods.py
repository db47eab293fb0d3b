"""The reconstruction methods, in one registry.

A method takes a fitted model and a face as float64 with NaN for missing
pixels, and returns the face with the missing pixels it decides are face
filled and the others NaN. Observed pixels are never its concern:
``FaceModel.reconstruct`` copies only the filled missing pixels into the
output.

Which missing pixels are face (the outline rule) is part of each method:

``symmetry``
    A missing pixel whose mirror about the image's vertical centre line is
    observed takes the mirror's value (the original's symmetry step).
``average``
    A missing pixel inside the model's outline (where at least half the
    training faces are face) takes the average face's value.
``seed``
    The original rule: the mirror's value where the mirror is observed, else
    the average face's value inside the model's outline.
``auto``
    facefill's face model: registers the model to the face, fits the
    statistical shape prior to the observed (and, with less weight, the
    mirrored) pixels, decides the outline with ``outline.face_pixels`` and
    blends the prior into the hole border with a smooth correction.

For the other methods a hole enclosed by observed pixels is face: whatever
such a hole still lacks after the method's rule is filled harmonically from
its border.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np
from scipy import ndimage

from .align import register, warp_to_image, warp_to_model
from .blend import harmonic_fill, smooth_correction
from .errors import InvalidParameterError
from .masks import REFERENCE_FACE_WIDTH, face_box
from .outline import ANGLES, enclosed_holes, face_pixels
from .symmetry import mirror_about_centre

if TYPE_CHECKING:  # pragma: no cover
    from .model import FaceModel


@dataclass(frozen=True)
class Method:
    """A named way to fill: ``fill(model, depth)`` returns the depth (float, NaN = missing)
    with the pixels it judges face filled, or a ``Fill`` that also carries a confidence map."""

    name: str
    summary: str
    fill: Callable[["FaceModel", np.ndarray], "np.ndarray | Fill"]


@dataclass
class Fill:
    """A method's result and how to compute its per-pixel confidence in [0, 1]
    (1 observed, 0 background), on demand."""

    values: np.ndarray
    confidence: Callable[[], np.ndarray]


def _fill_enclosed_rest(filled: np.ndarray, holes: np.ndarray) -> np.ndarray:
    """Harmonically fill enclosed-hole pixels that the method's rule left NaN."""
    rest = holes & np.isnan(filled)
    if rest.any():
        filled = harmonic_fill(filled, rest)
    return filled


def _take(filled: np.ndarray, source: np.ndarray, where: np.ndarray) -> None:
    """Copy ``source`` into ``filled`` at ``where`` where ``filled`` is NaN and ``source`` is known."""
    take = where & np.isnan(filled) & np.isfinite(source)
    filled[take] = source[take]


def fill_symmetry(model: "FaceModel", depth: np.ndarray) -> np.ndarray:
    missing = np.isnan(depth)
    filled = depth.copy()
    _take(filled, mirror_about_centre(depth), missing)
    return _fill_enclosed_rest(filled, enclosed_holes(missing))


def fill_average(model: "FaceModel", depth: np.ndarray) -> np.ndarray:
    missing = np.isnan(depth)
    holes = enclosed_holes(missing)
    filled = depth.copy()
    _take(filled, model.mean_, missing & (model.outline_ | holes))
    return _fill_enclosed_rest(filled, holes)


def fill_seed(model: "FaceModel", depth: np.ndarray) -> np.ndarray:
    missing = np.isnan(depth)
    holes = enclosed_holes(missing)
    filled = depth.copy()
    _take(filled, mirror_about_centre(depth), missing)
    _take(filled, model.mean_, missing & (model.outline_ | holes))
    return _fill_enclosed_rest(filled, holes)


#: A ray whose last observed pixel lies this far inside the predicted outline (pixels, for a face
#: of the protocol's reference width; scaled with the face) ends on a cut, not on the outline.
CUT_MARGIN = 3.0
#: Decay weight of the blending correction (see ``blend.smooth_correction``).
BLEND_SCREENING = 1e-3
#: Weight of mirrored observed pixels in the blend, times the prior's cross-validated mirror weight.
MIRROR_BLEND_WEIGHT = 0.05
#: Reach (pixels) over which the blend's trust in the border fades into the prior's uncertainty.
CONFIDENCE_REACH = 6.0


_blas_libraries = None  # threadpoolctl's handle on the loaded BLAS libraries, made at the first auto fill


def one_blas_thread():
    """A context that keeps linear algebra to one thread: one face's matrices are too small to
    gain from more (two threads on two cores made ``auto`` 3x slower), and the threads of
    several workers would fight for the cores."""
    global _blas_libraries
    if _blas_libraries is None:
        import scipy.linalg  # noqa: F401  SciPy's own BLAS, loaded now so that the limit reaches it
        from threadpoolctl import ThreadpoolController

        _blas_libraries = ThreadpoolController()
    return _blas_libraries.limit(limits=1, user_api="blas")


def fill_auto(model: "FaceModel", depth: np.ndarray) -> Fill:
    """facefill's face model (see the module docstring and README's "How auto fills")."""
    with one_blas_thread():
        return _fill_auto(model, depth)


def _fill_auto(model: "FaceModel", depth: np.ndarray) -> Fill:
    prior = model.prior_
    observed = np.isfinite(depth)
    transform = register(depth, prior.template, prior.support)
    identity = transform.is_identity(radius=max(depth.shape) / 2)
    if identity:
        prediction, fit = prior.fit_face(depth)
        model_face = prior.support
        mirrored_depth = depth[:, ::-1]
    else:
        prediction, fit = prior.fit_face(warp_to_model(depth, transform))
        prediction = warp_to_image(prediction, transform, fill="nearest")
        model_face = warp_to_image(prior.support, transform)
        mirrored_depth = warp_to_image(warp_to_model(depth, transform)[:, ::-1], transform)
    centre, axis_angle = face_axis(transform, prior.support)

    def mirror_angle(index: np.ndarray) -> np.ndarray:
        angle = -np.pi + index * 2 * np.pi / ANGLES
        return np.rint((2 * axis_angle - angle + np.pi) / (2 * np.pi) * ANGLES).astype(int) % ANGLES

    _, _, left, right = face_box(observed)  # enclosed holes lie within the observed face's columns
    face_width = right - left + 1
    margin = CUT_MARGIN * face_width / REFERENCE_FACE_WIDTH
    face = face_pixels(observed, model_face, centre, mirror_angle, margin=margin, depth=depth)
    # residuals are known on the observed face and zero on the background around the hole;
    # mirrored observed pixels are weaker evidence inside it
    residual = np.where(observed, depth - prediction, 0.0)
    residual[face] = np.nan
    soft = np.where(face, mirrored_depth - prediction, np.nan)
    correction = smooth_correction(
        residual, face, BLEND_SCREENING, soft=soft, soft_weight=MIRROR_BLEND_WEIGHT * prior.mirror_weight
    )
    values = depth.copy()
    values[face] = prediction[face] + correction[face]

    def confidence() -> np.ndarray:
        # near the border the blend trusts the observed pixels; far inside, the prior's uncertainty
        everywhere = np.ones(prior.domain.shape, dtype=bool)
        spread = prior.predictive_std(fit, everywhere)
        if not identity:
            spread = warp_to_image(spread, transform, fill="nearest")
        distance = ndimage.distance_transform_edt(~observed)
        uncertainty = spread * (1 - np.exp(-distance / CONFIDENCE_REACH))
        result = np.where(observed, 1.0, 0.0)
        result[face] = 1.0 / (1.0 + uncertainty[face] / prior.depth_scale)
        return result

    return Fill(values, confidence)


def face_axis(transform, support: np.ndarray) -> tuple[tuple[float, float], float]:
    """The face's centre (row, col) and the direction angle of its symmetry axis, in the image.

    The model's outline is symmetric about its centre column; both are taken
    back to the image through the registration.
    """
    rows, _ = np.nonzero(support)
    axis_col = (support.shape[1] - 1) / 2
    centre_row = float(rows.mean()) if rows.size else (support.shape[0] - 1) / 2
    img_r, img_c = transform.invert(np.array([centre_row, centre_row + 50.0]), np.array([axis_col, axis_col]))
    return (float(img_r[0]), float(img_c[0])), float(np.arctan2(img_r[1] - img_r[0], img_c[1] - img_c[0]))



METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("auto", "facefill's face model: registered shape prior, outline rule, seamless blend", fill_auto),
        Method("seed", "the original rule: mirror pixel, else average face", fill_seed),
        Method("symmetry", "mirror pixel about the image's vertical centre line", fill_symmetry),
        Method("average", "average face inside the model's outline", fill_average),
    )
}


def get_method(name: str) -> Method:
    """The registered method called ``name``; an ``InvalidParameterError`` naming the choices if none."""
    try:
        return METHODS[name]
    except KeyError:
        raise InvalidParameterError(
            f"method {name!r} is not known; expected one of {', '.join(METHODS)}"
        ) from None
