"""The PCA shape prior and its gappy, regularised fit.

A new face is fitted from its observed pixels only (gappy PCA, Everson &
Sirovich 1995) by Bayesian ridge regression: coefficient ``k`` has prior
variance ``variances[k]``, the pixels have noise ``noise**2``, and a depth
offset is fitted freely. Mirrored observed pixels enter as extra evidence with
a lower weight; evidence near the hole weighs more; far from any evidence the
fitted shape fades into the mean face.

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

from ..frame import mirror

#: Prior precision of the depth offset (times the noise's): all but free, kept only to keep the
#: system solvable when there is no evidence of the offset.
OFFSET_PENALTY = 1e-6
#: Tukey's biweight: a residual this many spreads nearer than the fitted face gets no weight in
#: a robust fit (the constant that keeps 95 % efficiency for Gaussian noise).
TUKEY_CUTOFF = 4.685
#: A robust fit starts with a cutoff this many spreads, rising in ROBUST_RISE rounds to
#: TUKEY_CUTOFF, then ROBUST_SETTLE rounds more: started at TUKEY_CUTOFF from the plain fit, the
#: fit comes up under a large occluder a few spreads nearer (a hand 5-7 mm nearer on rendered
#: 16-bit faces, 1 mm spread) and keeps it; started this strict, it stays under it, and the
#: rising cutoff gives back the efficient fit's weights to the face around it (as an
#: MM-estimate starts from a highly robust one). Rendered 16-bit faces held out, 120 hands:
#: IoU 0.883 -> 0.908 (0.891 with the same number of rounds at TUKEY_CUTOFF throughout);
#: glasses 0.922 -> 0.914 (won back by ``fill.occluders.LOCAL_SPREAD_MARGIN``); sample faces
#: left out unchanged.
ROBUST_START = 2.0
ROBUST_RISE = 5
ROBUST_SETTLE = 3
#: Before the cutoff rises, the ROBUST_TRIM share of the pixels standing out most from a plain fit
#: get no weight (a trimmed start): a large hand only a few spreads nearer pulls the plain fit
#: up under it, and the strict cutoff alone then keeps what it was pulled to. Held out (session
#: 16; rendered 16-bit faces 3 folds of 20, sample faces 5 folds of 4, 2 of each occluder per
#: face): rendered hands' IoU 0.888 -> 0.906 and fill ratio 1.41 -> 1.30, the sample's 0.928 ->
#: 0.927 and 1.22 -> 1.22, glasses and strands within 0.01, the faces as they are flagged as
#: before. Trimming 10 %: no gain on hands; two trimmed rounds: 0.910 and 1.28 (not worth a fit).
#: Again on other held-out folds (session 17, 60 rendered faces with a model of 40 others): hands
#: 0.877 -> 0.885 and 1.36 -> 1.30; the sample faces, the other occluders and faces as they are unchanged.
ROBUST_TRIM = 0.2
#: Evidence far from the hole still weighs this much (against 1 next to it): it fixes the
#: face's overall shape where the nearby pixels cannot. Chosen on leave-one-out runs of the sample data.
LOCALITY_FLOOR = 0.05


@dataclass
class GappyFit:
    """The fitted coefficients and what is needed for predictions and their variance."""

    offset: float
    coefficients: np.ndarray
    precision_inverse: np.ndarray  # posterior covariance of (offset, coefficients) / noise**2


def normal_equations(design: np.ndarray, target: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted normal equations (gram, rhs) of ``target ~ offset + design @ coefficients``.

    Formed by blocks, without building the (m, k + 1) matrix ``[1, design]``: on
    one face the allocations cost more than the arithmetic. The sums are formed
    in ``design``'s precision (float32 is ample for depths).
    """
    k = design.shape[1]
    weighted = design * weights[:, None].astype(design.dtype)
    gram = np.empty((k + 1, k + 1))
    gram[0, 0] = weights.sum()
    gram[0, 1:] = gram[1:, 0] = weighted.sum(axis=0, dtype=np.float64)
    gram[1:, 1:] = design.T @ weighted
    rhs = np.empty(k + 1)
    rhs[0] = weights @ target
    rhs[1:] = weighted.T @ target.astype(design.dtype)
    return gram, rhs


def ridge_penalty(variances: np.ndarray, noise: float) -> np.ndarray:
    """The diagonal added to the gram matrix: the prior's precision of (offset, coefficients)."""
    penalty = np.empty(len(variances) + 1)
    penalty[0] = OFFSET_PENALTY
    penalty[1:] = noise**2 / variances
    return penalty


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
    gram, rhs = normal_equations(design, target, weights)
    gram[np.diag_indices(len(rhs))] += ridge_penalty(variances, noise)
    solution = np.linalg.solve(gram, rhs)
    return GappyFit(float(solution[0]), solution[1:], np.linalg.inv(gram))


