"""The generic inpainters that ``facefill evaluate`` scores facefill against (the ``eval`` extra).

As PROTOCOL.md says, they fill the missing pixels inside the training faces'
majority silhouette (the frame's outline) plus enclosed holes, given the depth
rescaled to their supported range; the result is scaled back.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from .errors import InvalidParameterError, MissingDependencyError
from .fill import METHODS, Method
from .fill.region import enclosed_holes
from .frame import FaceFrame


def _inpaint_region(unknown: np.ndarray, frame: FaceFrame) -> np.ndarray:
    """Where generic inpainters fill: unknown pixels inside the frame's outline, plus enclosed holes."""
    return unknown & (frame.outline | enclosed_holes(unknown))


def _rescaled(depth: np.ndarray, low_out: float, high_out: float):
    """Depth mapped linearly from its observed range to [low_out, high_out], and the way back."""
    low, high = float(np.nanmin(depth)), float(np.nanmax(depth))
    span = max(high - low, 1e-9)
    forward = (np.nan_to_num(depth, nan=low) - low) / span * (high_out - low_out) + low_out
    return forward, lambda x: (x - low_out) / (high_out - low_out) * span + low


def _generic(inpaint: Callable[[np.ndarray, np.ndarray], np.ndarray], low_out: float, high_out: float):
    def fill(depth: np.ndarray, unknown: np.ndarray, frame: FaceFrame, prior=None) -> np.ndarray:
        scaled, back = _rescaled(depth, low_out, high_out)
        result = back(inpaint(scaled, unknown))
        region = _inpaint_region(unknown, frame)
        filled = depth.copy()
        filled[region] = result[region]
        return filled

    return fill


def _opencv(flag_name: str) -> Callable:
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependencyError(
            "OpenCV is not installed; install the eval extra: pip install 'facefill[eval]'"
        ) from exc
    flag = getattr(cv2, flag_name)

    def inpaint(scaled: np.ndarray, unknown: np.ndarray) -> np.ndarray:
        return cv2.inpaint(scaled.astype(np.float32), unknown.astype(np.uint8), 3, flag).astype(np.float64)

    return _generic(inpaint, 0.0, 255.0)


def _biharmonic() -> Callable:
    try:
        from skimage.restoration import inpaint_biharmonic
    except ImportError as exc:
        raise MissingDependencyError(
            "scikit-image is not installed; install the eval extra: pip install 'facefill[eval]'"
        ) from exc
    return _generic(inpaint_biharmonic, 0.0, 1.0)


_BASELINE_FACTORIES: dict[str, tuple[str, Callable[[], Callable]]] = {
    "telea": ("OpenCV cv2.inpaint, Telea's fast marching", lambda: _opencv("INPAINT_TELEA")),
    "ns": ("OpenCV cv2.inpaint, Navier-Stokes", lambda: _opencv("INPAINT_NS")),
    "biharmonic": ("scikit-image restoration.inpaint_biharmonic", _biharmonic),
}
BASELINES = ("seed", *_BASELINE_FACTORIES)
DEFAULT_METHODS = tuple(dict.fromkeys((*METHODS, *BASELINES)))


def resolve_methods(names: Sequence[str]) -> tuple[dict[str, Method], dict[str, str]]:
    """The methods to score by name, and the baselines skipped with the reason (a missing extra)."""
    methods: dict[str, Method] = {}
    skipped: dict[str, str] = {}
    for name in dict.fromkeys(names):
        if name in METHODS:
            methods[name] = METHODS[name]
        elif name in _BASELINE_FACTORIES:
            summary, factory = _BASELINE_FACTORIES[name]
            try:
                methods[name] = Method(name, summary, factory())
            except MissingDependencyError as exc:
                skipped[name] = str(exc)
        else:
            raise InvalidParameterError(
                f"method {name!r} is not known; expected some of {', '.join(DEFAULT_METHODS)}"
            )
    if not methods:
        raise InvalidParameterError(f"no method can be scored: {'; '.join(skipped.values())}")
    return methods, skipped


