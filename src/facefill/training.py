"""Learning a face frame and a shape prior from complete faces, a chunk at a time."""

from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterator, Sequence

import numpy as np

from .calibration import Calibration, calibrate
from .checks import stack_images
from .depth import to_float
from .errors import NothingObservedError
from .frame import FaceFrame
from .prior import FaceStatistics, PCAPrior, learn_prior
from .prior.learn import MAX_COMPONENTS, SAMPLE_FACES, borrowed_variation, pooled_prior
from .tuning import choose_settings, residual_statistics

AVERAGES = ("mean", "running")


def learn(
    faces: Sequence[np.ndarray],
    missing_value: float,
    average: str = "mean",
    batch_size: int = 1,
    chunk_size: int = 128,
    prior_settings: dict | None = None,
    sample_faces: int = SAMPLE_FACES,
    on_progress: Callable[[str, int, int], None] | None = None,
    tolerance: float | None = None,
    renders: Sequence[np.ndarray] | None = None,
) -> tuple[FaceFrame, PCAPrior, Calibration | None]:
    """The frame, the prior and the confidence's calibration of ``faces`` (a sequence of (H, W)
    images of one size and dtype).

    Two passes, ``chunk_size`` faces at a time: the first counts where faces
    are (and the average face), the second learns the prior
    (:func:`facefill.prior.learn_prior`); then its settings are chosen
    (:func:`facefill.tuning.choose_settings`; ``prior_settings`` holds its
    ``n_components``, ``noise`` and ``mirror_weight``, each ``"auto"`` by
    default). At most ``sample_faces`` faces, evenly spread, are held for the
    gap imputation, the cross-validation and the confidence's calibration
    (:func:`facefill.calibration.calibrate`, within ``tolerance``; None: its default).
    ``renders``, faces rendered like ``faces`` (``facefill.pretrained.renders_like``), lend
    the prior their variation (:func:`facefill.prior.learn.borrowed_variation`), the share
    of it the cross-validation finds best among none and the shares that beat none clearly
    (``prior_settings``' ``render_share``, ``"auto"`` by default; see
    :data:`facefill.tuning.SHARE_SIGNIFICANCE`); the frame and the prior's mean stay ``faces``' own.
    ``on_progress``, if given, is called with a stage's name, the work done and the work in
    all (faces in the passes, held-out faces after), 0 as each stage starts.
    """
    report = on_progress if on_progress is not None else (lambda stage, done, total: None)

    def stage(name: str):
        """The stage's ``on_fold``-like callback: (done, in all), 0 as it starts."""
        return lambda done, total: report(name, done, total)

    first = np.asarray(faces[0])
    # running-average batches must not straddle chunks
    step = max(1, chunk_size // batch_size) * batch_size if average == "running" else chunk_size

    def chunks(images: Sequence[np.ndarray] = faces, label: str = "image") -> Iterator[tuple[int, np.ndarray]]:
        for start in range(0, len(images), step):
            chunk = [images[i] for i in range(start, min(start + step, len(images)))]
            yield start, to_float(stack_images(chunk, reference=first, offset=start, label=label), missing_value)

    statistics = FaceStatistics(len(faces), first.shape, sample_faces)
    running = None
    advance = stage("pass 1 of 2: where the faces are, their average")
    advance(0, len(faces))
    for start, depths in chunks():
        statistics.add(depths, start)
        if average == "running":
            running = running_intersection_average(depths, batch_size, running)
        advance(start + len(depths), len(faces))
    count = statistics.face_count
    if not count.any():
        raise NothingObservedError("every pixel of every training image is missing; there is no face to learn")
    if average == "mean":
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_face = np.where(count > 0, statistics.depth_total / count, np.nan)
    else:
        mean_face = running
    settings = {
        "n_components": "auto", "noise": "auto", "mirror_weight": "auto", "border_smoothing": "auto", "render_share": "auto",
        **(prior_settings or {}),
    }  # fmt: skip
    n_components = settings["n_components"]
    advance = stage("pass 2 of 2: the shape prior's components")
    advance(0, len(faces))

    def counted_chunks(images: Sequence[np.ndarray] = faces, label: str = "image"):
        """:func:`chunks`, each counted by the stage's ``advance`` as it is done."""
        for start, depths in chunks(images, label):
            yield start, depths
            advance(start + len(depths), len(images))

    learned = learn_prior(statistics, counted_chunks, MAX_COMPONENTS if n_components == "auto" else int(n_components))
    sample, rows = learned.sample, learned.sample_rows
    borrowed = None
    if renders is not None and len(renders):
        advance = stage("the rendered faces: how they vary")
        advance(0, len(renders))
        borrowed = borrowed_variation(learned, lambda: counted_chunks(renders, "render"))
    # the held-out stages say how far they are as their folds go (tuning.held_out_folds)
    advance = stage("choosing the prior's settings: faces held out")
    chosen = choose_settings(sample, rows, learned.prior, **settings, on_fold=advance, borrowed=borrowed)
    prior = replace(learned.prior, **chosen)
    if borrowed is not None:
        borrowed = borrowed.with_share(chosen["render_share"])
        prior = pooled_prior(prior, borrowed)
    advance = stage("how far faces stray from the prior (for --occluders): faces held out")
    prior = replace(prior, **residual_statistics(sample, rows, prior, on_fold=advance, borrowed=borrowed))
    frame = FaceFrame(
        average=mean_face,
        frequency=count / len(faces),
        template=prior.mean,
        symmetric_frequency=statistics.frequency,
    )
    advance = stage("what a confidence means: faces held out and filled")
    integer = np.dtype(first.dtype).kind in "iu"
    calibration = calibrate(sample, rows, frame, prior, tolerance, integer, on_fold=advance, borrowed=borrowed)
    return frame, prior, calibration


def running_intersection_average(depths: np.ndarray, batch_size: int, average: np.ndarray | None = None) -> np.ndarray:
    """The original's average: batch means, folded pairwise where both are face (NaN
    propagates); ``average`` is the fold of the batches before ``depths``."""
    for start in range(0, len(depths), batch_size):
        batch = depths[start : start + batch_size]
        # a pixel is face in a batch only where every image of the batch is face
        batch_mean = batch.mean(axis=0)
        average = batch_mean if average is None else (average + batch_mean) / 2
    return average
