"""Throughput benchmark: ratios against references measured in the same run.

    python benchmarks/throughput.py                 # 2000 images
    python benchmarks/throughput.py --images 200    # quick

Reconstruction, end to end on a folder of PNG copies of the sample test faces
(``../shared/dataset/test``; synthetic holed faces if it is absent):

- ``facefill reconstruct``: the command, as a user runs it (process start
  included, default workers: one per core), with ``auto`` and with ``seed``;
- Pillow floor: read each PNG and write it again with Pillow, nothing else;
- original loop: read, the original rule as a per-pixel Python loop, write.

Training time and memory: ``benchmarks/training.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from facefill.discovery import find_images
from facefill.formats import read_depth, write_depth
from facefill.model import FaceModel
from facefill.synth import make_faces

METHODS = ("auto", "seed")
DATASET = Path(__file__).resolve().parents[1].parent / "shared" / "dataset"


def make_inputs(folder: Path, count: int) -> list[Path]:
    """``count`` PNG copies of the sample test faces (or synthetic holed faces), in 100-file folders."""
    if (DATASET / "test").is_dir():
        faces = [read_depth(p) for p in find_images(DATASET / "test")]
    else:
        faces = list(make_faces(4, seed=9))
        for face in faces:
            face[40:70, 30:60] = 255
    paths = []
    for i in range(count):
        path = folder / f"batch-{i // 100:03d}" / f"face-{i:05d}.png"
        write_depth(path, faces[i % len(faces)])
        paths.append(path)
    return paths


def train_model(path: Path) -> FaceModel:
    if (DATASET / "train").is_dir():
        model = FaceModel().fit([read_depth(p) for p in find_images(DATASET / "train")])
    else:
        model = FaceModel().fit(make_faces(20, seed=0))
    model.save(path)
    return model


def time_facefill(inputs: Path, out: Path, model: Path, method: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "facefill", "reconstruct", str(inputs), "--out", str(out), "--model", str(model)]
        + ["--method", method],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - start


def time_pillow_floor(paths: list[Path], out: Path) -> float:
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            image.load()
            target = out / path.name
            image.save(target)
    return time.perf_counter() - start


def original_rule_loop(image: np.ndarray, average: np.ndarray) -> np.ndarray:
    """The original scripts' per-pixel loop: mirror pixel if known, else the average's pixel."""
    height, width = image.shape
    result = image.copy()
    for y in range(height):
        for x in range(width):
            if image[y, x] == 255:
                mirror = image[y, width - 1 - x]
                result[y, x] = mirror if mirror != 255 else average[y, x]
    return result


def time_original_loop(paths: list[Path], out: Path, model: FaceModel) -> float:
    average = np.where(model.outline_, np.rint(np.nan_to_num(model.mean_)), 255).astype(np.uint8)
    start = time.perf_counter()
    for path in paths:
        with Image.open(path) as image:
            pixels = np.array(image)
        Image.fromarray(original_rule_loop(pixels, average)).save(out / path.name)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=2000, help="images in the reconstruction folder")
    parser.add_argument("--loop-images", type=int, default=200, help="images run through the slow original loop")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each measurement (the median counts)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="facefill-bench-"))
    try:
        paths = make_inputs(work / "in", args.images)
        model = train_model(work / "model.npz")
        loop_paths = paths[: args.loop_images]
        runs: dict[str, list[float]] = {}
        # each measurement several times, interleaved, so that a slow spell of the machine
        # touches every row alike; the median counts
        for repeat in range(args.repeats):
            for m in METHODS:
                seconds = time_facefill(work / "in", work / f"out-{m}-{repeat}", work / "model.npz", m)
                runs.setdefault(f"facefill reconstruct, {m}", []).append(args.images / seconds)
            for name, folder, timer, some in (
                ("Pillow read+write floor", "pillow", time_pillow_floor, paths),
                ("original per-pixel loop", "loop", lambda p, o: time_original_loop(p, o, model), loop_paths),
            ):
                (work / f"{folder}-{repeat}").mkdir()
                runs.setdefault(name, []).append(len(some) / timer(some, work / f"{folder}-{repeat}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    rates = {name: float(np.median(values)) for name, values in runs.items()}
    print(
        f"Reconstruction of {args.images} PNGs of 116x120 (original loop on {len(loop_paths)}), "
        f"{os.cpu_count()} cores, median of {args.repeats} runs:"
    )
    for name, rate in rates.items():
        print(f"  {name:30s} {rate:9.1f} images/s  (runs: {', '.join(f'{v:.0f}' for v in runs[name])})")
    # ratios of the runs made one after the other, then their median: the machine's pace
    # drifts between runs more than between the rows of one run
    for m in METHODS:
        own = runs[f"facefill reconstruct, {m}"]
        for reference in ("Pillow read+write floor", "original per-pixel loop"):
            ratios = [a / b for a, b in zip(own, runs[reference])]
            print(f"  {m:4s} / {reference:28s} {np.median(ratios):6.2f}x  (runs: {', '.join(f'{r:.2f}' for r in ratios)})")


if __name__ == "__main__":
    main()
