"""Batches of files: training sets and folders to reconstruct, one bad file never stopping the rest.

The batch plans where each output goes, sweeps temporaries a killed run left,
and hands the jobs to a runner (``runners``, ``cluster``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .atomic import remove_stale_temporaries
from .checks import check_image, whole_number
from .cluster import CONNECT_TIMEOUT, DaskRunner
from .destinations import Destinations
from .discovery import image_parts
from .errors import FacefillError
from .fill import Method, get_method
from .formats import FORMAT_DTYPES, read_depth
from .jobs import DONE, FAILED, SKIPPED, Job, Outcome, Summary, Task, error_message
from .model import FaceModel
from .runners import InProcess, Processes, available_cores, chunks

__all__ = [
    "DONE", "FAILED", "SKIPPED", "ImageFiles", "Outcome", "Summary", "confidence_path", "default_workers",
    "load_training_images", "plan_outputs", "reconstruct_files", "scan_training_files",
]


def load_training_images(paths: Iterable[Path]) -> tuple[list[np.ndarray], Summary]:
    """Read training faces into memory; files that fail or differ from the first good file in
    size or dtype are reported, not fatal."""
    images: list[np.ndarray] = []
    summary = Summary()
    for path, image, outcome in _checked_images(paths):
        summary.outcomes.append(outcome)
        if image is not None:
            images.append(image)
    return images, summary


def scan_training_files(paths: Iterable[Path]) -> tuple["ImageFiles", Summary]:
    """Like :func:`load_training_images`, but keep only the good files' paths, as a sequence that
    reads each image when it is used: memory does not grow with the number of files."""
    good: list[Path] = []
    summary = Summary()
    for path, image, outcome in _checked_images(paths):
        summary.outcomes.append(outcome)
        if image is not None:
            good.append(path)
    return ImageFiles(good), summary


def _checked_images(paths: Iterable[Path]):
    """Each path, its image (None if it failed) and its outcome; images must match the first good one."""
    first: tuple[Path, np.ndarray] | None = None
    for path in paths:
        try:
            image = read_depth(path)
            if first is not None:
                ref_path, ref = first
                check_image(image, ref.shape, ref.dtype, str(path), f"{ref_path}'s")
            else:
                first = (path, image)
        except FacefillError as exc:
            yield path, None, Outcome(path, FAILED, error_message(path, exc))
            continue
        yield path, image, Outcome(path, DONE)


class ImageFiles(Sequence):
    """Depth image files as a sequence of images, each read when it is indexed."""

    def __init__(self, paths: Iterable[Path]):
        self.paths = list(paths)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> np.ndarray:
        return read_depth(self.paths[index])


def plan_outputs(
    source: str | os.PathLike, out: str | os.PathLike, destinations: Destinations | None = None
) -> list[tuple[Path, Path]]:
    """Pair each input image with its output path.

    A folder's images go to the same relative paths below ``out``. A single file
    goes to ``out`` itself when ``out`` has an image suffix, else into ``out``.
    Every output is claimed from ``destinations`` (by default: this command
    reads ``source`` only): none may be an input or lie in the input folder,
    links followed (outputs would overwrite, or be read back as, inputs).
    """
    source, out = Path(source), Path(out)
    destinations = Destinations(source) if destinations is None else destinations
    if source.is_file():
        target = out if out.suffix.lower() in FORMAT_DTYPES else out / source.name
        return [(source, destinations.claim(target))]
    destinations.claim_folder(out, "output folder")
    return [(source.joinpath(*parts), destinations.claim(out.joinpath(*parts))) for parts in image_parts(source)]


def confidence_path(target: Path, out: Path, confidence_dir: Path) -> Path:
    """Where the confidence map of ``target`` goes: its path below ``out``, moved to ``confidence_dir``, as .tif."""
    try:
        relative = target.relative_to(out)
    except ValueError:
        relative = Path(target.name)
    if relative == Path("."):  # a single file written to an explicit output path: out is the file
        relative = Path(target.name)
    return confidence_dir / relative.with_suffix(".tif")


def reconstruct_files(
    model: FaceModel,
    pairs: list[tuple[Path, Path]],
    method: "str | Method" = "auto",
    overwrite: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    confidence_targets: dict[Path, Path] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
) -> Summary:
    """Reconstruct each ``(source, target)`` pair; per-file errors are collected, not raised.

    Parameters
    ----------
    model : FaceModel
    pairs : list of (Path, Path)
        Input files and their output paths (see :func:`plan_outputs`).
    method : str or Method
        A name from ``facefill.fill.METHODS``, or a ``Method``.
    overwrite : bool
        Replace outputs that exist; otherwise they are skipped, so that a re-run
        of an interrupted batch finishes only what is left.
    on_outcome : callable, optional
        Called with each file's outcome as soon as it is known (in the order of
        completion, which with workers is not the order of ``pairs``).
    confidence_targets : dict, optional
        Maps sources to the paths of their confidence maps.
    workers : int, default 1
        Processes on this machine; 1 runs in this process. At most one per
        core and one per chunk of files are started (:func:`usable_workers`).
    scheduler : str, optional
        Address of a Dask distributed scheduler (e.g. ``tcp://10.0.0.5:8786``)
        whose workers read and write the files; the model is sent to each
        worker once. Needs the ``dask`` extra. Overrides ``workers``.
    connect_timeout : float
        Seconds to wait for the scheduler to answer.

    Returns
    -------
    Summary
        Outcomes in the order of ``pairs``. The files written are the same
        whatever ``workers`` or ``scheduler`` is.
    """
    whole_number("workers", workers)
    get_method(method)  # an unknown name is an error before any file is touched
    jobs = [
        Job(source, target, None if confidence_targets is None else confidence_targets[source])
        for source, target in pairs
    ]
    outputs = [job.target for job in jobs] + [job.confidence_target for job in jobs if job.confidence_target]
    remove_stale_temporaries(outputs)  # left by an earlier run that was killed
    outcomes: list[Outcome | None] = [None] * len(jobs)

    def record(index: int, outcome: Outcome) -> None:
        outcomes[index] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    if scheduler is not None:
        runner = DaskRunner(scheduler, connect_timeout)
    else:
        workers = usable_workers(workers, len(jobs))
        runner = InProcess() if workers == 1 else Processes(workers)
    if runner.run(Task(model, method, overwrite), jobs, record):
        remove_stale_temporaries(outputs)  # left by workers stopped when one of them died
    return Summary(outcomes)  # type: ignore[arg-type]


def default_workers() -> int:
    """The workers a batch uses by default: one per core this process may use."""
    return available_cores()


def usable_workers(requested: int, files: int) -> int:
    """The processes a batch of ``files`` starts for ``requested`` workers: no more than the cores
    (more only fight for them, and a huge number would exhaust the machine) nor than the chunks
    of files (an idle process costs its start)."""
    return max(1, min(requested, available_cores(), len(chunks(files))))
