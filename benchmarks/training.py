"""Training in bounded memory: time and peak memory of ``FaceModel().fit`` as the faces grow.

    python benchmarks/training.py                        # 1,000 / 10,000 / 50,000 faces
    python benchmarks/training.py --sizes 200,1000       # quick

Each size runs in a fresh process on synthetic 116x120 faces that are made a
chunk at a time when the fit reads them (as ``facefill train`` reads files), so
the faces are never all in memory. Peak memory is the process's maximum
resident size, the interpreter and libraries included; the reference row is
the same process that only generates the faces, twice, without fitting.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

CHUNK = 128


class SyntheticFaces:
    """``n`` synthetic faces as a sequence, generated ``CHUNK`` at a time on access."""

    def __init__(self, n: int, seed: int = 0):
        self.n, self.seed = n, seed
        self._chunk, self._faces = -1, None

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, index: int):
        from facefill.synth import make_faces

        chunk = index // CHUNK
        if chunk != self._chunk:
            self._faces = make_faces(min(CHUNK, self.n - chunk * CHUNK), seed=[self.seed, chunk])
            self._chunk = chunk
        return self._faces[index % CHUNK]


def run_one(n: int, fit: bool) -> dict:
    from facefill.model import FaceModel

    faces = SyntheticFaces(n)
    start = time.perf_counter()
    if fit:
        model = FaceModel(chunk_size=CHUNK).fit(faces)
        settings = {"components": model.prior_.n_components, "cv_error": round(model.prior_.cv_error, 3)}
    else:
        for _ in range(2):  # the two passes of a fit, without the fit
            for i in range(n):
                faces[i]
        settings = {}
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"faces": n, "seconds": seconds, "peak_mib": peak_mib, **settings}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1000,10000,50000", help="comma-separated numbers of training faces")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child run
    parser.add_argument("--no-fit", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, not args.no_fit)))
        return

    def child(n: int, fit: bool) -> dict:
        command = [sys.executable, __file__, "--one", str(n)] + ([] if fit else ["--no-fit"])
        return json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)

    sizes = [int(v) for v in args.sizes.split(",")]
    reference = child(sizes[0], fit=False)
    per_face = reference["seconds"] / sizes[0]  # making the faces for both passes, not fitting
    print(f"FaceModel(chunk_size={CHUNK}).fit on synthetic 116x120 faces, one process per row:")
    print(f"  {'faces':>7s} {'seconds':>9s} {'of which making faces':>22s} {'peak MiB':>9s} {'peak / reference':>17s} {'components':>11s}")
    print(f"  (reference: making {sizes[0]} faces twice, no fit: {reference['seconds']:.1f} s, {reference['peak_mib']:.0f} MiB)")
    for n in sizes:
        row = child(n, fit=True)
        print(
            f"  {n:7d} {row['seconds']:9.1f} {per_face * n:22.1f} {row['peak_mib']:9.0f} {row['peak_mib'] / reference['peak_mib']:17.2f}"
            f" {row['components']:11d}"
        )


if __name__ == "__main__":
    main()
