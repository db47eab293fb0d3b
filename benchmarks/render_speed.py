"""How fast faces are rendered from the morphable model, against writing them, in one run.

    python benchmarks/render_speed.py [--faces 200]

Per image size: milliseconds per face of ``make_faces`` (a random identity,
expression and pose, rasterised and encoded), and, as the reference measured
in the same run, of writing that face as a PNG (``write_depth``): ``synth``
spends the sum of the two per face.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from facefill.formats import write_depth
from facefill.synth import make_faces

SIZES = ((120, 116, "uint8"), (200, 160, "uint16"), (480, 640, "uint16"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=200)
    args = parser.parse_args()
    make_faces(1)  # the mesh is read once per process: not counted
    print(f"{'size':>9s} {'dtype':>7s} {'render ms/face':>15s} {'PNG write ms':>13s} {'ratio':>6s} {'10,000 faces':>13s}")
    with tempfile.TemporaryDirectory() as folder:
        for height, width, dtype in SIZES:
            count = max(args.faces * 120 * 116 // (height * width), 10)
            start = time.perf_counter()
            faces = make_faces(count, shape=(height, width), dtype=dtype, seed=1)
            render = (time.perf_counter() - start) / count
            start = time.perf_counter()
            for i, face in enumerate(faces):
                write_depth(Path(folder) / f"{height}-{i}.png", face)
            write = (time.perf_counter() - start) / count
            print(
                f"{width:4d}x{height:<4d} {dtype:>7s} {render * 1e3:15.2f} {write * 1e3:13.2f} {render / write:6.1f}"
                f" {10000 * (render + write) / 60:10.1f} min"
            )


if __name__ == "__main__":
    main()
