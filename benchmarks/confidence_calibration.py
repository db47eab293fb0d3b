"""What a confidence value means: for held-out cases, the filled pixels binned by their
confidence, with how far they are from the truth.

    python benchmarks/confidence_calibration.py [--masks N]

Leave-one-out over the sample faces beside the project (else 20 synthetic faces), every mask
family, N masks per family and face (1 by default). Per confidence bin: the filled face
pixels in it, their mean absolute error and the share within 1 and within 2 of the image's
units (levels for the sample faces).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from facefill.discovery import find_images
from facefill.formats import read_depth
from facefill.masks import FAMILIES, make_mask, mask_rng
from facefill.model import FaceModel
from facefill.synth import make_faces

DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "dataset"
BINS = (0.0, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--masks", type=int, default=1)
    args = parser.parse_args()
    if (DATASET / "train").is_dir():
        faces, source = np.array([read_depth(p) for p in find_images(DATASET / "train")]), "sample data"
    else:
        faces, source = make_faces(20, seed=0), "synthetic"
    confidences, errors = [], []
    for held_out, truth in enumerate(faces):
        model = FaceModel().fit(np.delete(faces, held_out, axis=0))
        face = truth != 255
        for family in FAMILIES:
            for index in range(args.masks):
                hidden = make_mask(family, face, mask_rng(0, held_out, family, index))
                given = np.where(hidden, 255, truth).astype(truth.dtype)
                filled, confidence = model.reconstruct(given, return_confidence=True)
                scored = hidden & face & (filled != 255)
                confidences.append(confidence[scored])
                errors.append(np.abs(filled[scored].astype(float) - truth[scored]))
    confidence, error = np.concatenate(confidences), np.concatenate(errors)
    print(f"Filled face pixels of held-out {source} faces, {len(FAMILIES)} families x {args.masks} masks x {len(faces)} faces")
    print(f"  {'confidence':<12s} {'pixels':>8s} {'mean |error|':>13s} {'within 1':>9s} {'within 2':>9s}")
    for low, high in zip(BINS[:-1], BINS[1:]):
        chosen = (confidence >= low) & (confidence < high)
        if chosen.any():
            e = error[chosen]
            print(f"  {low:.1f}-{high:.1f}      {chosen.sum():8d} {e.mean():13.2f} {np.mean(e <= 1):9.2f} {np.mean(e <= 2):9.2f}")
    print(f"  {'all':<12s} {len(error):8d} {error.mean():13.2f} {np.mean(error <= 1):9.2f} {np.mean(error <= 2):9.2f}")


if __name__ == "__main__":
    main()
