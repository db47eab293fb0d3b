"""Choosing the PCA prior's settings by cross-validation on the training faces.

For up to :data:`MAX_CV_FOLDS` faces of the training sample, the prior is
learned again without the face and its mirror image, the face is hidden with a
mask of every protocol family, and each setting (components, noise, mirror
weight) fills the hidden face pixels as ``auto`` does: the prior's fit
(:meth:`PCAPrior.fit`'s evidence, weights, normal equations, ridge and fade)
bent onto the border by auto's blend. The settings with the lowest mean
absolute error win. (Scored on the prior's fit alone, they favoured a prior
that follows the border closely, which the blend already does: ``auto``
filled the sample at 1.47 levels MAE overall, against 1.39.)
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from .fill.auto import BORDER_SMOOTHING_GRID, OneBlasThread, blend, border_depth, thickness_share
from .fill.occluders import RIM_GUARD, ridges
from .frame import REFERENCE_FACE_WIDTH, face_width, mirror, nearer_direction
from .masks import LARGE_FAMILIES, make_mask, mask_rng
from .prior import PCAPrior
from .prior.gappy import normal_equations, ridge_penalty
from .prior.learn import MAX_COMPONENTS
from .prior.pca import BorrowedVariation, principal_components

COMPONENT_GRID = (0, 1, 2, 4, 6, 8, 12, 16, 24, 32, 48, MAX_COMPONENTS)
NOISE_GRID = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # times the depth scale
MIRROR_WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0)
#: Held-out faces of the cross-validation (evenly spread over the sample).
MAX_CV_FOLDS = 20
#: Fewest observed domain pixels a masked face must keep to be a case: fewer say nothing of its shape.
MIN_OBSERVED = 10
#: The mirror weight of a prior whose weight is neither given nor cross-validated (too few faces).
FALLBACK_MIRROR_WEIGHT = 0.5
#: The border smoothing (``fill.auto.border_depth``) is chosen on these holes, where the border
#: alone fills: the large holes barely tell the widths apart and may mislead. Leave-one-out
#: over the training faces, at the best large-hole settings, on the sample faces / 40 rendered
#: 16-bit faces (noise 0.8 mm) / 40 noiseless float32 renders: these families chose 1.25 / 2 /
#: 0 px, the large ones 1.25 / 1.5 / 1.25 px (where smoothing cost the noiseless renders'
#: speckle 40 % and blobs 2 %, held out).
SMOOTHING_FAMILIES = ("speckle", "scratches")
#: The border smoothing of a prior whose smoothing is neither given nor cross-validated: none,
#: which leaves a noiseless face's detail at the border as it is.
FALLBACK_BORDER_SMOOTHING = 0.0
#: Held-out faces whose residuals give the residual statistics (evenly spread over the sample).
SPREAD_FOLDS = 10
#: Shares of the prior's covariance that rendered faces may make up (``train --renders``): on
#: leave-one-out runs of the sample faces a share of 0.5 or more was worse than none.
RENDER_SHARE_GRID = (0.0, 0.1, 0.25)
#: Renders lend their variation only when the cross-validation finds a share better than none by
#: at least this many standard errors of the paired difference over its cases (each share at its
#: own best setting): it picks the best of many settings, and with renders more of them, so it is
#: optimistic for them. Session 22, the sample faces in 5 folds of 4 (16 faces and 200 renders
#: each, three masks a family): choosing by the error alone took a share of 0.25 in 4 folds, its
#: gain 0.9-1.8 standard errors, and each of those folds filled its held-out faces worse (the
#: eight families 1.011 -> 1.041 levels; every fixed share was worse too: 0.1 1.020, 0.25 1.036).
#: Renders made anew without each held-out face halved the gain, but it still took them. On 20
#: rendered 16-bit faces (4 folds of 5) the gains were 4-8 standard errors, and held out the
#: renders did help (1.295 -> 1.134 mm): this rule keeps them there.
SHARE_SIGNIFICANCE = 2.0


def choose_settings(
    sample,
    sample_rows,
    like: PCAPrior,
    n_components,
    noise,
    mirror_weight,
    border_smoothing="auto",
    families=None,
    seed=0,
    on_fold=None,
    borrowed: BorrowedVariation | None = None,
    render_share="auto",
) -> dict:
    """The fit settings: each given one as it is, each ``"auto"`` one cross-validated.

    Parameters
    ----------
    sample : (N, H, W) ndarray
        The training sample, NaN background.
    sample_rows : (2N, p) ndarray
        The sample and its mirror images over the domain, gaps filled (EM-PCA).
    like : PCAPrior
        The prior learned from all faces: each fold's prior is made like it
        (domain, symmetric outline, reaches), from the sample without the held-out face.
    n_components, noise, mirror_weight, border_smoothing : int, float or "auto"
    families : tuple of str, optional
        Mask families that hide the held-out faces (default: the protocol's large holes; the
        border smoothing is chosen on :data:`SMOOTHING_FAMILIES`).
    seed : int
        Seed of the masks.
    on_fold : callable, optional
        Called with (folds done, folds in all) first and after each held-out face (for progress).
    borrowed : BorrowedVariation, optional
        How rendered faces vary, to lend each fold's prior (:func:`fold_prior`).
    render_share : float or "auto"
        The share of the prior's covariance taken from ``borrowed`` (ignored without it);
        ``"auto"``: the best share of :data:`RENDER_SHARE_GRID` among none and those that beat
        none clearly (:data:`SHARE_SIGNIFICANCE`).

    Returns
    -------
    dict of ``n_components``, ``noise``, ``mirror_weight``, ``border_smoothing``, ``render_share`` (0 without
    ``borrowed``) and ``cv_error`` (the chosen settings' mean absolute error, NaN if not
    cross-validated: fewer than 3 faces, or nothing left to choose).
    """
    families = LARGE_FAMILIES if families is None else families
    depth_scale = like.depth_scale
    # borrowed variation adds directions the sample alone does not have
    k_available = len(like.components) if borrowed is None else MAX_COMPONENTS
    if borrowed is None:
        render_share = 0.0
    settings = (n_components, noise, mirror_weight, border_smoothing, render_share)
    chosen_k, chosen_noise, chosen_weight, chosen_smoothing, chosen_share = settings
    cv_error = float("nan")
    if "auto" in settings and len(sample) >= 3:
        grid_k = [k for k in COMPONENT_GRID if k <= k_available] if n_components == "auto" else [int(n_components)]
        grid_noise = [depth_scale * g for g in NOISE_GRID] if noise == "auto" else [float(noise)]
        grid_w = list(MIRROR_WEIGHT_GRID) if mirror_weight == "auto" else [float(mirror_weight)]
        grid_smoothing = list(BORDER_SMOOTHING_GRID) if border_smoothing == "auto" else [float(border_smoothing)]
        grid_share = list(RENDER_SHARE_GRID) if render_share == "auto" else [float(render_share)]
        grids = (grid_k, grid_noise, grid_w, grid_smoothing)
        groups = (families, SMOOTHING_FAMILIES) if len(grid_smoothing) > 1 else (families,)
        one_thread = OneBlasThread()  # small systems, as in auto: more threads only slow them
        scores = np.empty((len(grid_share), len(groups), *map(len, grids)))
        # per share, each large-hole case's errors: to tell whether the renders help (one share: no question)
        case_errors = [[] for _ in grid_share] if len(grid_share) > 1 else [None]
        with one_thread():
            for si, share in enumerate(grid_share):
                lent = None if borrowed is None else borrowed.with_share(share)
                counted = None if on_fold is None else _counted(on_fold, si, len(grid_share))
                scores[si] = cross_validate(sample, sample_rows, like, grids, groups, seed, counted, lent, case_errors[si])
        errors = scores[:, 0]
        if len(groups) > 1:  # the smoothing that fills the thin holes best; the rest for the others
            thin_errors = np.nanmin(scores[:, 1].reshape(-1, len(grid_smoothing)), axis=0)
            errors = np.where(np.arange(len(grid_smoothing)) == np.nanargmin(thin_errors), errors, np.nan)
        if len(grid_share) > 1:  # a share of the renders only where they help clearly
            errors = np.where(_shares_that_help(errors, np.array(case_errors)).reshape(-1, *[1] * len(grids)), errors, np.nan)
        best = np.unravel_index(np.nanargmin(errors), errors.shape)
        chosen_share = grid_share[best[0]]
        chosen_k, chosen_noise, chosen_weight = grid_k[best[1]], grid_noise[best[2]], grid_w[best[3]]
        chosen_smoothing = grid_smoothing[best[4]]
        cv_error = float(errors[best])
    return {
        "n_components": min(int(chosen_k if chosen_k != "auto" else 0), k_available),
        "noise": float(chosen_noise if chosen_noise != "auto" else depth_scale),
        "mirror_weight": float(chosen_weight if chosen_weight != "auto" else FALLBACK_MIRROR_WEIGHT),
        "border_smoothing": float(chosen_smoothing if chosen_smoothing != "auto" else FALLBACK_BORDER_SMOOTHING),
        "render_share": float(chosen_share if chosen_share != "auto" else 0.0),
        "cv_error": cv_error,
    }


def _shares_that_help(errors: np.ndarray, case_errors: np.ndarray) -> np.ndarray:
    """Which render shares may be chosen: none (the first), and each whose cases' errors at its
    best setting beat none's at its own by :data:`SHARE_SIGNIFICANCE` standard errors.

    ``errors``: (shares, *settings) mean errors (NaN: a setting not to choose); ``case_errors``:
    (shares, cases, *settings), each case's errors.
    """
    flat_cases = case_errors.reshape(*case_errors.shape[:2], -1)
    at_best = np.array([cases[:, np.nanargmin(share_errors)] for cases, share_errors in zip(flat_cases, errors)])
    gains = at_best[0] - at_best[1:]  # (shares - 1, cases): how much each share lowers each case's error
    count = gains.shape[1]
    if count < 2:
        return np.arange(len(errors)) == 0
    standard_errors = gains.std(axis=1, ddof=1) / np.sqrt(count)
    return np.concatenate([[True], gains.mean(axis=1) > SHARE_SIGNIFICANCE * standard_errors])


def _counted(on_fold, part: int, parts: int):
    """``on_fold`` for the ``part``-th of ``parts`` equal runs of folds: counts on over them all."""
    return lambda done, total: on_fold(part * total + done, parts * total)


def cross_validate(depths, rows, like: PCAPrior, grids, groups, seed, on_fold=None, borrowed=None, first_group_cases=None) -> np.ndarray:
    """Mean absolute error on hidden face pixels for every (k, noise, mirror weight, border
    smoothing) setting of ``grids`` (four sequences), over the masks of each of ``groups``
    (sequences of mask families): shape ``(len(groups), *map(len, grids))``. Each case's errors
    of the first group are also appended to the list ``first_group_cases``, if given.

    For each held-out face the prior is learned again without it and its
    mirror image (lent ``borrowed``'s variation, if given); each mask hides
    part of it, and every setting fills the hidden face pixels as ``auto``
    does (:func:`setting_errors`), so the settings are chosen for the fill
    that reconstruction runs.
    """
    totals = np.zeros((len(groups), *map(len, grids)))
    cases = np.zeros(len(groups))
    for i, fold in held_out_folds(depths, rows, like, max(grids[0]), MAX_CV_FOLDS, on_fold, borrowed):
        truth = depths[i]
        face = np.isfinite(truth)
        for group, families in enumerate(groups):
            for family in families:
                hidden = make_mask(family, face, mask_rng(seed, i, family, 0))
                target = hidden & face
                if not target.any() or (face & ~hidden & like.domain).sum() < MIN_OBSERVED:
                    continue
                cases[group] += 1
                errors = setting_errors(fold, np.where(hidden, np.nan, truth), truth, target, *grids)
                totals[group] += errors
                if group == 0 and first_group_cases is not None:
                    first_group_cases.append(errors)
    return totals / np.maximum(cases, 1).reshape(-1, *[1] * len(grids))


def held_out_folds(depths, rows, like: PCAPrior, max_components: int, count: int, on_fold=None, borrowed=None):
    """For up to ``count`` faces of ``depths`` (evenly spread): ``(i, prior)``, the prior learned
    from ``rows`` without face ``i`` and its mirror image (see :func:`fold_prior`). ``on_fold``,
    if given, is called with (folds done, folds in all) first and as the caller asks for the
    next fold."""
    n = len(depths)
    held_out = np.unique(np.linspace(0, n - 1, min(n, count)).round().astype(int))
    if on_fold is not None:
        on_fold(0, len(held_out))
    for done, i in enumerate(held_out):
        keep = np.ones(len(rows), dtype=bool)
        keep[[i, i + n]] = False
        yield int(i), fold_prior(rows[keep], like, max_components, borrowed)
        if on_fold is not None:
            on_fold(done + 1, len(held_out))


def fold_prior(rows: np.ndarray, like: PCAPrior, max_components: int, borrowed: BorrowedVariation | None = None) -> PCAPrior:
    """A prior of ``rows`` (faces over ``like``'s domain, gaps filled) made like ``like``, its
    covariance pooled with ``borrowed``'s if given."""
    if borrowed is None:
        mean, components, variances = principal_components(rows, max_components)
    else:
        mean, components, variances = borrowed.components(rows, max_components)
    mean_face = np.full(like.domain.shape, np.nan)
    mean_face[like.domain] = mean
    grid = np.zeros((len(components), *like.domain.shape), dtype=np.float32)
    grid[:, like.domain] = components
    return replace(like, mean=mean_face, components=grid, variances=variances, n_components=len(components))


def setting_errors(prior: PCAPrior, depth, truth, target, grid_k, grid_noise, grid_w, grid_smoothing=(0.0,)) -> np.ndarray:
    """Mean absolute error at the ``target`` pixels of ``prior``'s fit to ``depth`` (NaN where
    missing), blended as auto blends it, for every (k, noise, mirror weight, border smoothing)
    setting.

    Both steps are linear, which makes every setting cheap once the hole's
    operators are known:

    - the fit's weights are linear in the mirror weight (observed evidence
      weighs its nearness, mirrored evidence the mirror weight times it): the
      normal equations of the observed and of the mirrored evidence are formed
      once and combined per mirror weight; the noise levels are solved together;
    - the prediction is ``mean + A @ theta`` (``A``: a column of ones for the
      offset, then the faded components) and the blend is linear in its
      residuals and in the prediction's detail, so the filled face is
      ``mean + blend(data) + (A - blend(A)) @ theta`` less the dropped share of
      the detail of ``mean + A @ theta``: the blend is solved once per mirror
      weight for the data, the mean face and each column of ``A``, at the
      pixels it reads; for the data once per border smoothing (the smoothed
      border is linear in the data, and nothing else reads it).
    """
    evidence = prior.evidence(depth, with_mirror=True)
    design = prior.design(evidence.pixels)
    values = evidence.values - prior.mean.ravel()[evidence.pixels]
    gram_observed, rhs_observed = normal_equations(design, values, np.where(evidence.observed, evidence.nearness, 0.0))
    gram_mirrored, rhs_mirrored = normal_equations(design, values, np.where(evidence.observed, 0.0, evidence.nearness))
    k_available = min(max(grid_k), len(prior.components))
    observed, mirrored = np.isfinite(depth), mirror(depth)
    fade = prior.fade(evidence.distance)
    scale = face_width(observed) / REFERENCE_FACE_WIDTH
    offset = float(depth[observed].mean())
    # the share of the prediction's fine detail the fill drops at each target pixel
    share = thickness_share(target, observed, scale)
    dropped = 1 - share[target]

    def columns(rows, cols):
        """(k + 1, p) the prediction's columns at pixels: the offset's, then the faded components'."""
        return np.concatenate([np.ones((1, len(rows))), prior.components[:k_available, rows, cols] * fade[rows, cols]])

    target_columns = columns(*np.nonzero(target))
    truth_offset = truth[target] - prior.mean[target]
    errors = np.zeros((len(grid_k), len(grid_noise), len(grid_w), len(grid_smoothing)))
    for wi, weight in enumerate(grid_w):
        gram, rhs = gram_observed + weight * gram_mirrored, rhs_observed + weight * rhs_mirrored
        blending = blend(target, observed, np.isfinite(mirrored), weight, scale, share)
        known, soft = blending.known_pixels, blending.soft_pixels
        on_target = target[blending.ys, blending.xs]  # the target pixels among the solved ones
        # residuals (observed minus predicted, 0 on the background the blend holds) and soft
        # evidence, for the data (minus the mean face) and for each column of the prediction
        is_observed = observed[known]
        if wi == 0:  # every mirror weight's blend reads the same pixels
            borders = np.stack([border_depth(depth, blending, width * scale)[known] for width in grid_smoothing])
        data_known = np.where(is_observed, borders - prior.mean[known], 0.0)  # (smoothings, K)
        soft_data = np.broadcast_to(mirrored[soft] - prior.mean[soft], (len(grid_smoothing), len(soft[0])))
        data_correction = blending.solve_values(data_known, soft_data)[:, on_target]
        column_correction = blending.solve_values(columns(*known) * is_observed, columns(*soft))[:, on_target]
        # the prediction's detail (itself less its smooth fill from the border), for the mean face
        # (less the offset) and for each column
        shifted_mean = np.where(np.isfinite(prior.mean), prior.mean - offset, 0.0)  # as the fill shifts it
        mean_smooth = blending.solve_values(shifted_mean[known][None], shifted_mean[soft][None])[0][on_target]
        column_smooth = blending.solve_values(columns(*known), columns(*soft))[:, on_target]
        mean_detail = shifted_mean[target] - mean_smooth
        column_detail = (target_columns - column_smooth).T
        # filled - mean at the target pixels (row-major) = data_correction + effect @ theta
        data_correction = data_correction - dropped * mean_detail  # (smoothings, targets)
        effect = (target_columns - column_correction).T - dropped[:, None] * column_detail  # (targets, k + 1)
        for ki, k in enumerate(grid_k):
            k = min(k, k_available)
            systems = np.repeat(gram[None, : k + 1, : k + 1], len(grid_noise), axis=0)
            for ni, noise in enumerate(grid_noise):
                systems[ni][np.diag_indices(k + 1)] += ridge_penalty(prior.variances[:k], noise)
            right = np.broadcast_to(rhs[: k + 1], (len(grid_noise), k + 1))[..., None]
            solutions = np.linalg.solve(systems, right)[..., 0]  # (noise, k + 1)
            misfit = effect[:, : k + 1] @ solutions.T - truth_offset[:, None]  # less the data's correction
            for mi, correction in enumerate(data_correction):
                errors[ki, :, wi, mi] = np.abs(misfit + correction[:, None]).mean(axis=0)
    return errors


def residual_statistics(sample: np.ndarray, sample_rows: np.ndarray, prior: PCAPrior, on_fold=None, borrowed=None) -> dict:
    """How far new faces stray from ``prior``'s fit to them, learned on held-out faces of the
    ``sample`` (each fitted by a prior learned without it, with ``prior``'s settings): what
    occluder detection (``facefill.fill.occluders``) measures an occluder against.

    Returns a dict of ``residual_spread`` (the robust spread, 1.4826 times the median absolute
    deviation, of their depth about the fit, away from their outlines: see
    ``fill.occluders.RIM_GUARD``; there the prior's misfit is the outline's), ``ridge_spread``
    ((H, W) float32: the root mean square, at each pixel, of the thin structures nearer than
    their surroundings the faces have there, ``fill.occluders.ridges``) and ``local_spread``
    ((H, W) float32: the root mean square of their depth about the fit at each pixel); both maps
    spread by a pixel, as faces' features move by that much.
    ``sample``, ``sample_rows`` and ``borrowed`` (with the chosen share) are as for
    :func:`choose_settings`; with fewer than 3 faces, the depth scale and maps of zeros. ``on_fold``
    as for :func:`choose_settings`.
    """
    n = len(sample)
    shape = prior.domain.shape
    if n < 3:
        return {"residual_spread": prior.depth_scale, "ridge_spread": np.zeros(shape, dtype=np.float32), "local_spread": np.zeros(shape, dtype=np.float32)}
    nearer = nearer_direction(prior.mean, prior.symmetric_outline)
    residuals, ridge_sum, squares_sum, count = [], np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i, fold in held_out_folds(sample, sample_rows, prior, prior.n_components, SPREAD_FOLDS, on_fold, borrowed):
        face = sample[i]
        observed = np.isfinite(face)
        scale = face_width(observed) / REFERENCE_FACE_WIDTH
        inner = observed & (ndimage.distance_transform_edt(observed) > RIM_GUARD * scale)
        standing_out = nearer * (face - fold.fit(face).prediction)
        residuals.append(standing_out[inner])
        ridge_sum += np.where(observed, ridges(standing_out, scale) ** 2, 0.0)
        squares_sum += np.where(observed, standing_out**2, 0.0)
        count += observed
    values = np.concatenate(residuals)
    spread = 1.4826 * float(np.median(np.abs(values - np.median(values)))) if values.size else 0.0

    def root_mean_square(total):
        mean = np.divide(total, count, out=np.zeros(shape), where=count > 0)
        return ndimage.maximum_filter(np.sqrt(mean), size=3).astype(np.float32)

    return {
        "residual_spread": spread if spread > 0 else prior.depth_scale,
        "ridge_spread": root_mean_square(ridge_sum),
        "local_spread": root_mean_square(squares_sum),
    }
