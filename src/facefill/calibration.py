"""What a confidence value means: the chance that a filled pixel lies within a stated tolerance
of the truth, learned on held-out training faces.

Every method rates its filled pixels with an uncertainty score (``Filled.uncertainty``:
``auto``'s grows from its border into the prior's spread, the rules' is the distance to the
observed pixels). At training, up to :data:`CALIBRATION_FOLDS` faces are held out in turn,
each hidden by one mask of every hole family and filled by every method with a prior learned
without it; the share of the filled pixels within the tolerance of the truth is learned as a
non-increasing function of the score (binned by quantiles, then made monotone by pooling
adjacent violators). A pixel's confidence is that share at its score: of the pixels filled with
confidence 0.8, about 80 % are within the tolerance (``benchmarks/confidence_calibration.py``
checks this on faces held out of the training altogether).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np

from .errors import InvalidParameterError
from .fill import METHODS
from .frame import FaceFrame
from .masks import FAMILIES, make_mask, mask_rng
from .prior import PCAPrior
from .tuning import MIN_OBSERVED, held_out_folds

#: Held-out faces the calibration fills (evenly spread over the training sample).
CALIBRATION_FOLDS = 10
#: Quantile bins of the uncertainty score per method (fewer where there are fewer pixels).
SCORE_BINS = 24
#: Fewest filled pixels per bin: a share of fewer is noise.
MIN_BIN_PIXELS = 30
#: Seed of the calibration's masks; the cross-validation of the settings uses seed 0, so the
#: confidence is learned on other holes than the settings were chosen on.
CALIBRATION_SEED = 1
#: Without a stated tolerance, it is the held-out median absolute error of ``auto``'s fill, rounded
#: up to one of these times a power of ten, so that the confidences spread over the whole range.
ROUND_STEPS = (1.0, 2.0, 5.0)


@dataclass(frozen=True)
class Calibration:
    """The tolerance (image units) and, per method name, the uncertainty scores (increasing) at
    which the chance of a fill within the tolerance is known (non-increasing)."""

    tolerance: float
    curves: dict[str, tuple[np.ndarray, np.ndarray]]

    def check(self, method: str) -> None:
        """``InvalidParameterError`` unless ``method``'s uncertainty was calibrated."""
        if method not in self.curves:
            raise InvalidParameterError(
                f"method {method!r} has no calibrated confidence in this model; "
                f"calibrated: {', '.join(self.curves) or 'none'}"
            )

    def confidence(self, method: str, uncertainty: np.ndarray) -> np.ndarray:
        """The chance, per pixel, that ``method``'s fill with this ``uncertainty`` is within the tolerance."""
        self.check(method)
        scores, chances = self.curves[method]
        # a score the method could not give (NaN) is taken as the least sure
        return np.interp(np.nan_to_num(uncertainty, nan=np.inf), scores, chances)

    def to_json(self) -> str:
        return json.dumps(
            {"tolerance": self.tolerance, "curves": {name: [s.tolist(), c.tolist()] for name, (s, c) in self.curves.items()}}
        )

    @classmethod
    def from_json(cls, text: str) -> "Calibration":
        """The calibration a model file holds; ``ValueError``/``TypeError`` if it is damaged."""
        fields = json.loads(text)
        tolerance = float(fields["tolerance"])
        if not (math.isfinite(tolerance) and tolerance > 0):
            raise ValueError(f"calibration tolerance {tolerance} is not a positive number")
        curves = {}
        for name, (scores, chances) in dict(fields["curves"]).items():
            scores, chances = np.asarray(scores, dtype=np.float64), np.asarray(chances, dtype=np.float64)
            if (
                scores.ndim != 1
                or scores.shape != chances.shape
                or not scores.size
                or not np.isfinite(scores).all()
                or np.any(np.diff(scores) <= 0)
                or not (np.all(chances >= 0) and np.all(chances <= 1))
            ):
                raise ValueError(f"calibration curve of {name!r} is damaged")
            curves[str(name)] = (scores, chances)
        return cls(tolerance, curves)


