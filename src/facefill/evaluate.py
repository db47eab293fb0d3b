"""The evaluation protocol (``../shared/PROTOCOL.md``): masks, metrics, baselines, the leave-one-out run.

Every method, baselines included, is scored in the same run on the same
masks: leave one complete face out, train on the others, hide parts of the
held-out face with seeded masks of eight families, reconstruct, and compare
with the truth.

The ``occluders`` family paints a hand, glasses or hair strands in front of
the held-out face (``facefill.occlusions``, in the faces' millimetres as the
morphable face's fitted view says). Every method is given the painted pixels
as missing, as for the other families; ``auto`` is also given the painted
face itself and must find what covers it (:meth:`FaceModel.find_occluders`):
its detection (precision, recall, IoU against the painted pixels) and fill
are scored apart (:meth:`Evaluation.occluder_summary`), as is how much of the
faces as they are, with nothing painted, it takes for occluders.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from .baselines import BASELINES, DEFAULT_METHODS, resolve_methods
from .checks import check_missing_value, stack_images, whole_number
from .depth import default_missing_value, missing_mask, to_dtype
from .errors import InvalidParameterError
from .masks import EVALUATED_FAMILIES, FAMILIES, OCCLUDERS, make_mask, mask_rng
from .model import FaceModel
from .occlusions import KINDS, paint_occluder
from .pretrained import assume_frame, renders_like

METRICS = ("mae", "rmse", "iou", "changed", "observed_changed", "ms")
#: Prior settings of the models of a run without ``auto``: fixed, as nothing scored uses them.
UNTUNED_PRIOR = {"n_components": 0, "noise": 1.0, "mirror_weight": 0.0, "render_share": 0.0, "border_smoothing": 0.0}
__all__ = [
    "BASELINES", "DEFAULT_METHODS", "EVALUATED_FAMILIES", "FAMILIES", "Evaluation", "evaluate", "make_mask", "mask_rng", "score",
]

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


def detection_scores(detected: np.ndarray, painted: np.ndarray) -> dict[str, float]:
    """How well ``detected`` pixels match the ``painted`` occluder: precision (NaN if nothing was
    detected), recall and IoU."""
    hits = int((detected & painted).sum())
    found, painted_count = int(detected.sum()), int(painted.sum())
    union = found + painted_count - hits
    return {
        "precision": hits / found if found else math.nan,
        "recall": hits / painted_count if painted_count else math.nan,
        "detection_iou": hits / union if union else 1.0,
    }


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
    detections: list[dict] = field(default_factory=list)  # auto finding painted occluders, per case
    untouched: list[dict] = field(default_factory=list)  # auto on the faces as they are, per face

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

    def occluder_summary(self) -> dict[str, dict[str, float]]:
        """Per occluder kind and ``overall``: ``auto``'s mean detection precision, recall and IoU,
        the MAE of its fill after detection (``mae``) and given the painted pixels as missing
        (``mae_given``), their ratio, and the cases; and ``untouched``: the mean and largest
        share of the faces as they are taken for occluders. Empty without occluder cases."""
        if not self.detections:
            return {}
        given = {(c["face"], c["mask"]): c["mae"] for c in self.cases if c["family"] == OCCLUDERS and c["method"] == "auto"}
        table: dict[str, dict[str, float]] = {}
        for kind in (*KINDS, "overall"):
            rows = [d for d in self.detections if kind in ("overall", d["kind"])]
            if not rows:
                continue
            entry = {key: _mean([r[key] for r in rows]) for key in ("precision", "recall", "detection_iou", "mae")}
            entry["mae_given"] = _mean([given.get((r["face"], r["mask"]), math.nan) for r in rows])
            entry["ratio"] = entry["mae"] / entry["mae_given"] if entry["mae_given"] > 0 else math.nan
            entry["cases"] = len(rows)
            table[kind] = entry
        shares = [u["flagged_share"] for u in self.untouched]
        if shares:
            table["untouched"] = {"flagged_share": float(np.mean(shares)), "largest_share": float(np.max(shares)), "cases": len(shares)}
        return table

    def to_json(self) -> dict:
        """Settings, skipped baselines, summary and every case, JSON-ready (NaN as null)."""
        return _nan_to_none(
            {
                "settings": self.settings,
                "skipped": self.skipped,
                "summary": self.summary(),
                "occluders": self.occluder_summary(),
                "cases": self.cases,
                "detections": self.detections,
                "untouched": self.untouched,
            }
        )


def _nan_to_none(value):
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _mean(values) -> float:
    """Mean of the values that are not NaN (NaN if none)."""
    values = [v for v in values if not math.isnan(v)]
    return float(np.mean(values)) if values else math.nan


def _aggregate(rows: list[dict]) -> dict[str, float]:
    def mean(key):
        return _mean([r[key] for r in rows])

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
    """One held-out face hidden by one mask (or covered by one painted occluder), reconstructed by
    every method."""

    def __init__(self, truth, face_index: int, family: str, mask_index: int, missing_value: float, seed: int, view=None):
        self.truth, self.missing_value = truth, missing_value
        self.keys = {"face": face_index, "family": family, "mask": mask_index}
        face = ~missing_mask(truth, missing_value)
        rng = mask_rng(seed, face_index, family, mask_index)
        self.occluded = None
        if family == OCCLUDERS:
            self.kind = KINDS[mask_index % len(KINDS)]
            self.hidden, nearer = paint_occluder(self.kind, face, rng, view.scale)
            self.occluded = truth.copy()
            covered = truth[self.hidden].astype(np.float64) + view.gain * nearer[self.hidden]
            self.occluded[self.hidden] = to_dtype(covered, truth.dtype, missing_value)
        else:
            self.hidden = make_mask(family, face, rng)
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

    def detect(self, model: FaceModel) -> tuple[dict, Example]:
        """``auto`` given the painted face: what it found and how it filled it, and the example."""
        start = time.perf_counter()
        detected = model.find_occluders(self.occluded)
        output = model.reconstruct(self.occluded, "auto", mask=detected)
        elapsed = (time.perf_counter() - start) * 1000
        # scored against the painted pixels given as missing: a pixel it missed keeps the occluder
        scores = score(self.truth, self.given, output, self.hidden, self.missing_value)
        row = {**self.keys, "kind": self.kind, **detection_scores(detected, self.hidden), **scores, "ms": elapsed}
        example = Example(f"{OCCLUDERS} found", self.keys["face"], self.truth, self.occluded, self.hidden)
        example.outputs["found"] = np.where(detected, self.missing_value, self.occluded).astype(self.occluded.dtype)
        example.outputs["auto"] = output
        return row, example


def evaluate(
    images: Sequence[np.ndarray] | np.ndarray,
    methods: Sequence[str] = DEFAULT_METHODS,
    families: Sequence[str] = EVALUATED_FAMILIES,
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
        Mask families, some of :data:`EVALUATED_FAMILIES` (the eight of :data:`FAMILIES` and
        ``occluders``).
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
        (``facefill.pretrained.renders_like``), whose variation its prior borrows
        (``FaceModel.fit``'s ``renders``).

    Returns
    -------
    Evaluation
    """
    stack = stack_images(images)
    if len(stack) < 2 and model is None:
        raise InvalidParameterError(f"images holds {len(stack)} face; leave-one-out needs at least 2")
    for family in families:
        if family not in EVALUATED_FAMILIES:
            raise InvalidParameterError(f"mask family {family!r} is not known; expected one of {', '.join(EVALUATED_FAMILIES)}")
    if not families:
        raise InvalidParameterError("families is empty; expected some of " + ", ".join(EVALUATED_FAMILIES))
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
    detections: list[dict] = []
    untouched: list[dict] = []
    # occluders are painted in millimetres: the faces' scale, depth units and direction, fitted once
    view = assume_frame(stack, missing_value).view if OCCLUDERS in families else None
    detecting = OCCLUDERS in families and "auto" in resolved
    # only auto uses the shape prior: without it, no settings to cross-validate for each fold
    settings = {} if "auto" in resolved else UNTUNED_PRIOR
    given_model = model
    for held_out in range(len(stack)):
        if given_model is None:
            training = list(np.delete(stack, held_out, axis=0))
            rendered = renders_like(training, renders, missing_value, seed=held_out) if renders else None
            model = FaceModel(**settings).fit(training, missing_value, renders=rendered)
        if detecting:
            truth = stack[held_out]
            flagged = model.find_occluders(truth).sum() / max(int((~missing_mask(truth, missing_value)).sum()), 1)
            untouched.append({"face": held_out, "flagged_share": float(flagged)})
        for family in families:
            for mask_index in range(masks_per_face):
                keep = mask_index == 0 and held_out < examples_per_family
                case = _Case(stack[held_out], held_out, family, mask_index, missing_value, seed, view)
                cases.extend(case.run(model, resolved))
                if keep:
                    examples.append(case.example)
                if detecting and family == OCCLUDERS:
                    row, example = case.detect(model)
                    detections.append(row)
                    if held_out < examples_per_family and mask_index < len(KINDS):
                        examples.append(example)
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
    return Evaluation(settings, cases, skipped, examples, missing_value, detections, untouched)
