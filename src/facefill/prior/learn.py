"""Learning the PCA prior from training faces, in two passes a chunk at a time."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..depth import extend_nearest
from ..frame import OUTLINE_FREQUENCY, mirror
from .gappy import PCAPrior
from .pca import (
    EM_COMPONENTS,
    BorrowedVariation,
    StreamingPCA,
    covariance_factor,
    impute_gaps,
    principal_components,
    project_gaps,
)

#: Distance (as a share of the face's width) over which the fitted shape fades into the mean face.
REACH_FRACTION = 0.25
#: Distance (share of the face's width) over which evidence weighs less with its distance from the
#: hole, down to ``gappy.LOCALITY_FLOOR``. Both chosen on leave-one-out runs of the sample data.
LOCALITY_FRACTION = 0.06
#: Training faces held in memory for the gap imputation and the cross-validation: all of a
#: small training set, an evenly spread sample of a large one (so memory stays bounded).
SAMPLE_FACES = 200
#: Most components a prior keeps (and its settings' cross-validation tries).
MAX_COMPONENTS = 64
#: Directions the chunk-by-chunk PCA keeps between chunks: twice what any fit may use, so
#: that the directions it drops are too weak to matter (it is exact while the faces span fewer).
TRACKED_COMPONENTS = 2 * MAX_COMPONENTS


class FaceStatistics:
    """What a first pass over the training faces learns: where faces are, how wide, and a sample.

    Feed it the faces in order, a chunk at a time, with :meth:`add`.
    """

    def __init__(self, n_faces: int, shape: tuple[int, int], sample_faces: int = SAMPLE_FACES):
        self.n_faces = n_faces
        self.face_count = np.zeros(shape)
        self.depth_total = np.zeros(shape)
        self.width_total = 0.0
        self.width_count = 0
        self.sample_index = np.unique(np.linspace(0, n_faces - 1, min(n_faces, sample_faces)).round().astype(int))
        self.sample: list[np.ndarray] = []

    def add(self, depths: np.ndarray, start: int) -> None:
        """Count the faces ``depths`` (b, H, W; NaN = background), the ``start``-th to the ``start + b - 1``-th."""
        face = np.isfinite(depths)
        self.face_count += face.sum(axis=0)
        self.depth_total += np.nansum(depths, axis=0)
        for columns in face.any(axis=1):
            if columns.any():
                self.width_total += np.ptp(np.nonzero(columns)[0]) + 1
                self.width_count += 1
        wanted = self.sample_index[(self.sample_index >= start) & (self.sample_index < start + len(depths))]
        self.sample.extend(depths[i - start].copy() for i in wanted)

    @property
    def frequency(self) -> np.ndarray:
        """Share of the faces and their mirror images that are face at each pixel."""
        return (self.face_count + mirror(self.face_count)) / (2 * self.n_faces)

    @property
    def mirrored_mean(self) -> np.ndarray:
        """Mean depth of the faces and their mirror images where any is face, NaN elsewhere."""
        count = self.face_count + mirror(self.face_count)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, (self.depth_total + mirror(self.depth_total)) / count, np.nan)

    @property
    def face_width(self) -> float:
        """Mean width (pixels) of the faces' bounding boxes."""
        return self.width_total / self.width_count if self.width_count else float(self.face_count.shape[1])


def fit_prior(depths: np.ndarray, n_components: int, noise: float, mirror_weight: float) -> PCAPrior:
    """A prior with the given settings, learned from complete faces held in memory (N, H, W;
    NaN = background): :func:`learn_prior` with the faces as one chunk."""
    statistics = FaceStatistics(len(depths), depths.shape[1:])
    statistics.add(depths, 0)
    learned = learn_prior(statistics, lambda: iter([(0, depths)]), int(n_components))
    settings = {"n_components": min(int(n_components), len(learned.prior.components)), "noise": float(noise)}
    return replace(learned.prior, **settings, mirror_weight=float(mirror_weight))


@dataclass
class LearnedPrior:
    """A prior learned from training faces, with what choosing its settings needs."""

    prior: PCAPrior  # with every learned component and provisional settings
    sample: np.ndarray  # (N, H, W) the sample of training faces, NaN background
    sample_rows: np.ndarray  # (2N, domain pixels) the sample and its mirror images, gaps filled


