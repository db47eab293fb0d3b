"""FaceModel: what facefill learns from complete faces, and how it fills new ones."""

from __future__ import annotations

import os
from typing import Iterable

import numpy as np

from .checks import (
    auto_or_number,
    check_image,
    check_missing_value,
    one_of,
    stack_images,
    whole_number,
)
from .depth import default_missing_value, fill_mask, to_dtype, to_float
from .errors import InvalidParameterError, NotFittedError, NothingObservedError
from .fill import Method, get_method
from .fill.auto import MAX_BORDER_SMOOTHING
from .fill.occluders import find_occluders
from .modelfile import ModelContents, read_model, write_model
from .training import AVERAGES, learn


class FaceModel:
    """A model of complete face depth images that fills the missing parts of new ones.

    Parameters
    ----------
    average : {"mean", "running"}, default "mean"
        How the average face is learned. ``"mean"``: per pixel, the mean over
        the training faces that are face there (independent of their order).
        ``"running"``: the original system's running intersection average.
    batch_size : int, default 1
        Batch size of the running average (ignored for ``"mean"``).
    n_components, noise, mirror_weight : int, float or "auto", default "auto"
        The shape prior's settings: principal components used to fill, pixel
        noise of its fit in image units (the regularisation), weight of mirrored
        observed pixels as evidence. ``"auto"``: cross-validated on the training faces.
    chunk_size : int, default 128
        Training faces decoded and held at a time: ``fit`` goes twice over the
        faces a chunk at a time, so its memory does not grow with their number
        when ``images`` loads each face on access (``facefill.batch.ImageFiles``).
    tolerance : float or "auto", default "auto"
        The error (image units) a confidence is the chance of staying within
        (``facefill.calibration``). ``"auto"``: ``auto``'s held-out median error,
        rounded up to 1, 2 or 5 times a power of ten (at least 1 for integer images).
    border_smoothing : float or "auto", default "auto"
        Width (pixels of a face 84 px wide; scaled with the face) of the Gaussian
        weights with which ``auto`` reads the observed pixels around a hole as the
        quadratic surface fitted to them, so that their noise is not carried into
        the hole; 0: as they are. ``"auto"``: cross-validated on the training faces
        (none on noiseless faces, more the noisier they are).
    render_share : float in [0, 1) or "auto", default "auto"
        The share of the prior's covariance taken from the rendered faces given to
        :meth:`fit` (ignored without them). ``"auto"``: cross-validated; 0 unless a
        share beats none clearly (``facefill.tuning.SHARE_SIGNIFICANCE``).

    Attributes
    ----------
    frame_ : facefill.frame.FaceFrame
        The faces' geometry: average face, outlines, template, symmetry axis.
    prior_ : facefill.prior.PCAPrior
        The statistical shape prior (components, variances, chosen settings).
    calibration_ : facefill.calibration.Calibration or None
        What a confidence means (its tolerance, per method); None if the model
        was fitted on fewer than 3 faces or read from an older file.
    mean_, frequency_, outline_ : (H, W) ndarray
        The frame's average face (NaN where no training face is face), share of
        training faces that are face, and outline (where at least half are).
    shape_, dtype_, missing_value_, n_images_
        Image size (height, width), dtype, the value that marks missing pixels,
        number of training faces.

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
        average="mean",
        batch_size=1,
        n_components="auto",
        noise="auto",
        mirror_weight="auto",
        chunk_size=128,
        tolerance="auto",
        render_share="auto",
        border_smoothing="auto",
    ):
        self.average = average
        self.batch_size = batch_size
        self.n_components = n_components
        self.noise = noise
        self.mirror_weight = mirror_weight
        self.chunk_size = chunk_size
        self.tolerance = tolerance
        self.render_share = render_share
        self.border_smoothing = border_smoothing

    def get_params(self) -> dict:
        """The parameters given to ``__init__``."""
        names = (
            "average", "batch_size", "n_components", "noise", "mirror_weight", "chunk_size", "tolerance", "render_share",
            "border_smoothing",
        )  # fmt: skip
        return {name: getattr(self, name) for name in names}

    def check_params(self) -> None:
        """``InvalidParameterError`` naming the first parameter out of its range (``fit`` checks
        them first; a command checks them before it reads anything)."""
        one_of("average", self.average, AVERAGES)
        whole_number("batch_size", self.batch_size)
        auto_or_number("n_components", self.n_components, integer=True, minimum=0)
        auto_or_number("noise", self.noise, integer=False, minimum=0)
        auto_or_number("mirror_weight", self.mirror_weight, integer=False, minimum=0)
        whole_number("chunk_size", self.chunk_size)
        auto_or_number("tolerance", self.tolerance, integer=False, minimum=0, above=True)
        auto_or_number("render_share", self.render_share, integer=False, minimum=0, maximum=1, below=True)
        auto_or_number("border_smoothing", self.border_smoothing, integer=False, minimum=0, maximum=MAX_BORDER_SMOOTHING)

    def fit(
        self, images: Iterable[np.ndarray], missing_value: float | None = None, on_progress=None, renders=None
    ) -> "FaceModel":
        """Learn the model from complete face depth images.

        ``images`` (a sequence of (H, W) arrays of one size and dtype, or an
        (N, H, W) array) is read twice, a chunk at a time; any other iterable is
        first put in a list. ``missing_value`` defaults to the dtype's convention
        (``facefill.depth.default_missing_value``). ``on_progress``, if given, is called with each
        stage's name (the two passes, the cross-validation, the residuals, the calibration), the
        work done and the work in all, for progress (``facefill.training.learn``). ``renders``,
        optional: faces rendered like ``images`` (``facefill.pretrained.renders_like``), of their
        size, dtype and missing value, whose variation the prior borrows (``render_share``);
        the average face and the outline stay ``images``' own. Returns ``self``.
        """
        self.check_params()
        faces = images if hasattr(images, "__len__") and hasattr(images, "__getitem__") else list(images)
        if len(faces) == 0:
            raise InvalidParameterError("images is empty; expected at least one training face")
        first = stack_images([np.asarray(faces[0])])[0]  # a 2-D image of a supported dtype
        missing_value = default_missing_value(first.dtype) if missing_value is None else missing_value
        missing_value = check_missing_value(missing_value, first.dtype)
        if renders is not None and len(renders):  # the first now; each of the others as it is read
            check_image(np.asarray(renders[0]), first.shape, first.dtype, "render 0", "the first image's")
        prior_settings = {
            "n_components": self.n_components, "noise": self.noise, "mirror_weight": self.mirror_weight,
            "render_share": self.render_share, "border_smoothing": self.border_smoothing,
        }  # fmt: skip
        tolerance = None if self.tolerance == "auto" else float(self.tolerance)
        frame, prior, calibration = learn(
            faces, missing_value, self.average, self.batch_size, self.chunk_size, prior_settings,
            on_progress=on_progress, tolerance=tolerance, renders=renders,
        )  # fmt: skip
        return self._learned(ModelContents(self.get_params(), frame, prior, first.dtype, missing_value, len(faces), calibration))

    def _learned(self, contents: ModelContents) -> "FaceModel":
        self.frame_, self.prior_, self.calibration_ = contents.frame, contents.prior, contents.calibration
        self.shape_, self.dtype_ = contents.frame.shape, contents.dtype
        self.missing_value_, self.n_images_ = contents.missing_value, contents.n_images
        return self

    @classmethod
    def from_average(cls, average_image: np.ndarray, missing_value: float | None = None) -> "FaceModel":
        """A model whose average face is a given image, e.g. the original system's average.

        Its outline is where ``average_image`` is not missing.
        """
        return cls().fit([np.asarray(average_image)], missing_value)

    mean_ = property(lambda self: self._fitted().frame_.average, doc="The frame's average face.")
    frequency_ = property(lambda self: self._fitted().frame_.frequency, doc="The frame's face frequency.")
    outline_ = property(lambda self: self._fitted().frame_.outline, doc="The frame's outline.")

    def _fitted(self) -> "FaceModel":
        if not hasattr(self, "frame_"):
            raise NotFittedError("this FaceModel is not fitted yet; call fit(images) or FaceModel.load(path) first")
        return self

    def reconstruct(
        self,
        image: np.ndarray,
        method: "str | Method" = "auto",
        return_confidence: bool = False,
        name: str = "image",
        mask: "np.ndarray | None" = None,
        occluders: bool = False,
    ) -> "np.ndarray | tuple[np.ndarray, np.ndarray]":
        """Fill the missing pixels of a face that the method decides are face.

        ``image`` is (H, W), of the model's size and dtype, its missing pixels
        holding the model's missing value; ``method`` a name from
        ``facefill.fill.METHODS`` or a ``Method`` (such as an evaluation baseline).
        ``mask``, (H, W), marks observed pixels to replace as well (non-zero:
        replace; a hand, glasses, what a segmentation found in front of the
        face); with ``occluders``, so are those :meth:`find_occluders` finds.
        They are filled like missing pixels, or made missing where the method
        judges them background.

        Returns a new array of the input's dtype: pixels neither missing nor
        replaced unchanged, missing pixels judged background still missing. With
        ``return_confidence``, also a float32 map: 1 for observed pixels, 0 for
        background, and for a filled pixel the chance that it is within
        ``calibration_.tolerance`` of the truth, learned on held-out training
        faces (:mod:`facefill.calibration`). Errors name the image ``name`` (a file's path, say).
        """
        method = get_method(method)
        depth, replaced = self._given(image, name, mask)
        if occluders:
            replaced = replaced | find_occluders(depth, self.frame_, self.prior_)
            depth[replaced] = np.nan
        unknown = ~np.isfinite(depth)
        result = np.array(image, copy=True)
        if return_confidence:
            self.check_confidence(method)
        if not unknown.any():
            return (result, np.ones(result.shape, dtype=np.float32)) if return_confidence else result
        filled = method.run(depth, unknown, self.frame_, self.prior_)
        write = unknown & np.isfinite(filled.values)
        result[write] = to_dtype(filled.values[write], result.dtype, self.missing_value_)
        result[replaced & ~write] = self.missing_value_  # replaced, and judged background: removed
        if not return_confidence:
            return result
        confidence = np.where(unknown, 0.0, 1.0).astype(np.float32)
        confidence[write] = self.calibration_.confidence(method.name, filled.uncertainty()[write])
        return result, confidence

    def check_confidence(self, method: "str | Method" = "auto") -> None:
        """``InvalidParameterError`` unless this model knows what ``method``'s confidence means
        (a command checks this before it fills anything)."""
        self._fitted()
        if self.calibration_ is None:
            raise InvalidParameterError(
                "this model has no calibrated confidence (it was fitted on fewer than 3 faces, or by a facefill "
                "before confidences were calibrated); train it again on 3 or more faces"
            )
        self.calibration_.check(get_method(method).name)

    def find_occluders(self, image: np.ndarray, name: str = "image", mask: "np.ndarray | None" = None) -> np.ndarray:
        """(H, W) bool: the observed pixels of ``image`` that something in front of the face
        covers (a hand, glasses, hair strands), found where the model cannot explain the depth
        (``facefill.fill.occluders``); pixels ``mask`` marks are not looked at. A face with
        nothing in front of it gives none, or next to none."""
        depth, _ = self._given(image, name, mask)
        return find_occluders(depth, self.frame_, self.prior_)

    def _given(self, image, name: str, mask) -> tuple[np.ndarray, np.ndarray]:
        """The image, checked, as float depth with NaN at every missing or ``mask``ed pixel, and the
        ``mask`` as booleans (all False if None); ``NothingObservedError`` if no pixel is left."""
        image = np.asarray(image)
        self.check_image(image, name)
        replaced = np.zeros(image.shape, dtype=bool) if mask is None else fill_mask(mask, image.shape, name)
        depth = to_float(image, self.missing_value_, name)
        depth[replaced] = np.nan
        if not np.isfinite(depth).any():
            what = "missing" if not replaced.any() else "missing or masked"
            raise NothingObservedError(f"{name}: every pixel is {what}; there is no face to fill")
        return depth, replaced

    def check_image(self, image: np.ndarray, name: str = "image") -> None:
        """Raise ``ShapeMismatchError`` unless ``image`` has the model's size and dtype."""
        self._fitted()
        check_image(image, self.shape_, self.dtype_, name, "the model's")

    def save(self, path: str | os.PathLike) -> None:
        """Write the model to ``path`` (an ``.npz`` file), atomically."""
        self._fitted()
        write_model(
            path,
            ModelContents(
                self.get_params(), self.frame_, self.prior_, self.dtype_, self.missing_value_, self.n_images_, self.calibration_
            ),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FaceModel":
        """Read a model written by ``save``; ``ModelFileError`` for anything else."""
        contents = read_model(path)
        return cls(**contents.settings)._learned(contents)
