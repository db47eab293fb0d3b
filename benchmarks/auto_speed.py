"""Time per image of the ``auto`` method on one core, model loaded, against ``seed`` and the
generic inpainters (``biharmonic``, ``telea``, ``ns``, with the ``eval`` extra) in the same run.

    python benchmarks/auto_speed.py

Rows: each protocol mask family, the thin ones included, on 116x120 faces (the
sample data when it is beside the project, else synthetic), then how the time grows with the image
size (synthetic faces, a blob hole scaled with the face) and with the hole
size (116x120, one disc of growing radius); and occluder detection (``find_occluders``, and
``reconstruct(..., occluders=True)``) on faces with a hand painted in front. Times are medians
over repeats.
"""

from __future__ import annotations

import os

# one core: the goal is per-core time; set before NumPy loads its BLAS
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from facefill.depth import to_dtype  # noqa: E402
from facefill.discovery import find_images  # noqa: E402
from facefill.formats import read_depth  # noqa: E402
from facefill.baselines import resolve_methods  # noqa: E402
from facefill.masks import FAMILIES, make_mask, mask_rng  # noqa: E402
from facefill.model import FaceModel  # noqa: E402
from facefill.occlusions import paint_occluder  # noqa: E402
from facefill.pretrained import assume_frame  # noqa: E402
from facefill.synth import make_faces  # noqa: E402

DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "dataset"


def median_ms(model: FaceModel, images: list[np.ndarray], method: str, repeats: int) -> float:
    return float(np.median(paired_times(model, images, (method,), repeats)[method]) * 1000)


def paired_times(model: FaceModel, images: list[np.ndarray], methods, repeats: int) -> dict[str, np.ndarray]:
    """Seconds per call of each method on each image (:func:`paired_calls`)."""
    return paired_calls({method: (lambda image, method=method: model.reconstruct(image, method)) for method in methods}, images, repeats)


def paired_calls(calls: dict, images: list[np.ndarray], repeats: int) -> dict[str, np.ndarray]:
    """Seconds per call of each of ``calls`` (name: function of an image) on each image, timed one
    after the other on the same image so that this machine's drifting pace cancels out of their
    ratios."""
    for image in images:  # warm caches
        for call in calls.values():
            call(image)
    times: dict = {name: [] for name in calls}
    for _ in range(repeats):
        for image in images:
            for name, call in calls.items():
                start = time.perf_counter()
                call(image)
                times[name].append(time.perf_counter() - start)
    return {name: np.array(values) for name, values in times.items()}


def holed(faces: np.ndarray, family: str, missing) -> list[np.ndarray]:
    out = []
    for i, face in enumerate(faces):
        hidden = make_mask(family, face != missing, mask_rng(0, i, family, 0))
        given = face.copy()
        given[hidden] = missing
        out.append(given)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    if (DATASET / "train").is_dir():
        faces = np.array([read_depth(p) for p in find_images(DATASET / "train")])
        source = "sample data"
    else:
        faces = make_faces(20, seed=0)
        source = "synthetic"
    model = FaceModel().fit(faces[4:])
    methods, skipped = resolve_methods(["auto", "seed", "biharmonic", "telea", "ns"])
    for name, why in skipped.items():
        print(f"(skipped {name}: {why})")
    others = [name for name in methods if name != "auto"]
    print(f"Per image on one core, model loaded (116x120, {source}); median over {args.repeats} repeats")
    print(f"  {'holes':<10s} " + " ".join(f"{name + ' ms':>13s}" for name in methods) + " " + " ".join(f"{'auto/' + name:>15s}" for name in others))
    for family in FAMILIES:
        times = paired_times(model, holed(faces[:4], family, 255), tuple(methods.values()), args.repeats)
        times = dict(zip(methods, times.values()))
        columns = " ".join(f"{float(np.median(times[name]) * 1000):13.2f}" for name in methods)
        ratios = " ".join(f"{np.median(times['auto'] / times[name]):15.2f}" for name in others)
        print(f"  {family:<10s} {columns} {ratios}  (ratios: medians of paired ratios)")

    print("\nOccluders (116x120, a hand painted in front of each face, as `evaluate` paints them):")
    view = assume_frame(faces, 255).view
    occluded = []
    for i, face in enumerate(faces[:4]):
        covered, nearer = paint_occluder("hand", face != 255, np.random.default_rng(i), view.scale)
        image = face.copy()
        image[covered] = to_dtype(face[covered] + view.gain * nearer[covered], face.dtype, 255)
        occluded.append(image)
    calls = {
        "seed": lambda image: model.reconstruct(image, "seed"),
        "find": model.find_occluders,
        "find+fill": lambda image: model.reconstruct(image, occluders=True),
    }
    times = paired_calls(calls, occluded, args.repeats)
    print(f"  {'':<10s} " + " ".join(f"{name + ' ms':>13s}" for name in calls) + f" {'find/seed':>10s} {'find+fill/seed':>15s}")
    columns = " ".join(f"{float(np.median(times[name]) * 1000):13.2f}" for name in calls)
    ratios = f"{np.median(times['find'] / times['seed']):10.1f} {np.median(times['find+fill'] / times['seed']):15.1f}"
    print(f"  {'hand':<10s} {columns} {ratios}")

    print("\nImage size (synthetic faces, blob holes scaled with the face):")
    print(f"  {'size':<10s} {'auto ms':>8s} {'ms per 1000 px':>15s}")
    for scale in (1, 2, 4):
        shape = (120 * scale, 116 * scale)
        synthetic = make_faces(24, shape=shape, seed=scale)
        sized = FaceModel().fit(synthetic[4:])
        ms = median_ms(sized, holed(synthetic[:4], "blobs", 255), "auto", max(1, args.repeats // scale))
        print(f"  {shape[1]}x{shape[0]:<6d} {ms:8.2f} {ms / (shape[0] * shape[1] / 1000):15.3f}")

    print("\nHole size (116x120, one disc at the face centre):")
    print(f"  {'radius':<10s} {'pixels':>8s} {'auto ms':>8s}")
    rows, cols = np.mgrid[0:120, 0:116]
    for radius in (4, 8, 16, 24, 32):
        disc = (rows - 60) ** 2 + (cols - 57.5) ** 2 <= radius**2
        images = [np.where(disc, 255, face).astype(np.uint8) for face in faces[:4]]
        print(f"  {radius:<10d} {int(disc.sum()):8d} {median_ms(model, images, 'auto', args.repeats):8.2f}")


if __name__ == "__main__":
    main()
