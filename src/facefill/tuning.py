"""Choosing the PCA prior's settings by cross-validation on the training faces.

For up to :data:`MAX_CV_FOLDS` faces of the training sample, the prior is
refitted without the face and its mirror, the face is hidden with masks of
every protocol family, and the settings (components, noise, mirror weight)
with the lowest mean absolute error on the hidden face pixels win.
"""

from __future__ import annotations

import numpy as np

from ..frame import mirror
from ..masks import FAMILIES, make_mask
from .gappy import OFFSET_PENALTY
from .pca import principal_components

COMPONENT_GRID = (0, 1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64)
NOISE_GRID = (0.125, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # times the depth scale
MIRROR_WEIGHT_GRID = (0.0, 0.25, 0.5, 1.0)
#: Held-out faces of the cross-validation (evenly spread over the sample).
MAX_CV_FOLDS = 20
#: Fewest observed pixels a masked face must keep to be a case: fewer say nothing of its shape.
MIN_OBSERVED = 10
#: The mirror weight of a prior whose weight is neither given nor cross-validated (too few faces).
FALLBACK_MIRROR_WEIGHT = 0.5


def choose_settings(
    sample, sample_rows, domain, k_available, depth_scale, n_components, noise, mirror_weight, families=None, seed=0
) -> dict:
    """The fit settings: each given one as it is, each ``"auto"`` one cross-validated on the
    training ``sample`` (N, H, W; NaN background) and its gap-filled rows (2N, domain pixels),
    or a default when there are fewer than 3 faces. Returns ``n_components``, ``noise``,
    ``mirror_weight`` and ``cv_error`` (the chosen settings' error, NaN if not cross-validated)."""
    families = FAMILIES if families is None else families
    chosen_k, chosen_noise, chosen_weight = n_components, noise, mirror_weight
    cv_error = float("nan")
    if "auto" in (n_components, noise, mirror_weight) and len(sample) >= 3:
        grid_k = [k for k in COMPONENT_GRID if k <= k_available] if n_components == "auto" else [int(n_components)]
        grid_noise = [depth_scale * g for g in NOISE_GRID] if noise == "auto" else [float(noise)]
        grid_w = list(MIRROR_WEIGHT_GRID) if mirror_weight == "auto" else [float(mirror_weight)]
        errors = _cross_validate(sample, sample_rows, domain, grid_k, grid_noise, grid_w, families, seed)
        best = np.unravel_index(np.nanargmin(errors), errors.shape)
        chosen_k, chosen_noise, chosen_weight = grid_k[best[0]], grid_noise[best[1]], grid_w[best[2]]
        cv_error = float(errors[best])
    return {
        "n_components": min(int(chosen_k if chosen_k != "auto" else 0), k_available),
        "noise": float(chosen_noise if chosen_noise != "auto" else depth_scale),
        "mirror_weight": float(chosen_weight if chosen_weight != "auto" else FALLBACK_MIRROR_WEIGHT),
        "cv_error": cv_error,
    }


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
        mirror_d = mirror(truth)[domain]
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
            mirrored = (~(face & ~hidden) & mirror(face & ~hidden))[domain] & np.isfinite(mirror_d)
            target = (hidden & face)[domain]
            if not target.any() or observed.sum() < MIN_OBSERVED:
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
                    penalty[:, 0] = OFFSET_PENALTY
                    penalty[:, 1:] = noise_squared[:, None] / variances[None, :k]
                    systems = np.repeat(gram_w[None, : k + 1, : k + 1], len(grid_noise), axis=0)
                    systems[:, np.arange(k + 1), np.arange(k + 1)] += penalty
                    coef = np.linalg.solve(systems, np.broadcast_to(rhs_w[: k + 1], (len(grid_noise), k + 1))[..., None])
                    predictions = a_t[:, : k + 1] @ coef[..., 0].T
                    totals[ki, :, wi] += np.abs(predictions - y_t[:, None]).mean(axis=0)
    return totals / max(cases, 1)
