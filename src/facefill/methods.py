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
    The best method facefill has; for now ``seed``.

For every method a hole enclosed by observed pixels is face: whatever such a
hole still lacks after the method's rule is filled harmonically from its
border.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

from .blend import harmonic_fill
from .errors import InvalidParameterError
from .outline import enclosed_holes
from .symmetry import mirror_about_centre

if TYPE_CHECKING:  # pragma: no cover
    from .model import FaceModel


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    fill: Callable[["FaceModel", np.ndarray], np.ndarray]


def _fill_enclosed_rest(filled: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Harmonically fill enclosed-hole pixels that the method's rule left NaN."""
    rest = enclosed_holes(missing) & np.isnan(filled)
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
    return _fill_enclosed_rest(filled, missing)


def fill_average(model: "FaceModel", depth: np.ndarray) -> np.ndarray:
    missing = np.isnan(depth)
    filled = depth.copy()
    _take(filled, model.mean_, missing & (model.outline_ | enclosed_holes(missing)))
    return _fill_enclosed_rest(filled, missing)


def fill_seed(model: "FaceModel", depth: np.ndarray) -> np.ndarray:
    missing = np.isnan(depth)
    filled = depth.copy()
    _take(filled, mirror_about_centre(depth), missing)
    _take(filled, model.mean_, missing & (model.outline_ | enclosed_holes(missing)))
    return _fill_enclosed_rest(filled, missing)


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("auto", "the best method facefill has (now: seed)", fill_seed),
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
