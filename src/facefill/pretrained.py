"""Faces rendered from the morphable model in the frame of a user's images, to train on.

- ``pretrained_model(images)``, for users with no complete faces of their own:
  fits the morphable face's view to the images (where the face sits, how wide
  it is, the head's pitch, and how depth is written: its offset, units and
  direction), renders :data:`PRETRAINED_FACES` faces in that view, and trains
  a model on them. A model trained on a user's own complete faces stays the
  better choice where they exist (README, *Results*).
- ``renders_like(images, count)``: faces rendered to look like a user's own
  complete faces (their frame, outlines, noise, variety and mean face), to
  train on beside them (``train --renders``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import ndimage

from .checks import check_missing_value, stack_images, whole_number
from .depth import default_missing_value, to_dtype, to_float
from .model import FaceModel
from .morphable.fit import fit_view
from .morphable.mesh import FACE_WIDTH_MM
from .morphable.render import View
from .synth import EXPRESSION, POSE_SD, chunk_seed, make_faces

#: Rendered faces a model is trained on: enough for the prior's 64 components to settle.
PRETRAINED_FACES = 200
#: Images of a batch read to fit the view to (evenly spaced; ``morphable.fit`` fits a few of them).
VIEW_SAMPLE = 32
#: 16-bit and float depth whose fitted gain is this close to 1 unit per mm is taken for
#: millimetres: the fit's gain varies with the faces' relief (0.84 on rendered faces of
#: another outline, benchmarks/rendered_faces.py).
MILLIMETRE_TOLERANCE = 0.4
#: Depth noise of the renders (mm), as a depth camera's at arm's length.
NOISE_MM = 0.5


@dataclass(frozen=True)
class Assumptions:
    """What a pretrained model assumed about the images it was fitted to.

    Attributes
    ----------
    view : morphable.render.View
        Where faces sit and how depth is written.
    pitch : float
        The head's pitch (degrees).
    millimetres : bool
        Whether depth was taken for millimetres (16-bit or float images whose
        fitted gain is within :data:`MILLIMETRE_TOLERANCE` of 1 unit per mm);
        otherwise its units were fitted from the faces' relief, an average
        face's.
    faces : int
        Rendered faces the model is trained on.
    dtype : numpy.dtype
    missing_value : float
        The images' dtype and missing value.
    """

    view: View
    pitch: float
    millimetres: bool
    faces: int
    dtype: np.dtype
    missing_value: float

    def describe(self) -> str:
        """One line for the user: what was assumed."""
        direction = "nearer is larger" if self.view.gain > 0 else "nearer is smaller"
        units = (
            "depth in millimetres"
            if self.millimetres
            else f"depth units fitted from the face's relief: {abs(self.view.gain):.3g} per mm"
        )
        return (
            f"a model of {self.faces} faces rendered from the ICT Face Model Light in the images' frame: "
            f"faces {self.view.scale * FACE_WIDTH_MM:.0f} px wide ({self.view.scale:.3g} px per mm), "
            f"nose tip at row {self.view.centre[0]:.1f}, column {self.view.centre[1]:.1f}, "
            f"pitch {self.pitch:.0f} degrees, {units}, {direction}"
        )


def assume_frame(images: Sequence[np.ndarray], missing_value: float | None = None, faces: int | None = None) -> Assumptions:
    """What a pretrained model of ``images`` assumes: the morphable face's view fitted to them.

    Parameters are :func:`pretrained_model`'s.
    """
    faces = PRETRAINED_FACES if faces is None else whole_number("faces", faces, minimum=2)
    stack, missing_value = _sample(images, VIEW_SAMPLE, missing_value)
    view, pitch = fit_view(np.stack([to_float(image, missing_value) for image in stack]))
    millimetres = stack.dtype.kind == "f" or stack.dtype.itemsize > 1
    millimetres = millimetres and abs(abs(view.gain) - 1.0) <= MILLIMETRE_TOLERANCE
    if millimetres:
        view = replace(view, gain=float(np.sign(view.gain)))
    return Assumptions(view, pitch, millimetres, faces, stack.dtype, missing_value)


def _sample(images: Sequence[np.ndarray], count: int, missing_value: float | None) -> tuple[np.ndarray, float]:
    """Up to ``count`` of the images, evenly spread (only these are read), stacked and checked,
    and their missing value (by default the dtype's)."""
    chosen = np.unique(np.linspace(0, len(images) - 1, min(len(images), count)).round().astype(int))
    stack = stack_images([images[i] for i in chosen])
    missing_value = default_missing_value(stack.dtype) if missing_value is None else missing_value
    return stack, check_missing_value(missing_value, stack.dtype)


def renders_like(
    images: Sequence[np.ndarray], count: int, missing_value: float | None = None, seed: int = 0
) -> "RenderedFaces":
    """``count`` faces rendered to look like ``images`` (complete faces of one's own), to train on
    beside them.

    Rendered in the images' frame (:func:`assume_frame`), over the face mask
    grown by :data:`SILHOUETTE_MARGIN`, each is then cut by the silhouette of
    one of the images (holes in it filled), so that the renders' outlines are
    the images' own, ragged and cut by the crop as theirs are; and given as
    much depth noise as the images have beyond the renders' quantisation. With
    at least :data:`MATCH_FACES` images, the renders also vary from face to face
    as much as the images do (identity, expression and pose scaled together,
    never beyond the model's own variation), and their mean face is moved onto
    the images': renders then add variety around the user's faces, not another
    population.

    Returns
    -------
    RenderedFaces
        A sequence of ``count`` (H, W) arrays of the images' dtype and missing value,
        rendered :data:`RENDER_CHUNK` at a time as they are asked for, so that memory
        does not grow with ``count``.
    """
    count = whole_number("count", count)
    assumed = assume_frame(images, missing_value, faces=count)
    stack, missing_value = _sample(images, SILHOUETTES, missing_value)
    real = np.stack([to_float(image, missing_value) for image in stack])
    silhouettes = [ndimage.binary_fill_holes(np.isfinite(depth)) for depth in real]

    def rendered(n, variation, noise, seed_, first=0) -> np.ndarray:
        """``n`` renders, the ``first``-th to the ``first + n - 1``-th, cut by the silhouettes."""
        faces = make_faces(
            n, dtype="float32", seed=seed_, view=assumed.view, pitch=assumed.pitch, noise=noise, margin=SILHOUETTE_MARGIN,
            identity=variation, expression=variation * EXPRESSION, pose=tuple(variation * sd for sd in POSE_SD),
        )  # fmt: skip
        return np.stack([np.where(silhouettes[(first + i) % len(silhouettes)], face, np.nan) for i, face in enumerate(faces)])

    def quantised(depths) -> list[np.ndarray]:
        return [to_float(_as_image(depth, assumed.dtype, missing_value), missing_value) for depth in depths]

    probe = rendered(PROBE_FACES, 1.0, 0.0, [seed, 1])
    matched = len(real) >= MATCH_FACES
    variation = float(np.clip(_spread(real) / max(_spread(probe), 1e-9), MIN_VARIATION, 1.0)) if matched else 1.0
    # noise: what the images have beyond what quantising noiseless renders gives
    excess = max(_noise_level(list(real)) ** 2 - _noise_level(quantised(probe)) ** 2, 0.0)
    noise = float(np.sqrt(excess)) / _WHITE_NOISE_LEVEL

    def chunk(start: int, n: int) -> np.ndarray:
        return rendered(n, variation, noise, chunk_seed(seed, start), start)

    shift = np.zeros(real.shape[1:])
    if matched:  # a first pass for the renders' mean face, a chunk at a time
        total, counted = np.zeros(shift.shape), np.zeros(shift.shape)
        for start in range(0, count, RENDER_CHUNK):
            faces = chunk(start, min(RENDER_CHUNK, count - start))
            total += np.nansum(faces, axis=0)
            counted += np.isfinite(faces).sum(axis=0)
        renders_mean = np.where(counted > 0, total / np.maximum(counted, 1), np.nan)
        shift = np.nan_to_num(renders_mean - _mean(real))
    return RenderedFaces(
        count, lambda start, n: [_as_image(face - shift, assumed.dtype, missing_value) for face in chunk(start, n)]
    )


#: Renders made at a time by :class:`RenderedFaces`.
RENDER_CHUNK = 64


class RenderedFaces(Sequence):
    """``count`` rendered faces, made :data:`RENDER_CHUNK` at a time as they are asked for (the
    last chunk is kept), by ``make_chunk(start, n)``: the ``start``-th to the ``start + n - 1``-th.
    Asking again gives the same faces."""

    def __init__(self, count: int, make_chunk: Callable[[int, int], list[np.ndarray]]):
        self.count, self._make_chunk = count, make_chunk
        self._start, self._chunk = -1, []

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> np.ndarray:
        if not -self.count <= index < self.count:
            raise IndexError(index)
        index %= self.count
        start = index - index % RENDER_CHUNK
        if start != self._start:
            self._chunk, self._start = self._make_chunk(start, min(RENDER_CHUNK, self.count - start)), start
        return self._chunk[index - start]


#: Faces of one's own needed to match the renders' variation and mean face to theirs.
MATCH_FACES = 5
#: Renders drawn to measure how much renders vary and how noisy they are.
PROBE_FACES = 24
#: The renders' variation is never scaled below this share of the morphable model's.
MIN_VARIATION = 0.25


def _mean(depths: np.ndarray) -> np.ndarray:
    """Per pixel, the mean over the faces that are face there (NaN where none is)."""
    face = np.isfinite(depths)
    return np.where(face.any(axis=0), np.where(face, depths, 0.0).sum(axis=0) / np.maximum(face.sum(axis=0), 1), np.nan)


def _spread(depths: np.ndarray) -> float:
    """How much faces differ: the mean, over pixels where most of them are face, of the standard
    deviation of depth across them."""
    face = np.isfinite(depths)
    common = face.mean(axis=0) > 0.5
    deviations = np.where(face, depths - _mean(depths), 0.0)
    variance = (deviations**2).sum(axis=0) / np.maximum(face.sum(axis=0), 1)
    return float(np.sqrt(variance[common]).mean()) if common.any() else 0.0


#: Silhouettes of the user's faces the renders are cut by (evenly spread over them).
SILHOUETTES = 64
#: Margin (mm) by which renders cut by the user's silhouettes overreach the face mask: enough
#: to cover outlines of other faces and crops (the sample faces', rendered 16-bit faces').
SILHOUETTE_MARGIN = 15.0


def _noise_level(depths: list[np.ndarray]) -> float:
    """A per-pixel noise statistic: the mean absolute difference of each face pixel from the
    median of its 3x3 neighbourhood (where that is all face), over the images (a mean, not a
    median: quantised depth makes most differences 0)."""
    residuals = []
    for depth in depths:
        inner = ndimage.binary_erosion(np.isfinite(depth), np.ones((3, 3)))
        smooth = ndimage.median_filter(np.nan_to_num(depth), size=3)
        residuals.append(np.abs(depth - smooth)[inner])
    residuals = np.concatenate(residuals) if residuals else np.zeros(0)
    return float(np.mean(residuals)) if residuals.size else 0.0


#: The noise statistic of unit white noise: what it is calibrated on.
_WHITE_NOISE_LEVEL = _noise_level([np.random.default_rng(0).standard_normal((64, 64))])


def pretrained_model(
    images: Sequence[np.ndarray],
    missing_value: float | None = None,
    faces: int | None = None,
    seed: int = 0,
) -> tuple[FaceModel, Assumptions]:
    """Train a model on faces rendered in the frame of ``images``.

    Parameters
    ----------
    images : sequence of (H, W) ndarray
        Face depth images of one size and dtype, holed or not (the faces to
        fill, or some of them).
    missing_value : float, optional
        Their missing value; default the dtype's convention.
    faces : int, optional
        Faces to render and train on; default :data:`PRETRAINED_FACES`.
    seed : int, default 0
        Seed of the rendered faces.

    Returns
    -------
    model : FaceModel
    assumptions : Assumptions
        What was assumed about the images (say it to the user).

    Examples
    --------
    >>> from facefill.synth import make_faces
    >>> holed = make_faces(1, seed=5)[0]; holed[50:60, 40:60] = 255
    >>> model, assumed = pretrained_model([holed], faces=20)
    >>> model.reconstruct(holed).shape
    (120, 116)
    """
    assumed = assume_frame(images, missing_value, faces)
    view = assumed.view
    renders = make_faces(assumed.faces, dtype="float32", seed=seed, view=view, pitch=assumed.pitch, noise=NOISE_MM * abs(view.gain))
    renders = [_as_image(face, assumed.dtype, assumed.missing_value) for face in renders]
    return FaceModel().fit(renders, assumed.missing_value), assumed


def _as_image(rendered: np.ndarray, dtype: np.dtype, missing_value: float) -> np.ndarray:
    """A float render (NaN where no face) in the images' dtype and missing value."""
    missing = np.isnan(rendered)
    image = to_dtype(np.where(missing, 0.0, rendered), dtype, missing_value)
    image[missing] = missing_value
    return image