@dataclass
class Evidence:
    """What a face offers the fit: the pixels with evidence, their values and weights, and how
    far each pixel of the frame is from any evidence (for the fade into the mean face)."""

    pixels: np.ndarray  # (m,) flat indices into the frame
    values: np.ndarray  # (m,) observed depth, or the mirrored depth where only the mirror is observed
    observed: np.ndarray  # (m,) bool: observed (weight 1) rather than mirrored (weight mirror_weight)
    nearness: np.ndarray  # (m,) weight for the pixel's nearness to the hole
    distance: np.ndarray  # (H, W) distance to the nearest observed or mirrored-observed pixel

    def weights(self, mirror_weight: float) -> np.ndarray:
        return np.where(self.observed, 1.0, mirror_weight) * self.nearness


@dataclass
class PCAPrior:
    """Mean face, principal components and the fit settings chosen by cross-validation.

    All arrays are in the face frame, where the mean face is symmetric about
    the frame's vertical centre line. A :class:`facefill.prior.Prior`.
    """

    mean: np.ndarray  # (H, W) mean face, extended beyond the domain by its nearest value
    components: np.ndarray  # (K, H, W) float32, zero outside the domain
    variances: np.ndarray  # (K,)
    domain: np.ndarray  # (H, W) bool: pixels where any training face (or its mirror) is face
    symmetric_outline: np.ndarray  # (H, W) bool: the frame's symmetric outline (where a hole's nearness counts)
    depth_scale: float  # typical spread of depth between faces (image units)
    n_components: int
    noise: float
    mirror_weight: float
    cv_error: float  # cross-validated MAE of the chosen settings (image units)
    reach: float  # pixels over which the fitted shape fades into the mean face away from evidence
    locality: float  # pixels over which evidence weighs less with its distance from the hole
    #: robust spread (1.4826 MAD) of held-out training faces' depth about the fit of a prior learned
    #: without them, away from their outlines (image units; NaN in models trained before it was learned)
    residual_spread: float = float("nan")
    #: (H, W) root mean square of what ``fill.occluders.ridges`` finds in held-out training faces at
    #: each pixel: their own thin structures (None in models trained before it was learned)
    ridge_spread: np.ndarray | None = None
    #: (H, W) root mean square, at each pixel, of held-out training faces' depth about the fit of a
    #: prior learned without them: where faces stray more than elsewhere (the nose's tip and
    #: nostrils). None in models trained before it was learned
    local_spread: np.ndarray | None = None
    #: share of the covariance lent by rendered faces (``prior.pca.BorrowedVariation``; 0: none)
    render_share: float = 0.0
    #: width (pixels of a face of the reference width) of the Gaussian weights with which ``auto``'s
    #: blend reads the observed pixels around a hole as the quadratic surface fitted to them, not as
    #: they are (``fill.auto.border_depth``); 0: as they are (and in models from before it was chosen)
    border_smoothing: float = 0.0

    @cached_property
    def _components_by_pixel(self) -> np.ndarray:
        """(H * W, n_components) float32: the components the fit uses, one row per pixel, so that
        gathering the evidence pixels reads contiguous rows."""
        k = self.n_components
        return np.ascontiguousarray(self.components[:k].reshape(k, self.domain.size).T)

    def __getstate__(self):  # the pixel-major copy is rebuilt where it is used
        state = dict(self.__dict__)
        state.pop("_components_by_pixel", None)
        return state

    def evidence(self, depth: np.ndarray, with_mirror: bool = True) -> Evidence:
        """The evidence ``depth`` (H, W, NaN where missing) offers, mirrored pixels included if ``with_mirror``."""
        observed = np.isfinite(depth) & self.domain
        mirrored = mirror(depth)
        evidence = observed.copy()
        if with_mirror:
            evidence |= np.isfinite(mirrored) & self.domain
        nearness = np.ones(int(evidence.sum()))
        # the pixels around the hole matter most for filling it: weight evidence by its nearness
        hole = ~np.isfinite(depth) & self.symmetric_outline
        if hole.any():
            near = ndimage.distance_transform_edt(~hole)[evidence]
            nearness = LOCALITY_FLOOR + np.exp(-near / self.locality)
        distance = ndimage.distance_transform_edt(~(np.isfinite(depth) | np.isfinite(mirrored)))
        values = np.where(observed, depth, mirrored)[evidence]
        return Evidence(np.flatnonzero(evidence), values, observed[evidence], nearness, distance)

    def fit(self, depth: np.ndarray) -> "PCAFit":
        """Fit the prior to a face in the frame (``depth`` (H, W), NaN where missing)."""
        evidence = self.evidence(depth, with_mirror=self.mirror_weight > 0)
        k = self.n_components
        design = self.design(evidence.pixels)
        target = evidence.values - self.mean.ravel()[evidence.pixels]
        gappy = gappy_fit(design, target, evidence.weights(self.mirror_weight), self.variances[:k], self.noise)
        return PCAFit(self.predict(gappy.offset, gappy.coefficients, evidence.distance), gappy, self)

    def robust_fit(self, depth: np.ndarray, nearer: float) -> "PCAFit":
        """Fit the prior to a face in the frame that may have something in front of it: pixels
        standing out towards the camera (``nearer``: +1 if nearer is larger, -1 if smaller) by
        many :attr:`residual_spread` lose their weight (Tukey's biweight, iteratively
        reweighted from a trimmed start (:data:`ROBUST_TRIM`), the cutoff rising from
        :data:`ROBUST_START` to :data:`TUKEY_CUTOFF`).
        Every observed pixel counts alike, wherever the holes are: the fit is of the whole
        face, not for filling a hole; and no mirrored evidence, which would carry an occluder
        across."""
        evidence = self.evidence(depth, with_mirror=False)
        k = self.n_components
        design = self.design(evidence.pixels)
        target = evidence.values - self.mean.ravel()[evidence.pixels]
        design64 = design.astype(np.float64)  # once, not in each of the reweighted rounds

        def standing_out(weights: np.ndarray) -> np.ndarray:
            fit = gappy_fit(design, target, weights, self.variances[:k], self.noise)
            return nearer * (target - fit.offset - design64 @ fit.coefficients)

        weights = _trimmed(standing_out(np.ones(len(target))), ROBUST_TRIM)
        cutoffs = np.r_[np.linspace(ROBUST_START, TUKEY_CUTOFF, ROBUST_RISE), np.full(ROBUST_SETTLE, TUKEY_CUTOFF)]
        for cutoff in cutoffs:
            u = np.clip(standing_out(weights), 0, None) / (cutoff * self.residual_spread)
            weights = np.where(u < 1, (1 - u**2) ** 2, 0.0)
        gappy = gappy_fit(design, target, weights, self.variances[:k], self.noise)
        return PCAFit(self.predict(gappy.offset, gappy.coefficients, evidence.distance), gappy, self)

    def design(self, pixels: np.ndarray) -> np.ndarray:
        """(m, n_components) float32: the fitted components at the flat ``pixels`` (float32 is
        ample for depths)."""
        return self._components_by_pixel[pixels]

    def predict(self, offset: float, coefficients: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """The (H, W) face that ``offset`` and ``coefficients`` describe, the fitted shape faded
        into the mean face with the ``distance`` from any evidence (:meth:`fade`)."""
        k = len(coefficients)
        # in the components' float32: upcasting the (k, H, W) stack would cost more than the product
        shape_term = coefficients.astype(np.float32) @ self.components[:k].reshape(k, self.domain.size)
        shape_term = shape_term.reshape(self.domain.shape).astype(np.float64)
        return self.mean + offset + shape_term * self.fade(distance)

    def fade(self, distance: np.ndarray) -> np.ndarray:
        """How much of the fitted shape is kept at ``distance`` (pixels) from any evidence: far from
        it the shape is extrapolation, worse than the mean face (on leave-one-out runs of the
        sample data)."""
        return np.exp(-distance / self.reach)


def _trimmed(standing_out: np.ndarray, share: float) -> np.ndarray:
    """Weights: 0 for the ``share`` of the values of ``standing_out`` that are largest, 1 for
    the rest."""
    if len(standing_out) == 0:
        return np.ones(0)
    return (standing_out < np.quantile(standing_out, 1.0 - share)).astype(np.float64)


@dataclass
class PCAFit:
    """The PCA prior fitted to one face: its prediction and its predictive spread."""

    prediction: np.ndarray
    gappy: GappyFit
    prior: PCAPrior

    def spread(self) -> np.ndarray:
        """Standard deviation of a new observation at each pixel of the frame."""
        prior = self.prior
        k = len(self.gappy.coefficients)
        basis = np.concatenate([np.ones((1, prior.domain.size)), prior.components[:k].reshape(k, prior.domain.size)], axis=0)
        spread = np.einsum("ip,ij,jp->p", basis, self.gappy.precision_inverse, basis)
        return (prior.noise * np.sqrt(1.0 + np.clip(spread, 0, None))).reshape(prior.domain.shape)
