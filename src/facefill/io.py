"""Reading and writing depth images, and the missing-value conventions.

A depth image is a 2-D NumPy array of one of the dtypes in
:data:`SUPPORTED_DTYPES`. One value, the *missing value*, means "no depth
here": it marks both the background around a face and any hole in it. By
default it is 255 for 8-bit images (the sample data's white), 0 for 16-bit
images (the Kinect convention) and NaN for floating-point images.
"""

from __future__ import annotations

import contextlib
import math
import os
import struct
import secrets
import warnings
from tokenize import TokenError
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import (
    ImageReadError,
    ImageWriteError,
    InvalidParameterError,
    NoImagesError,
    UnsupportedImageError,
)

SUPPORTED_SUFFIXES = (".png", ".tif", ".tiff", ".npy")
SUPPORTED_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.float32), np.dtype(np.float64))
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


def default_missing_value(dtype: np.dtype) -> float:
    """The conventional missing value of a dtype: 255 (8-bit), 0 (16-bit), NaN (float).

    Examples
    --------
    >>> default_missing_value(np.dtype("uint8"))
    255
    """
    dtype = np.dtype(dtype)
    if dtype == np.uint8:
        return 255
    if dtype == np.uint16:
        return 0
    if dtype.kind == "f":
        return math.nan
    raise UnsupportedImageError(
        f"dtype {dtype} is not supported; expected one of {', '.join(str(d) for d in SUPPORTED_DTYPES)}"
    )


def format_size(shape: tuple[int, ...]) -> str:
    """An image size as users read it: ``WIDTHxHEIGHT`` (e.g. ``116x120``)."""
    return f"{shape[1]}x{shape[0]}" if len(shape) == 2 else str(tuple(shape))


def check_missing_value(value: float, dtype: np.dtype) -> float:
    """Check that ``value`` can be stored in ``dtype`` and return it in canonical form."""
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


def to_float(image: np.ndarray, missing_value: float) -> np.ndarray:
    """The image as float64 with NaN for missing pixels: the form facefill computes in."""
    depth = image.astype(np.float64)
    depth[missing_mask(image, missing_value)] = np.nan
    return depth