def learn_prior(statistics: FaceStatistics, chunks, max_components: int = MAX_COMPONENTS) -> LearnedPrior:
    """Learn the shape prior in a second pass over the training faces.

    Parameters
    ----------
    statistics : FaceStatistics
        The first pass over the faces.
    chunks : callable
        Returns an iterator of ``(start, depths)``: the faces again, in order,
        a chunk (b, H, W; NaN = background) at a time.
    max_components : int
        Most components the prior keeps.

    Every face and its mirror image is a row over the *domain* (the pixels where
    any of them is face). Its background pixels in the domain are filled in by
    EM-PCA on the sample of faces (which keep their EM values), and for the
    other faces by a fit to that EM-PCA; the rows then go through a PCA a chunk
    at a time. The prior's settings are provisional (every component, noise at
    the depth scale, no mirror weight): ``facefill.tuning`` chooses them.
    """
    height, width = statistics.face_count.shape
    frequency = statistics.frequency
    domain = frequency > 0
    sample = np.stack(statistics.sample)
    # background pixels of the sample start from the mean of all faces, known where any face is face
    sample_rows = impute_gaps(np.concatenate([sample, mirror(sample)])[:, domain], start=statistics.mirrored_mean[domain])
    gap_mean, gap_components, _ = principal_components(sample_rows, EM_COMPONENTS)
    position = {int(face): i for i, face in enumerate(statistics.sample_index)}
    pca = StreamingPCA(keep=max(TRACKED_COMPONENTS, max_components))
    for start, depths in chunks():
        rows = project_gaps(np.concatenate([depths, mirror(depths)])[:, domain], gap_mean, gap_components)
        b = len(depths)
        for j in range(b):
            if start + j in position:  # a sampled face keeps the values EM-PCA gave it
                i = position[start + j]
                rows[j], rows[b + j] = sample_rows[i], sample_rows[len(sample) + i]
        pca.add(rows)
    mean, components, variances, spread = pca.result(max_components)
    depth_scale = float(np.median(spread)) if spread.size else 1.0
    depth_scale = depth_scale if depth_scale > 0 else 1.0
    face_width = statistics.face_width
    mean_face = np.full((height, width), np.nan)
    mean_face[domain] = mean
    grid_components = np.zeros((components.shape[0], height, width), dtype=np.float32)
    grid_components[:, domain] = components
    prior = PCAPrior(
        mean=extend_nearest(mean_face),
        components=grid_components,
        variances=variances,
        domain=domain,
        symmetric_outline=frequency >= OUTLINE_FREQUENCY,
        depth_scale=depth_scale,
        n_components=components.shape[0],
        noise=depth_scale,
        mirror_weight=0.0,
        cv_error=float("nan"),
        reach=REACH_FRACTION * face_width,
        locality=LOCALITY_FRACTION * face_width,
    )
    return LearnedPrior(prior, sample, sample_rows)


def borrowed_variation(learned: LearnedPrior, chunks) -> BorrowedVariation:
    """How other faces (renders) vary over ``learned``'s domain, to lend its prior
    (:class:`~facefill.prior.pca.BorrowedVariation`, share 0 until one is chosen).

    ``chunks`` is as for :func:`learn_prior`. The faces and their mirror images
    become rows over the domain as the training faces did (their background
    filled by a fit to the sample's EM-PCA) and go through a PCA a chunk at a time.
    """
    domain = learned.prior.domain
    gap_mean, gap_components, _ = principal_components(learned.sample_rows, EM_COMPONENTS)
    pca = StreamingPCA(keep=TRACKED_COMPONENTS)
    for _, depths in chunks():
        pca.add(project_gaps(np.concatenate([depths, mirror(depths)])[:, domain], gap_mean, gap_components))
    return BorrowedVariation(covariance_factor(pca))


def pooled_prior(prior: PCAPrior, borrowed: BorrowedVariation, max_components: int = MAX_COMPONENTS) -> PCAPrior:
    """``prior`` with its covariance pooled with ``borrowed``'s (its mean and settings kept), at most
    ``max_components`` components; its ``n_components`` (which may ask for components the renders
    could have added) at most the components it has."""
    if borrowed.share <= 0:
        return replace(prior, n_components=min(prior.n_components, len(prior.components)))
    own = np.sqrt(prior.variances)[:, None] * prior.components[:, prior.domain]
    components, variances = borrowed.pool(own, max_components)
    grid = np.zeros((len(components), *prior.domain.shape), dtype=np.float32)
    grid[:, prior.domain] = components
    return replace(prior, components=grid, variances=variances, n_components=min(prior.n_components, len(components)))
