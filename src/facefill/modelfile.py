"""The model file: an ``.npz`` holding a format tag and version, the image size, dtype and
missing value, the face frame, the shape prior and the estimator's settings.

Loading checks every field's shape, type and range, and refuses a file whose
arrays declare more data than a model of its image size holds before
decompressing anything (a small file cannot make it allocate terabytes).
"""

from __future__ import annotations

import json
import math
import os
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from tokenize import TokenError

import numpy as np

from .atomic import atomic_output
from .calibration import Calibration
from .checks import check_missing_value
from .depth import MAX_DEPTH, SUPPORTED_DTYPES
from .fill.auto import MAX_BORDER_SMOOTHING
from .errors import ModelFileError
from .formats import MAX_PIXELS
from .frame import FaceFrame
from .prior import PCAPrior
from .training import AVERAGES

FORMAT_VERSION = 1
FORMAT_TAG = "facefill-model"
#: The estimator's parameters kept in the ``settings`` field (``average`` and ``batch_size`` have their own).
_SETTINGS = ("n_components", "noise", "mirror_weight", "render_share", "chunk_size", "tolerance", "border_smoothing")
#: The prior's fields, by their names in the file (``prior_NAME``).
_PRIOR_ARRAYS = ("components", "variances", "domain")
_PRIOR_SCALARS = (
    "depth_scale", "n_components", "noise", "mirror_weight", "cv_error", "reach", "locality", "residual_spread", "render_share",
    "border_smoothing",
)  # fmt: skip
#: The prior's optional (H, W) maps for occluder detection, absent from the files of facefill
#: before they were learned (``ridge_spread``: before occluder detection; ``local_spread``: before
#: regions were judged against it); such files still read, with None.
_PRIOR_MAPS = ("ridge_spread", "local_spread")


@dataclass
class ModelContents:
    """Everything a model file holds."""

    settings: dict  # the estimator's parameters
    frame: FaceFrame
    prior: PCAPrior
    dtype: np.dtype
    missing_value: float
    n_images: int
    calibration: Calibration | None = None


def write_model(path: str | os.PathLike, contents: ModelContents) -> None:
    """Write a model file atomically (flushed to the disk before it appears)."""
    frame, prior, settings = contents.frame, contents.prior, contents.settings
    arrays = {
        "format": np.array(FORMAT_TAG),
        "format_version": np.array(FORMAT_VERSION),
        "shape": np.array(frame.shape, dtype=np.int64),
        "dtype": np.array(str(contents.dtype)),
        "missing_value": np.array(contents.missing_value, dtype=np.float64),
        "average": np.array(settings["average"]),
        "batch_size": np.array(settings["batch_size"]),
        "n_images": np.array(contents.n_images),
        "mean": frame.average,
        "frequency": frame.frequency,
        "settings": np.array(
            json.dumps({name: settings[name] for name in _SETTINGS})
        ),
        "prior_template": frame.template,
        "prior_frequency": frame.symmetric_frequency,
    }
    for name in _PRIOR_ARRAYS + _PRIOR_SCALARS:
        arrays[f"prior_{name}"] = np.asarray(getattr(prior, name))
    for name in _PRIOR_MAPS:
        if getattr(prior, name) is not None:
            arrays[f"prior_{name}"] = getattr(prior, name)
    if contents.calibration is not None:
        arrays["calibration"] = np.array(contents.calibration.to_json())
    with atomic_output(path) as handle:
        np.savez_compressed(handle, **arrays)


