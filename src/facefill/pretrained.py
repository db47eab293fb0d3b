"""A model for users with no complete faces of their own: trained on rendered faces in their frame.

``pretrained_model(images)`` fits the morphable face's view to the images
(where the face sits, how wide it is, the head's pitch, and how depth is
written: its offset, units and direction), renders :data:`PRETRAINED_FACES`
faces in that view, and trains a model on them. A model trained on a user's
own complete faces stays the better choice where they exist (README,
*Results*).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from .checks import check_missing_value, stack_images, whole_number
from .depth import default_missing_value, to_dtype, to_float
from .model import FaceModel
from .morphable.fit import fit_view
from .morphable.mesh import FACE_WIDTH_MM
from .morphable.render import View
from .synth import make_faces

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
    stack = stack_images(images)
    missing_value = default_missing_value(stack.dtype) if missing_value is None else missing_value
    missing_value = check_missing_value(missing_value, stack.dtype)
    chosen = np.unique(np.linspace(0, len(stack) - 1, min(len(stack), VIEW_SAMPLE)).round().astype(int))
    depths = np.stack([to_float(stack[i], missing_value, f"image {i}") for i in chosen])
    view, pitch = fit_view(depths)
    millimetres = stack.dtype.kind == "f" or stack.dtype.itemsize > 1
    millimetres = millimetres and abs(abs(view.gain) - 1.0) <= MILLIMETRE_TOLERANCE
    if millimetres:
        view = replace(view, gain=float(np.sign(view.gain)))
    return Assumptions(view, pitch, millimetres, faces, stack.dtype, missing_value)


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
