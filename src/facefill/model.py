"""FaceModel: what facefill learns from complete faces, and how it fills new ones."""

from __future__ import annotations

import io as _io
import json
import math
import os
import warnings
import zipfile
import zlib
from pathlib import Path
from tokenize import TokenError
from typing import Iterable

import numpy as np
from scipy import ndimage

from .errors import (
    InvalidParameterError,
    ModelFileError,
    NothingObservedError,
    NotFittedError,
    ShapeMismatchError,
    UnsupportedImageError,
)
from .io import (
    MAX_PIXELS,
    SUPPORTED_DTYPES,
    atomic_output,
    check_missing_value,
    default_missing_value,
    format_size,
    missing_mask,
    to_float,
)
from .methods import Fill, Method, get_method
from .prior import FaceStatistics, ShapePrior, learn_prior

FORMAT_VERSION = 1
_FORMAT_TAG = "facefill-model"
AVERAGES = ("mean", "running")
#: A pixel belongs to the model's outline when at least this share of training faces has face there.
OUTLINE_FREQUENCY = 0.5
#: For methods without a model of their own uncertainty: confidence falls by 1/e per this many pixels
#: of distance from the observed pixels.
DISTANCE_CONFIDENCE_REACH = 10.0


class FaceModel:
    """A model of complete face depth images that fills the missing parts of new ones.

    Parameters
    ----------
    average : {"mean", "running"}, default "mean"
        How the average face is learned. ``"mean"``: per pixel, the mean over
        the training faces that are face there (independent of their order).
        ``"running"``: the original system's running intersection average: the
        first batch's average, then, batch by batch, the mean of the running
        average and the batch's average where both are face, missing elsewhere.
    batch_size : int, default 1
        Batch size of the running average (ignored for ``"mean"``).
    n_components : int or "auto", default "auto"
        Principal components of the shape prior used to fill (``"auto"``:
        chosen by cross-validation on the training faces).
    noise : float or "auto", default "auto"
        Pixel noise of the prior fit, in image units: the regularisation
        (larger trusts the mean face more). ``"auto"``: cross-validated.
    mirror_weight : float or "auto", default "auto"
        Weight of mirrored observed pixels as evidence, relative to observed
        ones. ``"auto"``: cross-validated.
    chunk_size : int, default 128
        Training faces decoded and held at a time. ``fit`` goes twice over the
        faces a chunk at a time, so its memory does not grow with their number
        when ``images`` is a sequence that loads each face on access (such as
        ``facefill.batch.ImageFiles``); the settings are cross-validated on an
        evenly spread sample of at most ``facefill.prior.SAMPLE_FACES`` faces.

    Attributes
    ----------
    mean_ : (H, W) float64 ndarray
        The average face; NaN where no training face is face.
    frequency_ : (H, W) float64 ndarray
        Share of training faces that are face at each pixel.
    outline_ : (H, W) bool ndarray
        Where the average face is face: ``frequency_ >= 0.5`` and ``mean_`` known.
    shape_ : tuple of int
        Image size (height, width).
    dtype_ : numpy.dtype
        Dtype of the images.
    missing_value_ : float
        The value that marks missing pixels.
    n_images_ : int
        Number of training faces.
    prior_ : facefill.prior.ShapePrior
        The statistical shape prior (mean, components, variances, chosen
        settings and their cross-validated error).

    Examples
    --------
    >>> from facefill.synth import make_faces
    >>> faces = make_faces(5, seed=0)
    >>> model = FaceModel().fit(faces)
    >>> hole = faces[0].copy(); hole[50:60, 40:60] = 255
    >>> filled = model.reconstruct(hole)
    >>> bool((filled[50:60, 40:60] != 255).all())
    True
    """

    def __init__(
        self,
        average: str = "mean",
        batch_size: int = 1,
        n_components: int | str = "auto",
        noise: float | str = "auto",
        mirror_weight: float | str = "auto",
        chunk_size: int = 128,
    ):
        self.average = average
        self.batch_size = batch_size
        self.n_components = n_components
        self.noise = noise
        self.mirror_weight = mirror_weight
        self.chunk_size = chunk_size

    # ------------------------------------------------------------------ fit
    def fit(self, images: Iterable[np.ndarray], missing_value: float | None = None) -> "FaceModel":
        """Learn the model from complete face depth images.

        Parameters
        ----------
        images : sequence of (H, W) ndarray, or (N, H, W) ndarray
            Training faces, all of one size and dtype. A sequence (``len`` and
            indexing) is read twice, a chunk at a time; any other iterable is
            first put in a list.
        missing_value : float, optional
            The value marking missing pixels; by default the dtype's convention
            (see ``facefill.io.default_missing_value``).

        Returns
        -------
        self : FaceModel
        """
        if self.average not in AVERAGES:
            raise InvalidParameterError(f"average {self.average!r} is not known; expected one of {', '.join(AVERAGES)}")
        if not isinstance(self.batch_size, (int, np.integer)) or self.batch_size < 1:
            raise InvalidParameterError(f"batch_size {self.batch_size!r} is not valid; expected a whole number >= 1")
        _check_setting("n_components", self.n_components, integer=True, minimum=0)
        _check_setting("noise", self.noise, integer=False, minimum=0)
        _check_setting("mirror_weight", self.mirror_weight, integer=False, minimum=0)
        if isinstance(self.chunk_size, bool) or not isinstance(self.chunk_size, (int, np.integer)) or self.chunk_size < 1:
            raise InvalidParameterError(f"chunk_size {self.chunk_size!r} is not valid; expected a whole number >= 1")
        faces = images if hasattr(images, "__len__") and hasattr(images, "__getitem__") else list(images)
        if len(faces) == 0:
            raise InvalidParameterError("images is empty; expected at least one training face")
        first = np.asarray(faces[0])
        stack_images([first])  # a 2-D image of a supported dtype
        missing_value = default_missing_value(first.dtype) if missing_value is None else missing_value
        missing_value = check_missing_value(missing_value, first.dtype)
        # running-average batches must not straddle chunks
        step = max(1, self.chunk_size // self.batch_size) * self.batch_size if self.average == "running" else self.chunk_size

        def chunks():
            for start in range(0, len(faces), step):
                chunk = [faces[i] for i in range(start, min(start + step, len(faces)))]
                yield start, to_float(stack_images(chunk, reference=first, offset=start), missing_value)

        statistics = FaceStatistics(len(faces), first.shape)
        running = None
        for start, depths in chunks():
            statistics.add(depths, start)
            if self.average == "running":
                running = _running_intersection_average(depths, self.batch_size, running)
        count = statistics.face_count
        if not count.any():
            raise NothingObservedError("every pixel of every training image is missing; there is no face to learn")
        self.frequency_ = count / len(faces)
        if self.average == "mean":
            with np.errstate(invalid="ignore", divide="ignore"):
                self.mean_ = np.where(count > 0, statistics.depth_total / count, np.nan)
        else:
            self.mean_ = running
        self.prior_ = learn_prior(statistics, chunks, self.n_components, self.noise, self.mirror_weight)
        self.shape_ = first.shape
        self.dtype_ = first.dtype
        self.missing_value_ = missing_value
        self.n_images_ = len(faces)
        return self

    @classmethod
    def from_average(cls, average_image: np.ndarray, missing_value: float | None = None) -> "FaceModel":
        """A model whose average face is a given image, e.g. the original system's average.

        Its outline is where ``average_image`` is not missing.
        """
        model = cls()
        return model.fit([np.asarray(average_image)], missing_value)

    @property
    def outline_(self) -> np.ndarray:
        self._check_fitted()
        return (self.frequency_ >= OUTLINE_FREQUENCY) & np.isfinite(self.mean_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise NotFittedError("this FaceModel is not fitted yet; call fit(images) or FaceModel.load(path) first")

    # ---------------------------------------------------------- reconstruct
    def reconstruct(
        self, image: np.ndarray, method: "str | Method" = "auto", return_confidence: bool = False
    ) -> "np.ndarray | tuple[np.ndarray, np.ndarray]":
        """Fill the missing pixels of a face that the method decides are face.

        Parameters
        ----------
        image : (H, W) ndarray
            A face of the model's size and dtype; missing pixels hold the model's
            missing value.
        method : str or Method, default "auto"
            A name from ``facefill.methods.METHODS``, or a ``Method`` (such as
            an evaluation baseline).

        return_confidence : bool, default False
            Also return the per-pixel confidence of the result.

        Returns
        -------
        filled : (H, W) ndarray
            A new array of the input's dtype. Observed pixels are unchanged;
            missing pixels judged background keep the missing value.
        confidence : (H, W) float32 ndarray, only with ``return_confidence``
            1 for observed pixels, 0 for background, in between for filled
            pixels (lower further from observed pixels and where the model is
            uncertain). Methods other than ``auto`` rate a fill by its distance
            to observed pixels only.
        """
        self._check_fitted()
        fill = (method if isinstance(method, Method) else get_method(method)).fill
        image = np.asarray(image)
        self.check_image(image)
        missing = missing_mask(image, self.missing_value_)
        if missing.all():
            raise NothingObservedError("every pixel of the image is missing; there is no face to fill")
        result = image.copy()
        if not missing.any():
            confidence = np.ones(image.shape, dtype=np.float32)
            return (result, confidence) if return_confidence else result
        outcome = fill(self, to_float(image, self.missing_value_))
        filled = outcome.values if isinstance(outcome, Fill) else outcome
        write = missing & np.isfinite(filled)
        result[write] = _to_dtype(filled[write], image.dtype, self.missing_value_)
        if not return_confidence:
            return result
        if isinstance(outcome, Fill):
            confidence = outcome.confidence()
        else:
            confidence = np.where(missing, 0.0, 1.0)
            distance = ndimage.distance_transform_edt(missing)[write]
            confidence[write] = np.exp(-distance / DISTANCE_CONFIDENCE_REACH)
        return result, confidence.astype(np.float32)

    def check_image(self, image: np.ndarray, name: str = "image") -> None:
        """Raise ``ShapeMismatchError`` unless ``image`` has the model's size and dtype."""
        self._check_fitted()
        if image.ndim != 2 or image.shape != tuple(self.shape_):
            raise ShapeMismatchError(
                f"{name}: size {format_size(image.shape)} differs from the model's {format_size(self.shape_)} (width x height)"
            )
        if image.dtype != self.dtype_:
            raise ShapeMismatchError(f"{name}: dtype {image.dtype} differs from the model's {self.dtype_}")

    # ------------------------------------------------------------ save/load
    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (an ``.npz`` file), atomically."""
        self._check_fitted()
        arrays = {
            "format": np.array(_FORMAT_TAG),
            "format_version": np.array(FORMAT_VERSION),
            "shape": np.array(self.shape_, dtype=np.int64),
            "dtype": np.array(str(self.dtype_)),
            "missing_value": np.array(self.missing_value_, dtype=np.float64),
            "average": np.array(self.average),
            "batch_size": np.array(self.batch_size),
            "n_images": np.array(self.n_images_),
            "mean": self.mean_,
            "frequency": self.frequency_,
            "settings": np.array(
                json.dumps(
                    {
                        "n_components": self.n_components,
                        "noise": self.noise,
                        "mirror_weight": self.mirror_weight,
                        "chunk_size": self.chunk_size,
                    }
                )
            ),
        }
        for name in ShapePrior.ARRAYS + ShapePrior.SCALARS:
            arrays[f"prior_{name}"] = np.asarray(getattr(self.prior_, name))
        with atomic_output(path) as handle:
            np.savez_compressed(handle, **arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FaceModel":
        """Read a model written by ``save``; ``ModelFileError`` for anything else."""
        path = Path(path)
        if not path.is_file():
            raise ModelFileError(f"{path}: no such model file")
        try:
            data = path.read_bytes()
            with warnings.catch_warnings():  # a damaged file's warnings are noise: it fails or loads
                warnings.simplefilter("ignore")
                _check_declared_sizes(path, data)
                with np.load(_io.BytesIO(data), allow_pickle=False) as npz:
                    fields = {key: npz[key] for key in npz.files}
        except (
            ValueError, OSError, EOFError, SyntaxError, TokenError, zipfile.BadZipFile, zlib.error, KeyError, RuntimeError, NotImplementedError
        ) as exc:
            raise ModelFileError(f"{path}: not a facefill model file ({type(exc).__name__}: {exc})") from exc
        return cls._from_fields(path, fields)

    @classmethod
    def _from_fields(cls, path: Path, fields: dict) -> "FaceModel":
        if str(fields.get("format", "")) != _FORMAT_TAG:
            raise ModelFileError(f"{path}: not a facefill model file (no facefill format tag)")
        try:
            version = int(fields.get("format_version", -1))
        except (TypeError, ValueError, OverflowError):
            version = -1
        if version != FORMAT_VERSION:
            raise ModelFileError(
                f"{path}: model format version {version} is not supported; this facefill reads version {FORMAT_VERSION}"
            )
        try:
            shape = tuple(int(v) for v in fields["shape"])
            dtype = np.dtype(str(fields["dtype"]))
            settings = json.loads(str(fields["settings"]))
            if not isinstance(settings, dict):
                raise TypeError("settings are not a mapping")
            model = cls(average=str(fields["average"]), batch_size=int(fields["batch_size"]), **settings)
            model.mean_ = _numbers(fields, "mean", shape, -_DEPTH_LIMIT, _DEPTH_LIMIT, nan=True)
            model.frequency_ = _numbers(fields, "frequency", shape, 0, 1)
            model.shape_ = shape
            model.dtype_ = dtype
            model.missing_value_ = check_missing_value(float(fields["missing_value"]), dtype)
            model.n_images_ = int(fields["n_images"])
            components = _numbers(fields, "prior_components", None, -1.001, 1.001).astype(np.float32)
            k = len(components)
            prior = dict(
                template=_numbers(fields, "prior_template", shape, -_DEPTH_LIMIT, _DEPTH_LIMIT),
                components=components,
                variances=_numbers(fields, "prior_variances", (k,), 1e-300, _DEPTH_LIMIT**2),
                domain=_numbers(fields, "prior_domain", shape, 0, 1).astype(bool),
                frequency=_numbers(fields, "prior_frequency", shape, 0, 1),
                depth_scale=float(_numbers(fields, "prior_depth_scale", (), 1e-12, _DEPTH_LIMIT)),
                n_components=int(_numbers(fields, "prior_n_components", (), 0, k)),
                noise=float(_numbers(fields, "prior_noise", (), 1e-12, _DEPTH_LIMIT)),
                mirror_weight=float(_numbers(fields, "prior_mirror_weight", (), 0, 1e6)),
                cv_error=float(_numbers(fields, "prior_cv_error", (), 0, math.inf, nan=True)),
                reach=float(_numbers(fields, "prior_reach", (), 1e-6, 1e9)),
                locality=float(_numbers(fields, "prior_locality", (), 1e-6, 1e9)),
            )
            model.prior_ = ShapePrior(**prior)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ModelFileError(f"{path}: facefill model file is damaged ({type(exc).__name__}: {exc})") from exc
        if (
            len(shape) != 2
            or dtype not in SUPPORTED_DTYPES
            or model.average not in AVERAGES
            or components.shape[1:] != shape
        ):
            raise ModelFileError(f"{path}: facefill model file is damaged (inconsistent sizes or fields)")
        return model


#: Largest magnitude a depth (or a depth-like field) of a model may have.
_DEPTH_LIMIT = 1e12


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


def _check_declared_sizes(path: Path, data: bytes) -> None:
    """Refuse a model file whose arrays declare more data than a model of its image size holds,
    before any is decompressed (a small file could otherwise declare terabytes)."""
    declared: dict[str, int] = {}
    with zipfile.ZipFile(_io.BytesIO(data)) as archive:
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
        if declared.get("shape") != 16:
            raise ModelFileError(f"{path}: not a facefill model file (no image size)")
        with archive.open("shape.npy") as member:
            height, width = (int(v) for v in np.lib.format.read_array(member, allow_pickle=False))
    if not (0 < height and 0 < width and height * width <= MAX_PIXELS):
        raise ModelFileError(f"{path}: facefill model file is damaged (image size {width}x{height})")
    for name, size in declared.items():
        limit = (MAX_MODEL_COMPONENTS * 4 if name == "prior_components" else 8) * height * width + 65536
        if size > limit:
            raise ModelFileError(
                f"{path}: facefill model file is damaged: array {name!r} declares {size} bytes, "
                f"more than a model of {width}x{height} images holds ({limit})"
            )


def stack_images(images: Iterable[np.ndarray], reference: np.ndarray | None = None, offset: int = 0) -> np.ndarray:
    """Check that the images share one size and a supported dtype (that of ``reference``, by
    default the first image); stack them. ``offset`` numbers the images in messages."""
    images = list(images) if not isinstance(images, np.ndarray) else images
    if len(images) == 0:
        raise InvalidParameterError("images is empty; expected at least one training face")
    first = np.asarray(images[0] if reference is None else reference)
    which = "the first image's"
    for i, image in enumerate(images, start=offset):
        image = np.asarray(image)
        if image.ndim != 2:
            raise ShapeMismatchError(f"image {i}: shape {image.shape} is not 2-D (height, width)")
        if image.shape != first.shape:
            raise ShapeMismatchError(
                f"image {i}: size {format_size(image.shape)} differs from {which} {format_size(first.shape)} (width x height)"
            )
        if image.dtype != first.dtype:
            raise ShapeMismatchError(f"image {i}: dtype {image.dtype} differs from {which} {first.dtype}")
    if first.dtype not in SUPPORTED_DTYPES:
        raise UnsupportedImageError(
            f"dtype {first.dtype} is not supported; expected one of {', '.join(str(d) for d in SUPPORTED_DTYPES)}"
        )
    return np.stack([np.asarray(image) for image in images])


def _check_setting(name: str, value, integer: bool, minimum: float) -> None:
    if isinstance(value, str) and value == "auto":
        return
    kinds = (int, np.integer) if integer else (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, kinds) or not value >= minimum:
        expected = "a whole number" if integer else "a number"
        raise InvalidParameterError(f"{name} {value!r} is not valid; expected \"auto\" or {expected} >= {minimum}")


def _running_intersection_average(depths: np.ndarray, batch_size: int, average: np.ndarray | None = None) -> np.ndarray:
    """The original's average: batch means, folded pairwise where both are face; ``average``
    is the fold of the batches before ``depths``."""
    for start in range(0, len(depths), batch_size):
        batch = depths[start : start + batch_size]
        # a pixel is face in a batch only where every image of the batch is face
        batch_mean = batch.mean(axis=0)
        average = batch_mean if average is None else (average + batch_mean) / 2
    return average


def _to_dtype(values: np.ndarray, dtype: np.dtype, missing_value: float) -> np.ndarray:
    """Cast filled values to the image's dtype without ever producing the missing value."""
    if dtype.kind == "f":
        return values.astype(dtype)
    info = np.iinfo(dtype)
    low, high = info.min, info.max
    if not math.isnan(missing_value):
        # a fill equal to the missing value would read back as missing: keep off it
        if missing_value == low:
            low += 1
        elif missing_value == high:
            high -= 1
    values = np.clip(np.rint(values), low, high)
    if not math.isnan(missing_value) and low < missing_value < high:
        values[values == missing_value] += 1
    return values.astype(dtype)
