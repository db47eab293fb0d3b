"""Whether a confidence means what it says: on faces held out of the training altogether, the
filled pixels binned by their confidence (the chance, learned at training on other held-out
faces, of a fill within the model's tolerance), against the share of them that is.

    python benchmarks/confidence_calibration.py [--masks N] [--data DIR] [--faces N]

Leave-one-out over the sample faces beside the project (else 20 synthetic faces; or the first N
complete faces below DIR, of any dtype facefill reads), every hole
family, N masks per family and face (1 by default). Per confidence bin: the filled face
pixels in it, their mean confidence, the share within the tolerance, and their mean absolute
error; then the mean gap between stated and found, weighted by pixels.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facefill.depth import default_missing_value, missing_mask
from facefill.discovery import find_images
from facefill.formats import read_depth
from facefill.masks import FAMILIES, make_mask, mask_rng
from facefill.model import FaceModel
from facefill.synth import make_faces

DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "dataset"
BINS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0001)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--masks", type=int, default=1)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--faces", type=int, default=20)
    args = parser.parse_args()
    if args.data is not None:
        faces, source = np.array([read_depth(p) for p in find_images(args.data)[: args.faces]]), str(args.data)
    elif (DATASET / "train").is_dir():
        faces, source = np.array([read_depth(p) for p in find_images(DATASET / "train")]), "sample data"
    else:
        faces, source = make_faces(20, seed=0), "synthetic"
    confidences, errors, tolerances = [], [], set()
    for held_out, truth in enumerate(faces):
        model = FaceModel().fit(np.delete(faces, held_out, axis=0))
        tolerance = model.calibration_.tolerance
        tolerances.add(tolerance)
        missing = default_missing_value(truth.dtype)
        face = ~missing_mask(truth, missing)
        for family in FAMILIES:
            for index in range(args.masks):
                hidden = make_mask(family, face, mask_rng(0, held_out, family, index))
                given = np.where(hidden, missing, truth).astype(truth.dtype)
                filled, confidence = model.reconstruct(given, return_confidence=True)
                scored = hidden & face & ~missing_mask(filled, missing)
                confidences.append(confidence[scored])
                error = np.abs(filled[scored].astype(float) - truth[scored])
                errors.append(np.stack([error, error <= tolerance]))
    confidence, (error, within) = np.concatenate(confidences), np.concatenate(errors, axis=1)
    print(f"Filled face pixels of held-out {source} faces, {len(FAMILIES)} families x {args.masks} masks x {len(faces)} faces")
    print(f"tolerance learned by each model: {', '.join(f'{t:g}' for t in sorted(tolerances))}")
    print(f"  {'confidence':<12s} {'pixels':>8s} {'stated':>7s} {'found within':>13s} {'mean |error|':>13s}")
    gap = 0.0
    for low, high in zip(BINS[:-1], BINS[1:]):
        chosen = (confidence >= low) & (confidence < high)
        if chosen.any():
            stated, found = confidence[chosen].mean(), within[chosen].mean()
            gap += chosen.sum() * abs(stated - found)
            print(f"  {low:.1f}-{min(high, 1):.1f}      {chosen.sum():8d} {stated:7.2f} {found:13.2f} {error[chosen].mean():13.2f}")
    print(f"  {'all':<12s} {len(error):8d} {confidence.mean():7.2f} {within.mean():13.2f} {error.mean():13.2f}")
    print(f"mean gap between stated and found, over pixels: {gap / len(error):.3f}")


if __name__ == "__main__":
    main()
