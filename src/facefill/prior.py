"""The statistical face prior: PCA of the training faces and its gappy, regularised fit.

Training faces (and their mirror images) are vectors over the *domain*, the
pixels where any training face is face. A face is background at some domain
pixels; those gaps are imputed by EM-PCA (alternately fit a PCA and predict the
gaps) so that every face is complete over the domain. The prior is then the
mean plus principal components with their variances.

A new face is fitted from its observed pixels only (gappy PCA, Everson &
Sirovich 1995) by Bayesian ridge regression: coefficient ``k`` has prior
variance ``variances[k]``, the pixels have noise ``noise**2``, and a depth
offset is fitted freely. Mirrored observed pixels enter as extra evidence with
a lower weight.

References
----------
R. Everson and L. Sirovich, "Karhunen-Loeve procedure for gappy data",
J. Opt. Soc. Am. A 12 (8), 1995.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage

from .masks import FAMILIES, make_mask

EM_ITERATIONS = 12
#: Distance (as a share of the face's width) over which the fitted shape fades into the mean face.
REACH_FRACTION = 0.25
#: Distance (share of the face's width) over which evidence weighs less with its distance from the
#: hole, down to LOCALITY_FLOOR. Both chosen on leave-one-out runs of the sample data.
LOCALITY_FRACTION = 0.06
LOCALITY_FLOOR = 0.05
EM_COMPONENTS = 8


def impute_gaps(
    rows: np.ndarray, iterations: int = EM_ITERATIONS, rank: int = EM_COMPONENTS, start: np.ndarray | None = None
) -> np.ndarray:
    """Fill NaN gaps of ``rows`` (n, p) by EM-PCA of rank ``rank``; returns a new array.

    The gaps start from ``start`` (p,), by default the mean of each column's known values.
    """
    gaps = np.isnan(rows)
    filled = np.where(gaps, np.nanmean(rows, axis=0) if start is None else start, rows)
    rank = min(rank, len(rows) - 1)
    if not gaps.any() or rank < 1:
        return filled
    for _ in range(iterations):
        mean, components, _ = principal_components(filled, rank)
        centred = filled - mean
        low_rank = mean + (centred @ components.T) @ components
        filled[gaps] = low_rank[gaps]
    return filled


def principal_components(rows: np.ndarray, max_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean (p,), components (k, p) and their variances (k,) of complete rows (n, p).

    The sign of each component is fixed (see ``_fix_signs``) so that results
    are reproducible across platforms.
    """
    mean = rows.mean(axis=0)
    k = max(0, min(max_components, len(rows) - 1, rows.shape[1]))
    s, components = _row_space(rows - mean, k)
    components = _fix_signs(components)
    variances = s**2 / max(len(rows) - 1, 1)
    return mean, components, variances


@dataclass
class GappyFit:
    """The fitted coefficients and what is needed for predictions and their variance."""

    offset: float
    coefficients: np.ndarray
    precision_inverse: np.ndarray  # posterior covariance of (offset, coefficients) / noise**2


def gappy_fit(
    design: np.ndarray,
    target: np.ndarray,
    weights: np.ndarray,
    variances: np.ndarray,
    noise: float,
) -> GappyFit:
    """Bayesian ridge fit of ``target ~ offset + design @ coefficients``.

    Parameters
    ----------
    design : (m, k) ndarray
        Component values at the m pixels with evidence (float32 or float64;
        the sums are formed in its precision).
    target : (m,) ndarray
        Evidence minus the mean face.
    weights : (m,) ndarray
        1 for observed pixels, lower for mirrored evidence.
    variances : (k,) ndarray
        Prior variance of each coefficient.
    noise : float
        Pixel noise standard deviation (the regularisation).
    """
    k = design.shape[1]
    # the normal equations of [1, design] by blocks, without building that (m, k + 1) matrix:
    # on one face the allocations cost more than the arithmetic
    weighted = design * weights[:, None].astype(design.dtype)
    gram = np.empty((k + 1, k + 1))
    gram[0, 0] = weights.sum()
    gram[0, 1:] = gram[1:, 0] = weighted.sum(axis=0, dtype=np.float64)
    gram[1:, 1:] = design.T @ weighted
    rhs = np.empty(k + 1)
    rhs[0] = weights @ target
    rhs[1:] = weighted.T @ target.astype(design.dtype)
    penalty = np.empty(k + 1)
    penalty[0] = 1e-6  # the offset is all but free
    penalty[1:] = noise**2 / variances
    gram[np.diag_indices(k + 1)] += penalty
    solution = np.linalg.solve(gram, rhs)
    return GappyFit(float(solution[0]), solution[1:], np.linalg.inv(gram))