def read_depth(path: str | os.PathLike) -> np.ndarray:
    """Read a single-channel depth image, keeping its size and dtype exactly.

    Parameters
    ----------
    path : str or path-like
        A ``.png`` (8 or 16 bit), ``.tif``/``.tiff`` (8 or 16 bit, 32-bit float)
        or ``.npy`` file.

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
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise UnsupportedImageError(
            f"{path}: file type {suffix or '(none)'!r} is not supported; "
            f"expected one of {', '.join(SUPPORTED_SUFFIXES)}"
        )
    if not path.is_file():
        raise ImageReadError(f"{path}: no such file")
    if suffix == ".npy":
        image = _read_npy(path)
    else:
        image = _read_pillow(path)
    if image.ndim != 2:
        raise UnsupportedImageError(
            f"{path}: array of shape {image.shape} is not a depth image; expected 2 dimensions (height, width)"
        )
    if image.dtype not in SUPPORTED_DTYPES:
        raise UnsupportedImageError(
            f"{path}: dtype {image.dtype} is not supported; "
            f"expected one of {', '.join(str(d) for d in SUPPORTED_DTYPES)}"
        )
    if image.size == 0:
        raise UnsupportedImageError(f"{path}: image of shape {image.shape} has no pixels")
    return image


def _check_size(path: Path, height: int, width: int) -> None:
    if height * width > MAX_PIXELS:
        raise UnsupportedImageError(
            f"{path}: image of {width}x{height} pixels is larger than the limit of "
            f"{MAX_PIXELS} pixels (refused to guard against decompression bombs)"
        )


def _read_npy(path: Path) -> np.ndarray:
    try:
        # mmap first: the header tells the size before the data is read; a garbled header's
        # deprecation warnings are noise, the file fails or reads
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = np.load(path, mmap_mode="r", allow_pickle=False)
        if header.ndim == 2:
            _check_size(path, *header.shape)
        image = np.array(header)
        del header
    except (ValueError, OSError, EOFError, SyntaxError, TokenError) as exc:  # the last two: a garbled header
        raise ImageReadError(f"{path}: not a readable .npy array ({exc})") from exc
    if image.dtype.byteorder not in ("=", "|") and image.dtype.itemsize > 1:
        image = image.astype(image.dtype.newbyteorder("="))
    return image


def _read_pillow(path: Path) -> np.ndarray:
    # a damaged file either decodes or fails with our error; Pillow's warnings on the way
    # (corrupt metadata, large sizes, which _check_size refuses itself) would only be noise
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            with Image.open(path) as pil:
                _check_size(path, pil.height, pil.width)
                mode = pil.mode
                if mode == "I":
                    # 16-bit greyscale PNGs may open as 32-bit "I"; keep them 16-bit if they fit
                    image = np.asarray(pil)
                    if image.size and (image.min() < 0 or image.max() > 65535):
                        raise UnsupportedImageError(
                            f"{path}: 32-bit integer image with values outside 0-65535 is not supported"
                        )
                    return image.astype(np.uint16)
                if mode not in _PIL_MODE_DTYPES:
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
    return image.astype(_PIL_MODE_DTYPES[mode], copy=False)


#: Ends the names of the temporary files that outputs are written to before their rename.
TEMPORARY_SUFFIX = ".facefill-tmp"


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "wb", durable: bool = True) -> Iterator[IO]:
    """Open a temporary file beside ``path`` (creating missing folders); on success rename it to ``path``.

    An exception or an interruption leaves ``path`` as it was and removes the
    temporary file; a killed process can leave only a hidden temporary file
    (``.NAME.*.facefill-tmp``), never a partial ``path``, and
    :func:`remove_stale_temporaries` clears those. ``durable`` also flushes the
    file to the disk before the rename (against power loss), which costs about
    as much as writing a small image.
    """
    path = Path(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _temporary_name(name: str, token: str) -> str:
    """The hidden temporary file an output called ``name`` is written to: ``.NAME.TOKEN.facefill-tmp``."""
    return f".{name}.{token}{TEMPORARY_SUFFIX}"


def _temporary_owner(entry: str) -> str | None:
    """The output name whose temporary file ``entry`` is, or None if it is none."""
    if not (entry.startswith(".") and entry.endswith(TEMPORARY_SUFFIX)):
        return None
    return entry[1 : -len(TEMPORARY_SUFFIX)].rsplit(".", 1)[0]


def _create_temporary(path: Path) -> tuple[int, str]:
    """Create a new hidden file beside ``path``: ``.NAME.TOKEN.facefill-tmp``, with the
    permissions the umask gives (mkstemp's would make outputs private to their writer).
    Missing parent folders are created (only when the first try finds none: a batch
    writes thousands of files into folders that exist)."""
    for _ in range(100):
        tmp = os.path.join(path.parent, _temporary_name(path.name, secrets.token_hex(4)))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
    raise FileExistsError(f"no free temporary name beside {path}")


def remove_stale_temporaries(targets: Iterable[str | os.PathLike]) -> int:
    """Delete temporary files that killed writers of ``targets`` left behind; return how many."""
    by_folder: dict[str, set[str]] = {}
    for target in targets:
        folder, name = os.path.split(os.fspath(target))
        by_folder.setdefault(folder or ".", set()).add(name)
    removed = 0
    for folder, names in by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = entry.name
            if _temporary_owner(name) in names:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


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


def find_images(root: str | os.PathLike) -> list[Path]:
    """Every depth image below ``root`` (recursively), sorted by path; ``root`` itself if a file.

    Hidden files (such as temporary files of an interrupted write) are ignored;
    linked folders are followed, once.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    return [root.joinpath(*parts) for parts in image_parts(root)]


def image_parts(root: Path) -> list[tuple[str, ...]]:
    """The path parts, relative to the folder ``root``, of every depth image below it, sorted."""
    if not root.is_dir():
        raise NoImagesError(f"{root}: no such file or folder")
    # os.walk and strings: Path.rglob, a stat per file and sorting Paths cost 0.08 s per 2000 files
    found = []
    visited: set[str] = set()
    for folder, folders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:  # a link back up the tree: do not loop
            folders[:] = []
            continue
        visited.add(real)
        relative = os.path.relpath(folder, root)
        prefix = () if relative == os.curdir else tuple(Path(relative).parts)
        found.extend(
            prefix + (name,)
            for name in names
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES
        )
    if not found:
        raise NoImagesError(
            f"{root}: no depth images found (looked recursively for {', '.join(SUPPORTED_SUFFIXES)} files)"
        )
    return sorted(found)