def read_model(path: str | os.PathLike) -> ModelContents:
    """Read a model file written by :func:`write_model`; ``ModelFileError`` for anything else."""
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: no such model file")
    try:
        data = path.read_bytes()
        with warnings.catch_warnings():  # a damaged file's warnings are noise: it fails or loads
            warnings.simplefilter("ignore")
            _check_declared_sizes(path, data)
            with np.load(BytesIO(data), allow_pickle=False) as npz:
                fields = {key: npz[key] for key in npz.files}
    except (
        ValueError, OSError, EOFError, SyntaxError, TokenError, zipfile.BadZipFile, zlib.error, KeyError, RuntimeError, NotImplementedError
    ) as exc:
        raise ModelFileError(f"{path}: not a facefill model file ({type(exc).__name__}: {exc})") from exc
    _check_format(path, fields)
    try:
        contents = _contents(fields)
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
        raise ModelFileError(f"{path}: facefill model file is damaged ({type(exc).__name__}: {exc})") from exc
    if (
        len(contents.frame.shape) != 2
        or contents.dtype not in SUPPORTED_DTYPES
        or contents.settings["average"] not in AVERAGES
        or contents.prior.components.shape[1:] != contents.frame.shape
    ):
        raise ModelFileError(f"{path}: facefill model file is damaged (inconsistent sizes or fields)")
    return contents


def _check_format(path: Path, fields: dict) -> None:
    if str(fields.get("format", "")) != FORMAT_TAG:
        raise ModelFileError(f"{path}: not a facefill model file (no facefill format tag)")
    try:
        version = int(fields.get("format_version", -1))
    except (TypeError, ValueError, OverflowError):
        version = -1
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"{path}: model format version {version} is not supported; this facefill reads version {FORMAT_VERSION}"
        )


def _contents(fields: dict) -> ModelContents:
    """The file's fields as model contents, each checked (``TypeError``/``ValueError`` if damaged)."""
    shape = tuple(int(v) for v in fields["shape"])
    dtype = np.dtype(str(fields["dtype"]))
    settings = json.loads(str(fields["settings"]))
    if not isinstance(settings, dict) or not set(settings) <= set(_SETTINGS):
        raise TypeError(f"settings are not a mapping of {', '.join(_SETTINGS)}")
    settings = {**settings, "average": str(fields["average"]), "batch_size": int(fields["batch_size"])}
    frame = FaceFrame(
        average=_numbers(fields, "mean", shape, -_DEPTH_LIMIT, _DEPTH_LIMIT, nan=True),
        frequency=_numbers(fields, "frequency", shape, 0, 1),
        template=_numbers(fields, "prior_template", shape, -_DEPTH_LIMIT, _DEPTH_LIMIT),
        symmetric_frequency=_numbers(fields, "prior_frequency", shape, 0, 1),
    )
    components = _numbers(fields, "prior_components", None, -1.001, 1.001).astype(np.float32)
    k = len(components)
    prior = PCAPrior(
        mean=frame.template,
        components=components,
        variances=_numbers(fields, "prior_variances", (k,), 1e-300, _DEPTH_LIMIT**2),
        domain=_numbers(fields, "prior_domain", shape, 0, 1).astype(bool),
        symmetric_outline=frame.symmetric_outline,
        depth_scale=float(_numbers(fields, "prior_depth_scale", (), 1e-12, _DEPTH_LIMIT)),
        n_components=int(_numbers(fields, "prior_n_components", (), 0, k)),
        noise=float(_numbers(fields, "prior_noise", (), 1e-12, _DEPTH_LIMIT)),
        mirror_weight=float(_numbers(fields, "prior_mirror_weight", (), 0, 1e6)),
        cv_error=float(_numbers(fields, "prior_cv_error", (), 0, math.inf, nan=True)),
        reach=float(_numbers(fields, "prior_reach", (), 1e-6, 1e9)),
        locality=float(_numbers(fields, "prior_locality", (), 1e-6, 1e9)),
        # absent from the files of facefill before occluder detection, which still read
        residual_spread=_added_scalar(fields, "residual_spread", 0, _DEPTH_LIMIT, math.nan, nan=True),
        **{name: _prior_map(fields, name, shape) for name in _PRIOR_MAPS},
        # absent from the files of facefill before renders lent their variation
        render_share=_added_scalar(fields, "render_share", 0, 1, 0.0),
        # absent from the files of facefill before the blend smoothed the border: they fill as they did
        border_smoothing=_added_scalar(fields, "border_smoothing", 0, MAX_BORDER_SMOOTHING, 0.0),
    )
    missing_value = check_missing_value(float(fields["missing_value"]), dtype)
    # absent from the files of facefill before calibrated confidences, which still read
    calibration = Calibration.from_json(str(fields["calibration"])) if "calibration" in fields else None
    return ModelContents(settings, frame, prior, dtype, missing_value, int(fields["n_images"]), calibration)