# ------------------------------------------------------------ the prior
COMPONENT_GRID = (0, 1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64)
NOISE_GRID = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # times the depth scale
MIRROR_WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0)
MAX_CV_FOLDS = 20


@dataclass
class ShapePrior:
    """Mean face, principal components and the fit settings chosen by cross-validation.

    All arrays are in the model frame, where the mean face is symmetric about
    the image's vertical centre line.
    """

    template: np.ndarray  # (H, W) mean face, extended beyond the domain by its nearest value
    components: np.ndarray  # (K, H, W) float32, zero outside the domain
    variances: np.ndarray  # (K,)
    domain: np.ndarray  # (H, W) bool: pixels where any training face (or its mirror) is face
    frequency: np.ndarray  # (H, W) share of training faces and mirrors that are face
    depth_scale: float  # typical spread of depth between faces (image units)
    n_components: int
    noise: float
    mirror_weight: float
    cv_error: float  # cross-validated MAE of the chosen settings (image units)
    reach: float  # pixels over which the fitted shape fades into the mean face away from evidence
    locality: float  # pixels over which evidence weighs less with its distance from the hole

    ARRAYS = ("template", "components", "variances", "domain", "frequency")
    SCALARS = ("depth_scale", "n_components", "noise", "mirror_weight", "cv_error", "reach", "locality")

    @cached_property
    def support(self) -> np.ndarray:
        """Model pixels where at least half the training faces are face: the model's outline."""
        return self.frequency >= 0.5

    @cached_property
    def _fitted_components_by_pixel(self) -> np.ndarray:
        """(H * W, n_components) float32: the components the fit uses, one row per pixel, so that
        gathering the evidence pixels reads contiguous rows."""
        return np.ascontiguousarray(self.components[: self.n_components].reshape(self.n_components, self.domain.size).T)

    def fit_face(self, depth: np.ndarray) -> tuple[np.ndarray, GappyFit]:
        """Fit the prior to a face in the model frame; return its prediction and the fit.

        ``depth`` is (H, W), NaN where missing. Mirrored observed pixels are extra
        evidence with weight ``mirror_weight``.
        """
        observed = np.isfinite(depth) & self.domain
        mirrored = depth[:, ::-1]
        evidence = observed.copy()
        if self.mirror_weight > 0:
            evidence |= np.isfinite(mirrored) & self.domain
        k = self.n_components
        comps = self.components[:k]
        values = np.where(observed, depth, mirrored)[evidence]
        weights = np.where(observed[evidence], 1.0, self.mirror_weight)
        # the pixels around the hole matter most for filling it: weight evidence by its nearness
        hole = ~np.isfinite(depth) & self.support
        if hole.any():
            near = ndimage.distance_transform_edt(~hole)[evidence]
            weights = weights * (LOCALITY_FLOOR + np.exp(-near / self.locality))
        design = self._fitted_components_by_pixel[np.flatnonzero(evidence)]  # float32: ample for depths
        fit = gappy_fit(design, values - self.template[evidence], weights, self.variances[:k], self.noise)
        # in the components' float32: upcasting the (k, H, W) stack would cost more than the product
        shape_term = fit.coefficients.astype(np.float32) @ comps.reshape(k, depth.size)
        shape_term = shape_term.reshape(depth.shape).astype(np.float64)
        # far from any evidence the fitted shape is extrapolation, worse than the mean face
        # (on leave-one-out runs of the sample data): fade it out with the distance
        distance = ndimage.distance_transform_edt(~(np.isfinite(depth) | np.isfinite(mirrored)))
        shape_term = shape_term * np.exp(-distance / self.reach)
        prediction = self.template + fit.offset + shape_term
        return prediction, fit

    def predictive_std(self, fit: GappyFit, where: np.ndarray) -> np.ndarray:
        """Standard deviation of a new observation at the pixels ``where`` (model frame), given ``fit``."""
        k = self.n_components
        basis = np.concatenate([np.ones((1, int(where.sum()))), self.components[:k][:, where]], axis=0)
        spread = np.einsum("ip,ij,jp->p", basis, fit.precision_inverse, basis)
        std = np.zeros(where.shape)
        std[where] = self.noise * np.sqrt(1.0 + np.clip(spread, 0, None))
        return std


