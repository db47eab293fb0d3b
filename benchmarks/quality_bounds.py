"""How far ``auto``'s face model can go on the sample data: its MAE against oracle bounds, in one run.

    python benchmarks/quality_bounds.py

The protocol's leave-one-out cases (``../shared/PROTOCOL.md``, 3 masks per
family per held-out face, seed 0) on ``../shared/dataset/train``. Per family:

- ``seed``: the original rule; the issue's goal for ``auto`` is 0.6x its overall MAE;
- ``auto``: facefill's default, as ``facefill evaluate`` scores it;
- ``prior, every pixel``: the shape prior (the held-out face's model) fitted
  to *every* pixel of the complete truth, hidden ones included, scored on the
  hidden pixels: how well the model can express this face at all;
- ``auto, oracle fit``: ``auto`` with its prior fit replaced by that fit to the
  complete truth (registration, outline and blend unchanged): the best any
  inference of the prior's coefficients from the visible pixels could give.

A bound, not a method: the oracle rows read the hidden pixels.
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import numpy as np

from facefill.depth import to_float
from facefill.discovery import find_images
from facefill.evaluate import score
from facefill.formats import read_depth
from facefill.masks import LARGE_FAMILIES as FAMILIES, make_mask, mask_rng  # the large holes: README reports them
from facefill.model import FaceModel
from facefill.prior import PCAFit, PCAPrior
from facefill.prior.gappy import gappy_fit

DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "dataset"
ROWS = ("seed", "auto", "prior, every pixel", "auto, oracle fit")


def fit_to_every_pixel(prior: PCAPrior, truth: np.ndarray) -> PCAFit:
    """The prior's fit to every face pixel of the complete ``truth`` (model frame, NaN background)."""
    evidence = np.isfinite(truth) & prior.domain
    k = prior.n_components
    components = prior.components[:k]
    fit = gappy_fit(
        components[:, evidence].T.astype(np.float64),
        truth[evidence] - prior.mean[evidence],
        np.ones(int(evidence.sum())),
        prior.variances[:k],
        prior.noise,
    )
    return PCAFit(prior.mean + fit.offset + np.tensordot(fit.coefficients, components, axes=1), fit, prior)


class OraclePrior:
    """A prior that answers every fit with the fit to the complete truth: plugged into auto in place
    of the model's own (the sample faces are centred: auto registers almost all of them with the
    identity, so the oracle prediction, in the image, stands in for the model-frame one)."""

    def __init__(self, prior: PCAPrior, oracle_fit: PCAFit):
        self.depth_scale, self.mirror_weight, self.border_smoothing = prior.depth_scale, prior.mirror_weight, prior.border_smoothing
        self.oracle_fit = oracle_fit

    def fit(self, depth: np.ndarray) -> PCAFit:
        return self.oracle_fit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", nargs="?", default=DATASET / "train", type=Path)
    args = parser.parse_args()
    faces = np.array([read_depth(path) for path in find_images(args.data)])
    missing = 255 if faces.dtype == np.uint8 else 0
    errors = {row: {family: [] for family in FAMILIES} for row in ROWS}
    for held_out, truth in enumerate(faces):
        model = FaceModel().fit(np.delete(faces, held_out, axis=0))
        complete = to_float(truth, missing)
        oracle_fit = fit_to_every_pixel(model.prior_, complete)
        oracle = copy.copy(model)
        oracle.prior_ = OraclePrior(model.prior_, oracle_fit)
        face = truth != missing
        for family in FAMILIES:
            for mask_index in range(3):
                hidden = make_mask(family, face, mask_rng(0, held_out, family, mask_index))
                given = truth.copy()
                given[hidden] = missing
                for row in ("seed", "auto"):
                    output = model.reconstruct(given, row)
                    errors[row][family].append(score(truth, given, output, hidden, missing)["mae"])
                scored = hidden & face  # a blob may hide background only: no face pixel to score
                error = np.abs(oracle_fit.prediction - complete)[scored].mean() if scored.any() else np.nan
                errors["prior, every pixel"][family].append(float(error))
                output = oracle.reconstruct(given, "auto")
                errors["auto, oracle fit"][family].append(score(truth, given, output, hidden, missing)["mae"])
    print(f"MAE on {args.data} ({len(faces)} faces, leave-one-out, 3 masks per family per face)")
    print(f"  {'':<20s}" + "".join(f"{family:>8s}" for family in (*FAMILIES, "overall")))
    overall = {row: float(np.nanmean(np.concatenate(list(errors[row].values())))) for row in ROWS}  # over cases
    for row in ROWS:
        means = [float(np.nanmean(errors[row][family])) for family in FAMILIES]
        print(f"  {row:<20s}" + "".join(f"{m:8.2f}" for m in means) + f"{overall[row]:8.2f}")
    print(f"  goal for auto: 0.6 x seed = {0.6 * overall['seed']:.2f} overall")


if __name__ == "__main__":
    main()