#: Largest magnitude a depth (or a depth-like field) of a model may have.
_DEPTH_LIMIT = MAX_DEPTH


def _added_scalar(fields: dict, name: str, low: float, high: float, absent: float, nan: bool = False) -> float:
    """The prior's scalar ``name``, checked as :func:`_numbers` checks it, or ``absent`` in the files
    of a facefill from before the prior had it."""
    field = f"prior_{name}"
    return float(_numbers(fields, field, (), low, high, nan=nan)) if field in fields else absent


def _prior_map(fields: dict, name: str, shape) -> np.ndarray | None:
    """The prior's (H, W) map ``name`` (see :data:`_PRIOR_MAPS`) as float32, or None if the file has none."""
    field = f"prior_{name}"
    return _numbers(fields, field, shape, 0, _DEPTH_LIMIT).astype(np.float32) if field in fields else None


def _numbers(fields: dict, name: str, shape, low: float, high: float, nan: bool = False) -> np.ndarray:
    """Field ``name`` as float64, checked: its shape (None: any), values in [low, high], NaN only if allowed."""
    value = fields[name]
    if value.dtype.kind not in "biuf":
        raise TypeError(f"field {name!r} holds {value.dtype}, not numbers")
    value = value.astype(np.float64)
    if shape is not None and value.shape != tuple(shape):
        raise ValueError(f"field {name!r} has shape {value.shape}, expected {tuple(shape)}")
    known = value[~np.isnan(value)] if nan else value
    if known.size and not (np.isfinite(known).all() and known.min() >= low and known.max() <= high):
        raise ValueError(f"field {name!r} holds values outside [{low}, {high}]")
    if not nan and np.isnan(value).any():
        raise ValueError(f"field {name!r} holds NaN")
    return value


#: Most components a model file may hold; with the image size it bounds what loading may allocate.
MAX_MODEL_COMPONENTS = 256
#: Bytes any field may hold beyond its per-pixel size (scalars, strings, the settings' JSON).
SMALL_FIELD_BYTES = 65536
_FLOAT32_BYTES, _FLOAT64_BYTES = np.dtype(np.float32).itemsize, np.dtype(np.float64).itemsize
#: Bytes of the ``shape`` field: two int64.
SHAPE_FIELD_BYTES = 16


def _check_declared_sizes(path: Path, data: bytes) -> None:
    """Refuse a model file whose arrays declare more data than a model of its image size holds,
    before any is decompressed (a small file could otherwise declare terabytes)."""
    declared: dict[str, int] = {}
    with zipfile.ZipFile(BytesIO(data)) as archive:
        for info in archive.infolist():
            with archive.open(info) as member:
                version = np.lib.format.read_magic(member)
                if version not in ((1, 0), (2, 0)):
                    raise ModelFileError(f"{path}: facefill model file is damaged (array format {version})")
                read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read_header(member)
            declared[info.filename.removesuffix(".npy")] = math.prod(shape) * dtype.itemsize
        if "format" not in declared:
            raise ModelFileError(f"{path}: not a facefill model file (no facefill format tag)")
        if declared.get("shape") != SHAPE_FIELD_BYTES:
            raise ModelFileError(f"{path}: not a facefill model file (no image size)")
        with archive.open("shape.npy") as member:
            height, width = (int(v) for v in np.lib.format.read_array(member, allow_pickle=False))
    if not (0 < height and 0 < width and height * width <= MAX_PIXELS):
        raise ModelFileError(f"{path}: facefill model file is damaged (image size {width}x{height})")
    for name, size in declared.items():
        per_pixel = MAX_MODEL_COMPONENTS * _FLOAT32_BYTES if name == "prior_components" else _FLOAT64_BYTES
        limit = per_pixel * height * width + SMALL_FIELD_BYTES
        if size > limit:
            raise ModelFileError(
                f"{path}: facefill model file is damaged: array {name!r} declares {size} bytes, "
                f"more than a model of {width}x{height} images holds ({limit})"
            )


