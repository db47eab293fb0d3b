"""Reading and writing depth image files: the codecs and their guards.

A depth image is a 2-D array of one of the dtypes in
:data:`facefill.depth.SUPPORTED_DTYPES`, in a ``.png``, ``.tif``/``.tiff`` or
``.npy`` file; the file's format is its suffix's.
"""

from __future__ import annotations

import math
import os
import struct
import warnings
from pathlib import Path
from tokenize import TokenError

import numpy as np
from PIL import Image, UnidentifiedImageError

from .atomic import atomic_output
from .depth import SUPPORTED_DTYPES, check_dtype, fill_mask
from .errors import ImageReadError, ImageWriteError, UnsupportedImageError

SUPPORTED_SUFFIXES = (".png", ".tif", ".tiff", ".npy")
#: Which dtypes each file format can hold exactly.
FORMAT_DTYPES = {
    ".png": (np.dtype(np.uint8), np.dtype(np.uint16)),
    ".tif": (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32)),
    ".tiff": (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32)),
    ".npy": SUPPORTED_DTYPES,
}
#: Larger images are refused before decoding: a guard against decompression bombs.
MAX_PIXELS = 40_000_000

_PIL_MODE_DTYPES = {
    "L": np.uint8,
    "I;16": np.uint16,
    "I;16L": np.uint16,
    "I;16B": np.uint16,
    "I;16N": np.uint16,
    "F": np.float32,
}

#: A mask may also be a 1-bit image.
_PIL_MASK_MODE_DTYPES = {**_PIL_MODE_DTYPES, "1": np.bool_}


