"""Derive the face model data that facefill ships from the ICT Face Model Light.

Run by hand from the repository's root when the source changes (never at
install or at run time):

    python scripts/derive_face_model.py ../shared/ict-facekit

It writes ``src/facefill/morphable/ict_face.npz`` and copies the model's MIT
``LICENSE`` and ``CREDITS.md`` beside it. ``tests/test_morphable.py`` checks
that the shipped file equals what this script derives.

What is kept, in millimetres (the source is in centimetres):

- the vertices of the *full face area* (the source's ``face_vertices``: no
  head back, neck, eyes or mouth socket) and the triangles over them (each
  quad split into two);
- the first :data:`IDENTITY_MODES` identity modes (they carry 97 % of the
  identity variance; the rest are below 0.3 mm RMS each), as float16;
- the expressions in :data:`EXPRESSIONS`, as float16: those that change a
  depth face crop's shape without opening holes in it.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np

SOURCE_FILE = "ict_face_model_light.npz"
TARGET = Path(__file__).resolve().parent.parent / "src" / "facefill" / "morphable"
IDENTITY_MODES = 40
EXPRESSIONS = (
    "browDown_L", "browDown_R", "browInnerUp_L", "browInnerUp_R", "cheekPuff_L", "cheekPuff_R",
    "cheekSquint_L", "cheekSquint_R", "eyeBlink_L", "eyeBlink_R", "mouthClose", "mouthFrown_L",
    "mouthFrown_R", "mouthPucker", "mouthSmile_L", "mouthSmile_R", "noseSneer_L", "noseSneer_R",
)  # fmt: skip
CM_TO_MM = 10.0


def derive(source: Path) -> dict[str, np.ndarray]:
    """The arrays that facefill ships, derived from the source model file."""
    with np.load(source / SOURCE_FILE, allow_pickle=False) as model:
        start, stop = (int(v) for v in model["face_vertices"])
        polygons = model["polygons"]
        inside = ((polygons >= start) & (polygons < stop)) | (polygons < 0)
        quads = polygons[inside.all(axis=1) & (polygons[:, :3] >= 0).all(axis=1)] - start
        is_quad = quads[:, 3] >= 0
        triangles = np.concatenate([quads[:, [0, 1, 2]], quads[is_quad][:, [0, 2, 3]]]).astype(np.int32)
        names = list(model["expression_names"])
        chosen = [names.index(name) for name in EXPRESSIONS]
        return {
            "neutral": (model["neutral"][start:stop] * CM_TO_MM).astype(np.float32),
            "triangles": triangles,
            "identity_modes": (model["identity_modes"][:IDENTITY_MODES, start:stop] * CM_TO_MM).astype(np.float16),
            "expression_modes": (model["expression_modes"][chosen, start:stop] * CM_TO_MM).astype(np.float16),
            "expression_names": np.array(EXPRESSIONS),
            "landmarks_multipie68": model["landmarks_multipie68"].astype(np.int32),
        }


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        sys.exit("usage: python scripts/derive_face_model.py ICT_FACEKIT_FOLDER")
    source = Path(argv[0])
    TARGET.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(TARGET / "ict_face.npz", **derive(source))
    shutil.copyfile(source / "LICENSE", TARGET / "LICENSE")
    shutil.copyfile(source / "CREDITS.md", TARGET / "CREDITS.md")


if __name__ == "__main__":
    main(sys.argv[1:])
