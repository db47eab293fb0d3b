"""Validation of options and images: the one place that decides what is accepted.

Every check raises a typed facefill error whose message names the parameter
(or the file), the value received and what was expected.
"""

from __future__ import annotations

import math

import numpy as np

from .depth import check_dtype, format_size
from .errors import InvalidParameterError, ShapeMismatchError


def whole_number(name: str, value, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` as an int if it is a whole number in [minimum, maximum] (bools are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum or (
        maximum is not None and value > maximum
    ):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise InvalidParameterError(f"{name} {value!r} is not valid; expected a whole number {bound}")
    return int(value)


def auto_or_number(
    name: str, value, integer: bool, minimum: float, above: bool = False, maximum: float | None = None, below: bool = False
) -> None:
    """Accept the string ``"auto"`` or a number (a whole one if ``integer``) >= ``minimum`` (>
    if ``above``) and, if ``maximum`` is given, <= ``maximum`` (< if ``below``)."""
    if isinstance(value, str) and value == "auto":
        return
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    number = not isinstance(value, bool) and isinstance(value, kinds)
    low_ok = number and (value > minimum if above else value >= minimum)
    high_ok = number and (maximum is None or (value < maximum if below else value <= maximum))
    if not (low_ok and high_ok):
        expected = "a whole number" if integer else "a number"
        relation = f"{'>' if above else '>='} {minimum}"
        if maximum is not None:
            relation += f" and {'<' if below else '<='} {maximum}"
        raise InvalidParameterError(f"{name} {value!r} is not valid; expected \"auto\" or {expected} {relation}")


def one_of(name: str, value, choices) -> None:
    """Accept only a value among ``choices``."""
    if value not in choices:
        raise InvalidParameterError(f"{name} {value!r} is not known; expected one of {', '.join(map(str, choices))}")


def check_missing_value(value: float, dtype: np.dtype) -> float:
    """Check that ``value`` can mark missing pixels of ``dtype`` images; return it in canonical form
    (an int for integer dtypes, a float or NaN for float ones)."""
    dtype = np.dtype(dtype)
    if isinstance(value, float) and math.isnan(value):
        if dtype.kind != "f":
            raise InvalidParameterError(
                f"missing value NaN cannot mark missing pixels of a {dtype} image; "
                f"expected a whole number in [{np.iinfo(dtype).min}, {np.iinfo(dtype).max}]"
            )
        return math.nan
    if dtype.kind in "ui":
        info = np.iinfo(dtype)
        if float(value) != int(value) or not info.min <= value <= info.max:
            raise InvalidParameterError(
                f"missing value {value} does not fit a {dtype} image; "
                f"expected a whole number in [{info.min}, {info.max}]"
            )
        return int(value)
    return float(value)


def check_image(image: np.ndarray, shape: tuple[int, ...], dtype: np.dtype, name: str, whose: str) -> None:
    """Raise ``ShapeMismatchError`` unless ``image`` is 2-D of ``shape`` and ``dtype``.

    ``name`` names the image (a file, ``image 3``), ``whose`` what it must match
    (``the model's``, ``the first image's``).
    """
    if image.ndim != 2:
        raise ShapeMismatchError(f"{name}: shape {image.shape} is not 2-D (height, width)")
    if image.shape != tuple(shape):
        raise ShapeMismatchError(
            f"{name}: size {format_size(image.shape)} differs from {whose} {format_size(tuple(shape))} (width x height)"
        )
    if image.dtype != dtype:
        raise ShapeMismatchError(f"{name}: dtype {image.dtype} differs from {whose} {dtype}")


def stack_images(images, reference: np.ndarray | None = None, offset: int = 0, label: str = "image") -> np.ndarray:
    """Check that the images share one size and a supported dtype (those of ``reference``, by
    default the first image) and stack them; messages call them ``label`` and a number from ``offset``."""
    images = list(images) if not isinstance(images, np.ndarray) else images
    if len(images) == 0:
        raise InvalidParameterError("images is empty; expected at least one face")
    first = np.asarray(images[0] if reference is None else reference)
    for i, image in enumerate(images, start=offset):
        check_image(np.asarray(image), first.shape, first.dtype, f"{label} {i}", "the first image's")
    check_dtype(first.dtype, "images")
    return np.stack([np.asarray(image) for image in images])