def calibrate(
    sample: np.ndarray,
    sample_rows: np.ndarray,
    frame: FaceFrame,
    prior: PCAPrior,
    tolerance: float | None = None,
    integer: bool = False,
    on_fold=None,
    borrowed=None,
) -> Calibration | None:
    """Learn what every registered method's uncertainty means on held-out faces of ``sample``
    ((N, H, W), NaN background; ``sample_rows`` as for ``tuning.choose_settings``), filled in
    ``frame`` with priors made like ``prior``. ``tolerance`` (image units) defaults to a round
    number near ``auto``'s median error (at least 1 for ``integer`` images, whose fills are
    scored as written: rounded). None with fewer than 3 faces (nothing to hold out).
    ``on_fold`` and ``borrowed`` (with the chosen share) as for ``tuning.choose_settings``.

    The held-out face is part of ``frame`` (its average face and outline); its prior is not.
    """
    if len(sample) < 3:
        return None
    scores: dict[str, list] = {name: [] for name in METHODS}
    errors: dict[str, list] = {name: [] for name in METHODS}
    for i, fold in held_out_folds(sample, sample_rows, prior, prior.n_components, CALIBRATION_FOLDS, on_fold, borrowed):
        truth = sample[i]
        face = np.isfinite(truth)
        for family in FAMILIES:
            hidden = make_mask(family, face, mask_rng(CALIBRATION_SEED, i, family, 0)) & face
            if (face & ~hidden).sum() < MIN_OBSERVED:
                continue
            given = np.where(hidden, np.nan, truth)
            unknown = ~np.isfinite(given)
            for name, method in METHODS.items():
                filled = method.run(given, unknown, frame, fold)
                uncertainty = filled.uncertainty()
                scored = hidden & np.isfinite(filled.values) & np.isfinite(uncertainty)
                values = np.round(filled.values[scored]) if integer else filled.values[scored]
                scores[name].append(uncertainty[scored])
                errors[name].append(np.abs(values - truth[scored]))
    errors = {name: np.concatenate([np.zeros(0), *values]) for name, values in errors.items()}
    if tolerance is None:
        tolerance = round_up(float(np.median(errors["auto"]))) if errors["auto"].size else prior.depth_scale
        tolerance = max(tolerance, 1.0) if integer else tolerance
    curves = {}
    for name in METHODS:
        curve = _curve(np.concatenate([np.zeros(0), *scores[name]]), errors[name] <= tolerance)
        if curve is not None:
            curves[name] = curve
    return Calibration(float(tolerance), curves)


def round_up(value: float) -> float:
    """The least of 1, 2 or 5 times a power of ten that is at least ``value`` (> 0)."""
    if not value > 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return next((step * power for step in ROUND_STEPS if step * power >= value * (1 - 1e-9)), 10 * power)


def _curve(score: np.ndarray, within: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """Knots (the bins' median scores, increasing) and the non-increasing share within at each;
    None for too few pixels."""
    bins = min(SCORE_BINS, len(score) // MIN_BIN_PIXELS)
    if bins < 1:
        return None
    order = np.argsort(score, kind="stable")
    groups = np.array_split(order, bins)
    knots = np.array([np.median(score[g]) for g in groups])
    shares = np.array([within[g].mean() for g in groups])
    sizes = np.array([len(g) for g in groups], dtype=np.float64)
    shares = _non_increasing(shares, sizes)
    # equal knots (ties in the score) merge: np.interp needs them increasing
    knots, first = np.unique(knots, return_index=True)
    return knots, shares[first]


def _non_increasing(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The weighted least-squares non-increasing fit to ``values`` (pool adjacent violators)."""
    blocks: list[list[float]] = []  # [value, weight, count]
    for value, weight in zip(values, weights):
        blocks.append([float(value), float(weight), 1])
        while len(blocks) > 1 and blocks[-2][0] < blocks[-1][0]:
            v2, w2, n2 = blocks.pop()
            v1, w1, n1 = blocks.pop()
            blocks.append([(v1 * w1 + v2 * w2) / (w1 + w2), w1 + w2, n1 + n2])
    return np.repeat([b[0] for b in blocks], [b[2] for b in blocks])
