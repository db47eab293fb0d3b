"""What the shipped morphable face model gives a user, measured on faces it never rendered.

    python benchmarks/rendered_faces.py [--faces 60] [--renders 200] [--no-own]

*Held-out faces* stand in for "16-bit faces of another morphable model": they
are rendered here from the **full** ICT Face Model Light in
``../shared/ict-facekit`` (all 100 identity modes where facefill ships 40, all
53 expressions where it ships 18 (each up to 0.3), another face outline (an
ellipse, not facefill's mask), no scaling to a common face box, more pose
jitter, 650 mm away, noise 0.8 mm), 16-bit millimetres, 160x200. Scored on
them, in one run, by the protocol's masks (``facefill evaluate``'s code, one
mask per family per face) against the generic inpainters:

- ``synth``: a model trained on ``facefill synth -n RENDERS --size 160x200 --dtype uint16``;
- ``pretrained``: no model: ``pretrained_model`` fitted to the holed faces of each family;
- ``own``: leave-one-out on the held-out faces themselves (the best case: faces of one's own);
  most of the run's time (one training per face), and independent of facefill's renders:
  ``--no-own`` leaves it out.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy import ndimage

from facefill.evaluate import evaluate
from facefill.fill.blend import harmonic_fill
from facefill.masks import LARGE_FAMILIES as FAMILIES, make_mask, mask_rng  # the large holes: README reports them
from facefill.model import FaceModel
from facefill.morphable.render import rasterize
from facefill.pretrained import pretrained_model
from facefill.synth import make_faces

ICT = Path(__file__).resolve().parents[1].parent / "shared" / "ict-facekit" / "ict_face_model_light.npz"
SHAPE = (200, 160)
BASELINES = ("seed", "telea", "ns", "biharmonic")


def held_out_faces(count: int, seed: int = 1234) -> np.ndarray:
    """16-bit millimetre faces rendered from the full source model, unlike facefill's renders."""
    with np.load(ICT, allow_pickle=False) as model:
        stop = int(model["face_vertices"][1])
        neutral = model["neutral"][:stop].astype(np.float64) * 10
        identity = model["identity_modes"][:, :stop].astype(np.float64) * 10
        expressions = model["expression_modes"][:, :stop].astype(np.float64) * 10
        names = list(model["expression_names"])
        polygons = model["polygons"]
        nose = neutral[model["landmarks_multipie68"][30]].copy()
    quads = polygons[((polygons < stop) & (polygons >= -1)).all(axis=1) & (polygons[:, :3] >= 0).all(axis=1)]
    triangles = np.concatenate([quads[:, :3], quads[quads[:, 3] >= 0][:, [0, 2, 3]]])
    rel = neutral - nose
    # an outline of two half ellipses, below the hairline and down to the chin (not the neck)
    inside = (rel[:, 0] / 62) ** 2 + (rel[:, 1] / np.where(rel[:, 1] > 0, 84, 78)) ** 2 <= 1
    triangles = triangles[inside[triangles].all(axis=1)]
    blink = [names.index("eyeBlink_L"), names.index("eyeBlink_R")]
    rng = np.random.default_rng(seed)
    faces = np.zeros((count, *SHAPE), dtype=np.uint16)
    for i in range(count):
        weights = rng.uniform(0, 0.3, len(names))
        weights[blink] = 1.0
        vertices = rel + np.tensordot(rng.standard_normal(100), identity, 1) + np.tensordot(weights, expressions, 1)
        yaw, pitch, roll = np.deg2rad(rng.normal(0, [3, 3, 2]))
        turn = _rotation(yaw, pitch, roll)
        vertices = (vertices - [0, 0, -90]) @ turn.T + [0, 0, -90]
        scale = 0.96
        centre = ((SHAPE[0] - 1) / 2 + rng.normal(0, 1.5), (SHAPE[1] - 1) / 2 + rng.normal(0, 1.5))
        points = np.column_stack([centre[1] + scale * vertices[:, 0], centre[0] - scale * vertices[:, 1], vertices[:, 2]])
        near = rasterize(points, triangles, SHAPE)
        near[~(near > -100)] = np.nan  # a depth crop keeps what is within 100 mm of the nose tip
        labels, _ = ndimage.label(np.isfinite(near))
        largest = np.argmax(np.bincount(labels.ravel())[1:]) + 1  # the face, not bits of the ears
        face = ndimage.binary_fill_holes(labels == largest)
        near = harmonic_fill(near, face & np.isnan(near))  # the lips' line, closed
        depth = 650.0 - near + rng.normal(0, 0.8, SHAPE)
        faces[i] = np.where(face, np.clip(np.rint(depth), 1, 65535), 0)
    return faces


def _rotation(a, b, c):
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    nod = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    tilt = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return tilt @ nod @ turn


def _table(label: str, summary: dict) -> None:
    for method, by_family in summary.items():
        cells = "  ".join(f"{by_family[f]['mae']:5.2f}" for f in (*FAMILIES, "overall"))
        ious = by_family["overall"]["iou"]
        print(f"{label + ' ' + method:24s} {cells}   IoU {ious:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=60)
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--no-own", action="store_true", help="leave out the leave-one-out row (most of the time)")
    args = parser.parse_args()
    faces = held_out_faces(args.faces)
    print(f"{args.faces} held-out faces {SHAPE[1]}x{SHAPE[0]} uint16 (mm); MAE per family: {' '.join(FAMILIES)} overall")
    start = time.perf_counter()
    synth_model = FaceModel().fit(make_faces(args.renders, shape=SHAPE, dtype="uint16", seed=0))
    print(f"(synth model: {args.renders} renders, {time.perf_counter() - start:.0f} s)")
    _table("synth", evaluate(faces, methods=("auto", *BASELINES), families=FAMILIES, masks_per_face=1, model=synth_model).summary())
    # no model: fitted to the holed faces a user would give, one family at a time
    rows = {}
    for family in FAMILIES:
        holed = [np.where(make_mask(family, f != 0, mask_rng(0, i, family, 0)), 0, f).astype(np.uint16) for i, f in enumerate(faces)]
        model, assumed = pretrained_model(holed, faces=args.renders)
        result = evaluate(faces, methods=("auto",), families=(family,), masks_per_face=1, model=model)
        rows[family] = result.summary()["auto"][family]
        print(f"(pretrained on {family}: {assumed.describe()})")
    overall = np.mean([rows[f]["mae"] for f in FAMILIES])
    cells = "  ".join(f"{rows[f]['mae']:5.2f}" for f in FAMILIES)
    print(f"{'pretrained auto':24s} {cells}  {overall:5.2f}   IoU {np.mean([rows[f]['iou'] for f in FAMILIES]):.3f}")
    if not args.no_own:
        _table("own", evaluate(faces, methods=("auto",), families=FAMILIES, masks_per_face=1).summary())


if __name__ == "__main__":
    main()
