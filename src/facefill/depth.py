"""Depth images and the missing-value conventions: the form every stage computes in.

A depth image is a 2-D NumPy array of one of the dtypes in
:data:`SUPPORTED_DTYPES`. One value, the *missing value*, means "no depth
here": it marks both the background around a face and any hole in it. By
default it is 255 for 8-bit images (the sample data's white), 0 for 16-bit
images (the Kinect convention) and NaN for floating-point images.

Inside facefill a depth image is computed on as float64 with NaN for every
missing pixel (:func:`to_float`) and cast back with :func:`to_dtype`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .errors import InvalidParameterError, ShapeMismatchError, UnsupportedImageError

SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))
#: Largest magnitude a depth may have: far beyond any sensor's range in any unit, far below
#: where sums of depths overflow (a float image holding 3e38 is not a depth image).
MAX_DEPTH = 1e12


def check_dtype(dtype: np.dtype, name: str = "image") -> np.dtype:
    """``dtype`` if it is one of :data:`SUPPORTED_DTYPES`, else an ``UnsupportedImageError`` naming ``name``."""
    dtype = np.dtype(dtype)
    if dtype not in SUPPORTED_DTYPES:
        raise UnsupportedImageError(
            f"{name}: dtype {dtype} is not supported; expected one of {', '.join(str(d) for d in SUPPORTED_DTYPES)}"
        )
    return dtype


def default_missing_value(dtype: np.dtype) -> float:
    """The conventional missing value of a dtype: 255 (8-bit), 0 (16-bit), NaN (float).

    Examples
    --------
    >>> default_missing_value(np.dtype("uint8"))
    255
    """
    dtype = check_dtype(dtype, "missing value")
    if dtype == np.uint8:
        return 255
    if dtype == np.uint16:
        return 0
    return math.nan


def depth_units(dtype: np.dtype) -> str:
    """What a depth of ``dtype`` is taken to count: levels of an 8-bit image (nearer = larger, as
    in the sample data), millimetres otherwise."""
    return "levels" if np.dtype(dtype).itemsize == 1 else "mm"


def extend_nearest(image: np.ndarray) -> np.ndarray:
    """A copy of ``image`` in which each NaN pixel takes the value of the nearest finite one (all
    0 if none is finite)."""
    missing = np.isnan(image)
    if not missing.any() or missing.all():
        return np.nan_to_num(image)
    nearest = ndimage.distance_transform_edt(missing, return_distances=False, return_indices=True)
    return image[tuple(nearest)]


def format_size(shape: tuple[int, ...]) -> str:
    """An image size as users read it: ``WIDTHxHEIGHT`` (e.g. ``116x120``)."""
    return f"{shape[1]}x{shape[0]}" if len(shape) == 2 else str(tuple(shape))


def missing_mask(image: np.ndarray, missing_value: float) -> np.ndarray:
    """Boolean mask, shape of ``image``, True where the pixel is missing.

    NaN is always missing in a floating-point image, whatever ``missing_value`` is.
    """
    if image.dtype.kind == "f":
        mask = np.isnan(image)
        if not math.isnan(missing_value):
            mask |= image == missing_value
        return mask
    return image == missing_value


def fill_mask(mask, shape: tuple[int, ...], name: str = "image") -> np.ndarray:
    """A user's mask of pixels to replace as a boolean array: True where ``mask`` is non-zero
    (NaN counts as 0). ``ShapeMismatchError`` unless it is 2-D of the image's ``shape``;
    ``InvalidParameterError`` unless it holds numbers or booleans. ``name`` names the image."""
    mask = np.asarray(mask)
    if mask.dtype.kind not in "biuf":
        raise InvalidParameterError(f"{name}: mask of dtype {mask.dtype}; expected numbers or booleans (non-zero: replace)")
    if mask.ndim != 2 or mask.shape != tuple(shape):
        got = format_size(mask.shape) if mask.ndim == 2 else f"shape {mask.shape}"
        raise ShapeMismatchError(f"{name}: mask of {got} differs from the image's size {format_size(tuple(shape))} (width x height)")
    return np.nan_to_num(mask, nan=0) != 0 if mask.dtype.kind == "f" else mask != 0


def to_float(image: np.ndarray, missing_value: float, name: str = "image") -> np.ndarray:
    """The image as float64 with NaN for missing pixels: the form facefill computes in.

    An observed value that is infinite or beyond :data:`MAX_DEPTH` is an
    ``UnsupportedImageError`` naming ``name``: it is no depth.
    """
    depth = image.astype(np.float64)
    depth[missing_mask(image, missing_value)] = np.nan
    if image.dtype.kind == "f":
        known = depth[~np.isnan(depth)]
        if known.size and not np.abs(known).max() <= MAX_DEPTH:
            raise UnsupportedImageError(
                f"{name}: holds the value {known[np.argmax(np.abs(known))]:g}, which is no depth; "
                f"expected depths within +-{MAX_DEPTH:g} (and the missing value, NaN by default)"
            )
    return depth


def to_dtype(values: np.ndarray, dtype: np.dtype, missing_value: float) -> np.ndarray:
    """Cast filled values to an image dtype without ever producing the missing value
    (a fill equal to it would read back as missing: it is nudged one level off)."""
    if dtype.kind == "f":
        return values.astype(dtype)
    info = np.iinfo(dtype)
    low, high = info.min, info.max
    if not math.isnan(missing_value):
        if missing_value == low:
            low += 1
        elif missing_value == high:
            high -= 1
    values = np.clip(np.rint(values), low, high)
    if not math.isnan(missing_value) and low < missing_value < high:
        values[values == missing_value] += 1
    return values.astype(dtype)
