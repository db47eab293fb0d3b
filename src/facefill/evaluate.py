"""The evaluation protocol (``../shared/PROTOCOL.md``): masks, metrics, baselines, the leave-one-out run.

Every method, baselines included, is scored in the same run on the same
masks: leave one complete face out, train on the others, hide parts of the
held-out face with seeded masks of eight families, reconstruct, and compare
with the truth.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .baselines import BASELINES, DEFAULT_METHODS, resolve_methods
from .checks import check_missing_value, stack_images, whole_number
from .depth import default_missing_value, missing_mask
from .errors import InvalidParameterError
from .masks import FAMILIES, check_family, make_mask, mask_rng
from .model import FaceModel
from .pretrained import renders_like

METRICS = ("mae", "rmse", "iou", "changed", "observed_changed", "ms")
#: Prior settings of the models of a run without ``auto``: fixed, as nothing scored uses them.
UNTUNED_PRIOR = {"n_components": 0, "noise": 1.0, "mirror_weight": 0.0}
__all__ = ["BASELINES", "DEFAULT_METHODS", "FAMILIES", "Evaluation", "evaluate", "make_mask", "mask_rng", "score"]

# --------------------------------------------------------------- metrics
def score(
    truth: np.ndarray, given: np.ndarray, output: np.ndarray, hidden: np.ndarray, missing_value: float
) -> dict[str, float]:
    """PROTOCOL.md's metrics of one reconstruction.

    Parameters
    ----------
    truth : (H, W) ndarray
        The complete face.
    given : (H, W) ndarray
        What the method was given: ``truth`` with ``hidden`` set missing.
    output : (H, W) ndarray
        What the method returned.
    hidden : (H, W) bool ndarray
        The pixels the mask hid.
    missing_value : float

    Returns
    -------
    dict with ``mae`` and ``rmse`` (over hidden face pixels the method filled; NaN
    if none), ``iou`` (inside ``hidden``, of filled against truth face; 1 if both
    are empty), ``changed`` (pixels outside ``hidden`` that differ from ``given``:
    background painted outside the hidden area counts) and ``observed_changed``
    (pixels observed in ``given`` that differ: facefill's guarantee is 0).
    """
    truth_face = ~missing_mask(truth, missing_value)
    filled = ~missing_mask(output, missing_value)
    scored = hidden & truth_face & filled
    if scored.any():
        error = output[scored].astype(np.float64) - truth[scored].astype(np.float64)
        mae, rmse = float(np.abs(error).mean()), float(np.sqrt((error**2).mean()))
    else:
        mae = rmse = math.nan
    union = (hidden & (filled | truth_face)).sum()
    iou = float((hidden & filled & truth_face).sum() / union) if union else 1.0
    same = (output == given) | (missing_mask(output, missing_value) & missing_mask(given, missing_value))
    changed = int((~same & ~hidden).sum())
    observed_changed = int((~same & ~missing_mask(given, missing_value)).sum())
    return {"mae": mae, "rmse": rmse, "iou": iou, "changed": changed, "observed_changed": observed_changed}


# ----------------------------------------------------------------- runs
@dataclass
class Example:
    """One case kept for the report's pictures."""

    family: str
    face_index: int
    truth: np.ndarray
    given: np.ndarray
    hidden: np.ndarray
    outputs: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Evaluation:
    """Everything one ``evaluate`` run measured."""

    settings: dict
    cases: list[dict]
    skipped: dict[str, str]
    examples: list[Example]
    missing_value: float

    def summary(self) -> dict[str, dict[str, dict[str, float]]]:
        """Per method, per family and ``overall``: mean MAE, RMSE, IoU, ms and total changed pixels."""
        table: dict[str, dict[str, dict[str, float]]] = {}
        for method in self.settings["methods"]:
            rows = [c for c in self.cases if c["method"] == method]
            if not rows:
                continue
            table[method] = {}
            for family in (*self.settings["families"], "overall"):
                subset = rows if family == "overall" else [c for c in rows if c["family"] == family]
                if subset:
                    table[method][family] = _aggregate(subset)
        return table

    def to_json(self) -> dict:
        """Settings, skipped baselines, summary and every case, JSON-ready (NaN as null)."""
        return _nan_to_none(
            {"settings": self.settings, "skipped": self.skipped, "summary": self.summary(), "cases": self.cases}
        )


def _nan_to_none(value):
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _aggregate(rows: list[dict]) -> dict[str, float]:
    def mean(key):
        values = [r[key] for r in rows if not math.isnan(r[key])]
        return float(np.mean(values)) if values else math.nan

    return {
        "mae": mean("mae"),
        "rmse": mean("rmse"),
        "iou": mean("iou"),
        "changed": int(sum(r["changed"] for r in rows)),
        "observed_changed": int(sum(r["observed_changed"] for r in rows)),
        "ms": mean("ms"),
        "cases": len(rows),
    }


class _Case:
    """One held-out face hidden by one mask, reconstructed by every method."""

    def __init__(self, truth, face_index: int, family: str, mask_index: int, missing_value: float, seed: int):
        self.truth, self.missing_value = truth, missing_value
        self.keys = {"face": face_index, "family": family, "mask": mask_index}
        face = ~missing_mask(truth, missing_value)
        self.hidden = make_mask(family, face, mask_rng(seed, face_index, family, mask_index))
        self.given = truth.copy()
        self.given[self.hidden] = missing_value
        self.example = Example(family, face_index, truth, self.given, self.hidden)

    def run(self, model: FaceModel, methods: dict) -> list[dict]:
        """Each method's scores and time; its output is kept in ``example``."""
        rows = []
        for name, method in methods.items():
            start = time.perf_counter()
            output = model.reconstruct(self.given, method)
            elapsed = (time.perf_counter() - start) * 1000
            scores = score(self.truth, self.given, output, self.hidden, self.missing_value)
            rows.append({**self.keys, "method": name, **scores, "ms": elapsed})
            self.example.outputs[name] = output
        return rows


def evaluate(
    images: Sequence[np.ndarray] | np.ndarray,
    methods: Sequence[str] = DEFAULT_METHODS,
    families: Sequence[str] = FAMILIES,
    masks_per_face: int = 3,
    seed: int = 0,
    missing_value: float | None = None,
    examples_per_family: int = 2,
    on_case: Callable[[], None] | None = None,
    model: FaceModel | None = None,
    renders: int = 0,
) -> Evaluation:
    """Score methods by PROTOCOL.md's leave-one-out protocol on complete faces, or a given model
    on held-out faces.

    Parameters
    ----------
    images : sequence of (H, W) ndarray, or (N, H, W) ndarray
        Complete faces (N >= 2), one size and dtype.
    methods : sequence of str
        facefill methods and baselines (``seed``, ``telea``, ``ns``, ``biharmonic``).
    families : sequence of str
        Mask families, some of :data:`FAMILIES`.
    masks_per_face : int
        Masks per family per held-out face.
    seed : int
        Seed of the mask generators.
    missing_value : float, optional
        Defaults to the dtype's convention.
    examples_per_family : int
        How many cases per family keep their images for the report.
    on_case : callable, optional
        Called after each held-out face and mask (for a progress bar).
    model : FaceModel, optional
        A fitted model to score on every face of ``images`` (held-out faces,
        N >= 1), instead of leave-one-out; it must take their size and dtype.
    renders : int, default 0
        Faces rendered like each fold's training faces
        (``facefill.pretrained.renders_like``) and trained on beside them.

    Returns
    -------
    Evaluation
    """
    stack = stack_images(images)
    if len(stack) < 2 and model is None:
        raise InvalidParameterError(f"images holds {len(stack)} face; leave-one-out needs at least 2")
    for family in families:
        check_family(family)
    if not families:
        raise InvalidParameterError("families is empty; expected some of " + ", ".join(FAMILIES))
    whole_number("masks_per_face", masks_per_face)
    whole_number("seed", seed, minimum=0)
    whole_number("renders", renders, minimum=0)
    if model is not None:
        model.check_image(stack[0], "images")
        missing_value = model.missing_value_
    missing_value = check_missing_value(
        default_missing_value(stack.dtype) if missing_value is None else missing_value, stack.dtype
    )
    resolved, skipped = resolve_methods(methods)
    cases: list[dict] = []
    examples: list[Example] = []
    # only auto uses the shape prior: without it, no settings to cross-validate for each fold
    settings = {} if "auto" in resolved else UNTUNED_PRIOR
    given_model = model
    for held_out in range(len(stack)):
        if given_model is None:
            training = list(np.delete(stack, held_out, axis=0))
            if renders:
                training += renders_like(training, renders, missing_value, seed=held_out)
            model = FaceModel(**settings).fit(training, missing_value)
        for family in families:
            for mask_index in range(masks_per_face):
                keep = mask_index == 0 and held_out < examples_per_family
                case = _Case(stack[held_out], held_out, family, mask_index, missing_value, seed)
                cases.extend(case.run(model, resolved))
                if keep:
                    examples.append(case.example)
                if on_case is not None:
                    on_case()
    settings = {
        "faces": len(stack),
        "size": list(stack.shape[1:]),
        "dtype": str(stack.dtype),
        "methods": list(resolved),
        "families": list(families),
        "masks_per_face": masks_per_face,
        "seed": seed,
        "protocol": "leave-one-out" if given_model is None else f"a given model of {given_model.n_images_} faces",
        "renders": renders,
    }
    return Evaluation(settings, cases, skipped, examples, missing_value)
