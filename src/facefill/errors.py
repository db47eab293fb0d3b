"""The typed exceptions of facefill.

Every error a user can cause is one of these; the CLI turns them into a one-line
``Error: ...`` message and a non-zero exit code, at one place (``cli.main``).
"""

from __future__ import annotations


class FacefillError(Exception):
    """Base class of every error facefill raises on purpose."""


class InvalidParameterError(FacefillError, ValueError):
    """A parameter has a value outside what it accepts."""


class ImageReadError(FacefillError):
    """A file could not be read as a depth image (missing, not an image, corrupt)."""


class UnsupportedImageError(FacefillError):
    """A readable image that is not a single-channel depth image facefill handles."""


class WriteError(FacefillError):
    """A file could not be written (no space left, a folder in the way, no permission)."""


class ImageWriteError(WriteError):
    """A depth image could not be written (format cannot hold the dtype, I/O failure)."""


class ShapeMismatchError(FacefillError):
    """An image's size or dtype differs from the model's or the other images'."""


class NothingObservedError(FacefillError):
    """An image in which every pixel is missing: there is no face to fill."""


class NoImagesError(FacefillError):
    """A folder holds no depth image, or no usable one."""


class ModelFileError(FacefillError):
    """A model file is missing, corrupt, foreign or of an unknown format version."""


class NotFittedError(FacefillError):
    """A model was used before ``fit`` or ``load``."""


class OutputPathError(FacefillError):
    """An output location that would overwrite or nest inside the input."""


class MissingDependencyError(FacefillError):
    """An optional dependency (an extra) is needed for this and is not installed."""


class SchedulerError(FacefillError):
    """A Dask scheduler address that cannot be reached."""