#: Training faces held in memory for the gap imputation and the cross-validation: all of a
#: small training set, an evenly spread sample of a large one (so memory stays bounded).
SAMPLE_FACES = 200
#: Directions the chunk-by-chunk PCA keeps between chunks: twice what any fit may use, so
#: that the directions it drops are too weak to matter (it is exact while the faces span fewer).
TRACKED_COMPONENTS = 2 * max(COMPONENT_GRID)


class FaceStatistics:
    """What a first pass over the training faces learns: where faces are, how wide, and a sample.

    Feed it the faces in order, a chunk at a time, with :meth:`add`.
    """

    def __init__(self, n_faces: int, shape: tuple[int, int]):
        self.n_faces = n_faces
        self.face_count = np.zeros(shape)
        self.depth_total = np.zeros(shape)
        self.width_total = 0.0
        self.width_count = 0
        self.sample_index = np.unique(np.linspace(0, n_faces - 1, min(n_faces, SAMPLE_FACES)).round().astype(int))
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
        return (self.face_count + self.face_count[:, ::-1]) / (2 * self.n_faces)

    @property
    def mirrored_mean(self) -> np.ndarray:
        """Mean depth of the faces and their mirror images where any is face, NaN elsewhere."""
        count = self.face_count + self.face_count[:, ::-1]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(count > 0, (self.depth_total + self.depth_total[:, ::-1]) / count, np.nan)

    @property
    def face_width(self) -> float:
        """Mean width (pixels) of the faces' bounding boxes."""
        return self.width_total / self.width_count if self.width_count else float(self.face_count.shape[1])