def read_depth(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a single-channel depth image, keeping its size and dtype exactly.

    Parameters
    ----------
    path : str or path-like
        A ``.png`` (8 or 16 bit), ``.tif``/``.tiff`` (8 or 16 bit, 32-bit float)
        or ``.npy`` file.
    max_pixels : int, default MAX_PIXELS
        Larger images (by the size their header declares, whatever its number
        of dimensions) are refused before they are decoded.

    Returns
    -------
    image : (H, W) ndarray of uint8, uint16, float32 or float64

    Raises
    ------
    ImageReadError
        The file is missing, unreadable, not an image or corrupt.
    UnsupportedImageError
        The image has several channels, an unsupported dtype or is too large.
    """
    image = _read_image(Path(path), max_pixels, _PIL_MODE_DTYPES)
    check_dtype(image.dtype, str(path))
    return image


def read_mask(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """Read a mask of pixels to replace: any image :func:`read_depth` reads, or a 1-bit
    ``.png``/``.tif``; True where it is non-zero (NaN counts as 0). Raises as ``read_depth``."""
    image = _read_image(Path(path), max_pixels, _PIL_MASK_MODE_DTYPES)
    return fill_mask(image, image.shape, str(path))


def _read_image(path: Path, max_pixels: int, modes: dict) -> np.ndarray:
    """A single-channel image of a supported type, Pillow images in one of ``modes``."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedImageError(
            f"{path}: file type {suffix or '(none)'!r} is not supported; "
            f"expected one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    if suffix == ".npy":
        image = _read_npy(path, max_pixels)
    else:
        image = _read_pillow(path, max_pixels, modes)
    if image.ndim != 2:
        raise UnsupportedImageError(
            f"{path}: array of shape {image.shape} is not a depth image; expected 2 dimensions (height, width)"
        )
    if image.size == 0:
        raise UnsupportedImageError(f"{path}: image of shape {image.shape} has no pixels")
    return image


def _check_size(path: Path, shape: tuple[int, ...], max_pixels: int) -> None:
    """Refuse an image whose declared size (any number of dimensions) exceeds ``max_pixels``."""
    if math.prod(shape) > max_pixels:
        size = f"{shape[1]}x{shape[0]}" if len(shape) == 2 else "x".join(map(str, shape))
        raise UnsupportedImageError(
            f"{path}: image of {size} pixels is larger than the limit of "
            f"{max_pixels} pixels (refused to guard against decompression bombs)"
        )


def _read_npy(path: Path, max_pixels: int) -> np.ndarray:
    try:
        # mmap first: the header tells the size before the data is read; a garbled header's
        # deprecation warnings are noise, the file fails or reads
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = np.load(path, mmap_mode="r", allow_pickle=False)
        _check_size(path, header.shape, max_pixels)
        image = np.array(header)
        del header
    except (ValueError, OSError, EOFError, SyntaxError, TokenError) as exc:  # the last two: a garbled header
        raise ImageReadError(f"{path}: not a readable .npy array ({exc})") from exc
    if image.dtype.byteorder not in ("=", "|") and image.dtype.itemsize > 1:
        image = image.astype(image.dtype.newbyteorder("="))
    return image


def _read_pillow(path: Path, max_pixels: int, modes: dict) -> np.ndarray:
    # a damaged file either decodes or fails with our error; Pillow's warnings on the way
    # (corrupt metadata, large sizes, which _check_size refuses itself) would only be noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as pil:
                _check_size(path, (pil.height, pil.width), max_pixels)
                mode = pil.mode
                if mode == "I":
                    # 16-bit greyscale PNGs may open as 32-bit "I"; keep them 16-bit if they fit
                    image = np.asarray(pil)
                    if image.size and (image.min() < 0 or image.max() > 65535):
                        raise UnsupportedImageError(
                            f"{path}: 32-bit integer image with values outside 0-65535 is not supported"
                        )
                    return image.astype(np.uint16)
                if mode not in modes:
                    bands = len(pil.getbands())
                    raise UnsupportedImageError(
                        f"{path}: image mode {mode} ({bands} channel{'s' if bands > 1 else ''}) is not a depth image; "
                        "expected a single-channel 8-bit, 16-bit or 32-bit float image"
                    )
                image = np.array(pil)
        except UnidentifiedImageError as exc:
            raise ImageReadError(f"{path}: not an image file") from exc
        except Image.DecompressionBombError as exc:
            raise UnsupportedImageError(f"{path}: {exc}") from exc
        # what Pillow's decoders raise on damaged files (found by tests/test_fuzz.py)
        except (OSError, SyntaxError, ValueError, EOFError, TypeError, IndexError, KeyError, struct.error) as exc:
            raise ImageReadError(f"{path}: corrupt or truncated image ({exc})") from exc
    return image.astype(modes[mode], copy=False)


def write_depth(path: str | os.PathLike, image: np.ndarray, durable: bool = True) -> None:
    """Write a depth image atomically, in the format its suffix names, keeping its dtype.

    Parameters
    ----------
    path : str or path-like
        Destination; its suffix picks the format. Missing parent folders are created.
    image : (H, W) ndarray
        Its dtype must be one the format holds exactly (see :data:`FORMAT_DTYPES`).
    durable : bool, default True
        Flush the file to the disk before it appears (see :func:`atomic_output`).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMAT_DTYPES:
        raise ImageWriteError(
            f"{path}: cannot write file type {suffix or '(none)'!r}; expected one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype not in FORMAT_DTYPES[suffix]:
        allowed = ", ".join(str(d) for d in FORMAT_DTYPES[suffix])
        raise ImageWriteError(
            f"{path}: a {suffix} file cannot hold a {image.dtype} array of shape {image.shape}; "
            f"expected a 2-D array of {allowed}"
        )
    try:
        with atomic_output(path, durable=durable) as handle:
            if suffix == ".npy":
                np.save(handle, image, allow_pickle=False)
            else:
                fmt = "PNG" if suffix == ".png" else "TIFF"
                Image.fromarray(np.ascontiguousarray(image)).save(handle, format=fmt)
    except OSError as exc:
        raise ImageWriteError(f"{path}: could not write ({exc})") from exc