class StreamingPCA:
    """Mean, per-pixel spread and principal components of rows given a chunk at a time.

    The incremental SVD of Ross et al. (2008), as in scikit-learn's
    ``IncrementalPCA``: the kept directions, scaled by their singular values,
    are stacked with the new centred rows and a row for the shift of the mean,
    and decomposed again; memory depends on the chunk and the directions kept,
    not on the number of rows.

    References
    ----------
    D. Ross, J. Lim, R. Lin and M. Yang, "Incremental learning for robust
    visual tracking", International Journal of Computer Vision 77, 2008.
    """

    def __init__(self, keep: int = TRACKED_COMPONENTS):
        self.keep = keep
        self.count = 0
        self.mean: np.ndarray | None = None
        self.squares: np.ndarray | None = None  # per-pixel sum of squared deviations from the mean
        self.basis: np.ndarray | None = None  # (r, p) directions times their singular values

    def add(self, rows: np.ndarray) -> None:
        b = len(rows)
        batch_mean = rows.mean(axis=0)
        centred = rows - batch_mean
        if self.count == 0:
            stacked, total = centred, b
            self.mean, self.squares = batch_mean, (centred**2).sum(axis=0)
        else:
            total = self.count + b
            shift = self.mean - batch_mean
            stacked = np.vstack([self.basis, centred, np.sqrt(self.count * b / total) * shift])
            self.squares = self.squares + (centred**2).sum(axis=0) + shift**2 * self.count * b / total
            self.mean = self.mean + (batch_mean - self.mean) * b / total
        self.count = total
        singular, directions = _row_space(stacked, self.keep)
        self.basis = singular[:, None] * directions

    def result(self, max_components: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Mean (p,), components (k, p), their variances (k,) and the per-pixel standard deviation (p,)."""
        singular = np.linalg.norm(self.basis, axis=1)
        k = max(0, min(max_components, len(singular), self.count - 1))
        components = _fix_signs(self.basis[:k] / singular[:k, None])
        variances = singular[:k] ** 2 / max(self.count - 1, 1)
        return self.mean, components, variances, np.sqrt(self.squares / self.count)


def _row_space(rows: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Leading singular values and right singular vectors (at most ``keep``) of ``rows`` (m, p),
    without numerically null directions."""
    if keep < 1:
        return np.zeros(0), np.zeros((0, rows.shape[1]))
    if len(rows) <= rows.shape[1]:
        # few rows, many pixels: eigenvectors of the small Gram matrix give the directions
        eigenvalues, vectors = np.linalg.eigh(rows @ rows.T)
        order = np.argsort(eigenvalues)[::-1][:keep]
        singular = np.sqrt(np.clip(eigenvalues[order], 0, None))
        order, singular = order[singular > singular[0] * 1e-6], singular[singular > singular[0] * 1e-6]
        return singular, (vectors[:, order].T @ rows) / singular[:, None]
    _, singular, vt = np.linalg.svd(rows, full_matrices=False)
    kept = singular[:keep] > singular[0] * 1e-6
    return singular[:keep][kept], vt[:keep][kept]


def _fix_signs(components: np.ndarray) -> np.ndarray:
    """Give each component the sign that makes its dot product with a fixed random vector
    positive, so results are reproducible. (The usual rule, largest loading positive, is a
    coin toss here: a component of faces and their mirror images is symmetric or
    antisymmetric, and an antisymmetric one has two largest loadings of opposite signs.)"""
    if not len(components):
        return components
    probe = np.random.default_rng(0).standard_normal(components.shape[1])
    return components * np.where(components @ probe < 0, -1.0, 1.0)[:, None]


def project_gaps(rows: np.ndarray, mean: np.ndarray, components: np.ndarray) -> np.ndarray:
    """Fill the NaN gaps of ``rows`` (n, p) from a least-squares fit of ``mean + coefficients @ components``
    to each row's known values (the E-step of EM-PCA for fixed components); returns a new array."""
    known = np.isfinite(rows)
    k = len(components)
    if k == 0:
        return np.where(known, rows, mean)
    deviations = np.where(known, rows - mean, 0.0)
    pair_products = (components[:, None, :] * components[None, :, :]).reshape(k * k, -1)
    grams = (known @ pair_products.T).reshape(-1, k, k) + 1e-9 * np.eye(k)
    coefficients = np.linalg.solve(grams, (deviations @ components.T)[..., None])[..., 0]
    return np.where(known, rows, mean + coefficients @ components)


def fit_prior(
    depths: np.ndarray,
    n_components="auto",
    noise="auto",
    mirror_weight="auto",
    families: tuple[str, ...] | None = None,
    seed: int = 0,
) -> ShapePrior:
    """Learn the shape prior from complete faces held in memory (N, H, W; NaN = background).

    See :func:`learn_prior`, which this calls with the faces as one chunk.
    """
    statistics = FaceStatistics(len(depths), depths.shape[1:])
    statistics.add(depths, 0)
    return learn_prior(statistics, lambda: iter([(0, depths)]), n_components, noise, mirror_weight, families, seed)


def learn_prior(
    statistics: FaceStatistics,
    chunks,
    n_components="auto",
    noise="auto",
    mirror_weight="auto",
    families: tuple[str, ...] | None = None,
    seed: int = 0,
) -> ShapePrior:
    """Learn the shape prior in a second pass over the training faces.

    Parameters
    ----------
    statistics : FaceStatistics
        The first pass over the faces.
    chunks : callable
        Returns an iterator of ``(start, depths)``: the faces again, in order,
        a chunk (b, H, W; NaN = background) at a time.

    Every face and its mirror image is a row over the *domain* (the pixels where
    any of them is face). Its background pixels in the domain are filled in by
    EM-PCA on the sample of faces (which keep their EM values), and for the
    other faces by a fit to that EM-PCA; the rows then go through a PCA a chunk
    at a time. Settings left as ``"auto"`` are chosen by cross-validation on the
    sample: for up to ``MAX_CV_FOLDS`` of its faces, the prior is refitted
    without the face and its mirror, the face is hidden with masks of every
    protocol family, and the settings with the lowest mean absolute error on
    the hidden face pixels win.
    """
    families = FAMILIES if families is None else families
    n = statistics.n_faces
    height, width = statistics.face_count.shape
    frequency = statistics.frequency
    domain = frequency > 0
    sample = np.stack(statistics.sample)
    # background pixels of the sample start from the mean of all faces, known where any face is face
    sample_rows = impute_gaps(
        np.concatenate([sample, sample[:, :, ::-1]])[:, domain], start=statistics.mirrored_mean[domain]
    )
    gap_mean, gap_components, _ = principal_components(sample_rows, EM_COMPONENTS)
    position = {int(face): i for i, face in enumerate(statistics.sample_index)}
    max_k = max(COMPONENT_GRID) if n_components == "auto" else int(n_components)
    pca = StreamingPCA(keep=max(TRACKED_COMPONENTS, max_k))
    for start, depths in chunks():
        rows = np.concatenate([depths, depths[:, :, ::-1]])[:, domain]
        rows = project_gaps(rows, gap_mean, gap_components)
        b = len(depths)
        for j in range(b):
            if start + j in position:  # a sampled face keeps the values EM-PCA gave it
                i = position[start + j]
                rows[j], rows[b + j] = sample_rows[i], sample_rows[len(sample) + i]
        pca.add(rows)
    mean, components, variances, spread = pca.result(max_k)
    depth_scale = float(np.median(spread)) if spread.size else 1.0
    depth_scale = depth_scale if depth_scale > 0 else 1.0

    chosen_k = n_components
    chosen_noise = noise
    chosen_weight = mirror_weight
    cv_error = float("nan")
    if "auto" in (n_components, noise, mirror_weight) and len(sample) >= 3:
        grid_k = [k for k in COMPONENT_GRID if k <= components.shape[0]] if n_components == "auto" else [int(n_components)]
        grid_noise = [depth_scale * g for g in NOISE_GRID] if noise == "auto" else [float(noise)]
        grid_w = list(MIRROR_WEIGHT_GRID) if mirror_weight == "auto" else [float(mirror_weight)]
        errors = _cross_validate(sample, sample_rows, domain, grid_k, grid_noise, grid_w, families, seed)
        best = np.unravel_index(np.nanargmin(errors), errors.shape)
        chosen_k, chosen_noise, chosen_weight = grid_k[best[0]], grid_noise[best[1]], grid_w[best[2]]
        cv_error = float(errors[best])
    chosen_k = min(int(chosen_k if chosen_k != "auto" else 0), components.shape[0])
    chosen_noise = float(chosen_noise if chosen_noise != "auto" else depth_scale)
    chosen_weight = float(chosen_weight if chosen_weight != "auto" else 0.5)

    face_width = statistics.face_width
    template = np.full((height, width), np.nan)
    template[domain] = mean
    template = _extend_nearest(template)
    grid_components = np.zeros((components.shape[0], height, width), dtype=np.float32)
    grid_components[:, domain] = components
    return ShapePrior(
        template=template,
        components=grid_components,
        variances=variances,
        domain=domain,
        frequency=frequency,
        depth_scale=depth_scale,
        n_components=chosen_k,
        noise=chosen_noise,
        mirror_weight=chosen_weight,
        cv_error=cv_error,
        reach=REACH_FRACTION * face_width,
        locality=LOCALITY_FRACTION * face_width,
    )


def _extend_nearest(image: np.ndarray) -> np.ndarray:
    """Give NaN pixels the value of the nearest finite pixel."""
    missing = np.isnan(image)
    if not missing.any() or missing.all():
        return np.nan_to_num(image)
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return image[rows, cols]


def _cross_validate(depths, rows, domain, grid_k, grid_noise, grid_w, families, seed) -> np.ndarray:
    """Mean absolute error on hidden face pixels for every (k, noise, weight) setting."""
    n = len(depths)
    folds = np.unique(np.linspace(0, n - 1, min(n, MAX_CV_FOLDS)).round().astype(int))
    max_k = max(grid_k)
    totals = np.zeros((len(grid_k), len(grid_noise), len(grid_w)))
    cases = 0
    for i in folds:
        keep = np.ones(len(rows), dtype=bool)
        keep[[i, i + n]] = False
        mean, components, variances = principal_components(rows[keep], max_k)
        k_available = components.shape[0]
        truth = depths[i]
        face = np.isfinite(truth)
        truth_d = truth[domain]
        mirror_d = truth[:, ::-1][domain]
        design_all = np.column_stack([np.ones(domain.sum()), components.T])
        # normal equations over the whole face once; each mask then removes its hidden rows
        face_d = face[domain]
        a_face = design_all[face_d]
        y_face = truth_d[face_d] - mean[face_d]
        gram_face, rhs_face = a_face.T @ a_face, a_face.T @ y_face
        for family in families:
            rng = np.random.default_rng([seed, int(i), families.index(family)])
            hidden = make_mask(family, face, rng)
            observed = (face & ~hidden)[domain]
            mirrored = (~(face & ~hidden) & (face & ~hidden)[:, ::-1])[domain] & np.isfinite(mirror_d)
            target = (hidden & face)[domain]
            if not target.any() or observed.sum() < 10:
                continue
            cases += 1
            a_mir, a_t = design_all[mirrored], design_all[target]
            y_mir = mirror_d[mirrored] - mean[mirrored]
            y_t = truth_d[target] - mean[target]
            # observed = face minus hidden face (the target)
            gram_obs, rhs_obs = gram_face - a_t.T @ a_t, rhs_face - a_t.T @ y_t
            gram_mir, rhs_mir = a_mir.T @ a_mir, a_mir.T @ y_mir
            noise_squared = np.asarray(grid_noise) ** 2
            for wi, w in enumerate(grid_w):
                gram_w = gram_obs + w * gram_mir
                rhs_w = rhs_obs + w * rhs_mir
                for ki, k in enumerate(grid_k):
                    k = min(k, k_available)
                    # one system per noise level, solved together
                    penalty = np.empty((len(grid_noise), k + 1))
                    penalty[:, 0] = 1e-6
                    penalty[:, 1:] = noise_squared[:, None] / variances[None, :k]
                    systems = np.repeat(gram_w[None, : k + 1, : k + 1], len(grid_noise), axis=0)
                    systems[:, np.arange(k + 1), np.arange(k + 1)] += penalty
                    coef = np.linalg.solve(systems, np.broadcast_to(rhs_w[: k + 1], (len(grid_noise), k + 1))[..., None])
                    predictions = a_t[:, : k + 1] @ coef[..., 0].T
                    totals[ki, :, wi] += np.abs(predictions - y_t[:, None]).mean(axis=0)
    return totals / max(cases, 1)
