"""Batches of files: training sets and folders to reconstruct, one bad file never stopping the rest."""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .errors import FacefillError, InvalidParameterError, OutputPathError, ShapeMismatchError
from .io import FORMAT_DTYPES, format_size, image_parts, missing_mask, read_depth, remove_stale_temporaries, write_depth
from .model import FaceModel

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass
class Outcome:
    """What happened to one file."""

    source: Path
    status: str
    message: str = ""
    target: Path | None = None


@dataclass
class Summary:
    """Outcomes of a batch, in the order the files were given."""

    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    def line(self, verb: str) -> str:
        return f"{verb} {self.count(DONE)}, skipped {self.count(SKIPPED)}, failed {self.count(FAILED)}"


def _message(path: Path, exc: Exception) -> str:
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"


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
                if image.shape != ref.shape:
                    raise ShapeMismatchError(
                        f"{path}: size {format_size(image.shape)} differs from {format_size(ref.shape)} of {ref_path} "
                        "(width x height); all training images must share one size"
                    )
                if image.dtype != ref.dtype:
                    raise ShapeMismatchError(
                        f"{path}: dtype {image.dtype} differs from {ref.dtype} of {ref_path}; "
                        "all training images must share one dtype"
                    )
            else:
                first = (path, image)
        except FacefillError as exc:
            yield path, None, Outcome(path, FAILED, _message(path, exc))
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


def plan_outputs(source: str | os.PathLike, out: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Pair each input image with its output path.

    A folder's images go to the same relative paths below ``out``. A single file
    goes to ``out`` itself when ``out`` has an image suffix, else into ``out``.
    ``out`` may not be the input folder or lie inside it (outputs would mix with,
    and be read back as, inputs), nor be the input file.
    """
    source, out = Path(source), Path(out)
    if source.is_file():
        target = out if out.suffix.lower() in FORMAT_DTYPES else out / source.name
        if target.resolve() == source.resolve():
            raise OutputPathError(f"{target}: output would overwrite the input file {source}")
        return [(source, target)]
    resolved_source, resolved_out = source.resolve(), out.resolve()
    if resolved_out == resolved_source or resolved_source in resolved_out.parents:
        raise OutputPathError(
            f"output folder {out} is {'the input folder' if resolved_out == resolved_source else 'inside the input folder'} "
            f"{source}; choose a folder outside it"
        )
    return [(source.joinpath(*parts), out.joinpath(*parts)) for parts in image_parts(source)]


def confidence_path(target: Path, out: Path, confidence_dir: Path) -> Path:
    """Where the confidence map of ``target`` goes: its path below ``out``, moved to ``confidence_dir``, as .tif."""
    try:
        relative = target.relative_to(out)
    except ValueError:  # a single file written to an explicit output path
        relative = Path(target.name)
    return confidence_dir / relative.with_suffix(".tif")


@dataclass(frozen=True)
class Job:
    """One file to reconstruct: where it is, where its result goes, where its confidence map goes."""

    source: Path
    target: Path
    confidence_target: Path | None = None


def reconstruct_file(
    model: FaceModel,
    source: Path,
    target: Path,
    method: str,
    overwrite: bool,
    confidence_target: Path | None = None,
) -> Outcome:
    """Reconstruct one file (and write its float32 confidence map if asked); never raises a
    facefill error, returns its outcome instead.

    The confidence map is written before the reconstruction, so an existing
    reconstruction means the file is complete and a re-run may skip it.
    """
    if target.exists() and not overwrite:
        return Outcome(source, SKIPPED, f"{target}: exists; use --overwrite to replace it", target)
    try:
        image = read_depth(source)
        model.check_image(image, name=str(source))
        nothing_missing = not missing_mask(image, model.missing_value_).any()
        if confidence_target is None:
            write_depth(target, model.reconstruct(image, method=method), durable=DURABLE_OUTPUTS)
        else:
            filled, confidence = model.reconstruct(image, method=method, return_confidence=True)
            write_depth(confidence_target, confidence, durable=DURABLE_OUTPUTS)
            write_depth(target, filled, durable=DURABLE_OUTPUTS)
    except FacefillError as exc:
        return Outcome(source, FAILED, _message(source, exc), target)
    note = f"{source}: nothing missing; written unchanged" if nothing_missing else ""
    return Outcome(source, DONE, note, target)


def reconstruct_files(
    model: FaceModel,
    pairs: list[tuple[Path, Path]],
    method: str = "auto",
    overwrite: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    confidence_targets: dict[Path, Path] | None = None,
    workers: int = 1,
    scheduler: str | None = None,
) -> Summary:
    """Reconstruct each ``(source, target)`` pair; per-file errors are collected, not raised.

    Parameters
    ----------
    model : FaceModel
    pairs : list of (Path, Path)
        Input files and their output paths (see :func:`plan_outputs`).
    method : str
        A name from ``facefill.methods.METHODS``.
    overwrite : bool
        Replace outputs that exist; otherwise they are skipped, so that a re-run
        of an interrupted batch finishes only what is left.
    on_outcome : callable, optional
        Called with each file's outcome as soon as it is known (in the order of
        completion, which with workers is not the order of ``pairs``).
    confidence_targets : dict, optional
        Maps sources to the paths of their confidence maps.
    workers : int, default 1
        Processes on this machine; 1 runs in this process.
    scheduler : str, optional
        Address of a Dask distributed scheduler (e.g. ``tcp://10.0.0.5:8786``)
        whose workers read and write the files; the model is sent to each
        worker once. Needs the ``dask`` extra. Overrides ``workers``.

    Returns
    -------
    Summary
        Outcomes in the order of ``pairs``. The files written are the same
        whatever ``workers`` or ``scheduler`` is.
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidParameterError(f"workers {workers!r} is not valid; expected a whole number >= 1")
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
        from .cluster import run_on_cluster

        run_on_cluster(scheduler, model, jobs, method, overwrite, record)
    elif workers == 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            record(index, reconstruct_file(model, job.source, job.target, method, overwrite, job.confidence_target))
    else:
        if _run_in_processes(workers, model, jobs, method, overwrite, record):
            remove_stale_temporaries(outputs)  # left by workers stopped when one of them died
    return Summary(outcomes)  # type: ignore[arg-type]


def default_workers() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


#: Flush each reconstruction to the disk before it appears. Off: a rename already makes
#: every output complete or absent whatever happens to the process, and a flush per file
#: costs as much as writing it; only a power cut could lose recent outputs.
DURABLE_OUTPUTS = False
#: Files per task sent to a worker: large enough to make the cost of sending a task small,
#: small enough to keep all workers busy to the end and the progress bar moving.
CHUNK_FILES = 8


def chunks(count: int, size: int = CHUNK_FILES) -> list[range]:
    """Index ranges of consecutive jobs, ``size`` at a time."""
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def reconstruct_chunk(model: FaceModel, jobs: list[Job], method: str, overwrite: bool) -> list[Outcome]:
    """Reconstruct a few files in a worker; the unit of work sent to processes and clusters."""
    return _reconstruct_jobs(model, jobs, method, overwrite)


def _reconstruct_jobs(model: FaceModel, jobs: list[Job], method: str, overwrite: bool) -> list[Outcome]:
    return [reconstruct_file(model, job.source, job.target, method, overwrite, job.confidence_target) for job in jobs]


_worker_model: FaceModel | None = None


def _start_worker(model: FaceModel) -> None:
    # each worker receives the model once, at its start, not with every task
    global _worker_model
    _worker_model = model
    # Ctrl-C reaches every process of the terminal's group: the parent alone decides what
    # happens; a worker finishes its file (outputs are atomic) and is then stopped
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _chunk_in_worker(jobs: list[Job], method: str, overwrite: bool) -> list[Outcome]:
    return _reconstruct_jobs(_worker_model, jobs, method, overwrite)


def _process_context():
    # fork starts a worker at once with the model already in memory; elsewhere spawn
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _pool(workers: int, model: FaceModel) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=_process_context(), initializer=_start_worker, initargs=(model,)
    )


def _run_in_processes(workers, model, jobs, method, overwrite, record) -> bool:
    """Run ``jobs`` on ``workers`` processes, a few chunks in flight at a time; return whether
    a worker died.

    A worker that dies (killed, or crashed by a file) breaks the pool: the files
    then in flight are retried one at a time in a process of their own, so that
    only a file that kills its process again fails, and the rest go on in a new pool.
    """
    broken = False
    todo = [list(chunk) for chunk in chunks(len(jobs))][::-1]  # popped from the end, in order
    while todo:
        lost: list[int] = []
        with _pool(workers, model) as pool:
            in_flight: dict = {}
            try:
                while todo or in_flight:
                    while todo and len(in_flight) < 2 * workers:
                        chunk = todo.pop()
                        in_flight[pool.submit(_chunk_in_worker, [jobs[i] for i in chunk], method, overwrite)] = chunk
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        chunk = in_flight.pop(future)
                        try:
                            results = future.result()
                        except BrokenProcessPool:
                            lost.extend(chunk)
                            continue
                        for index, outcome in zip(chunk, results):
                            record(index, outcome)
                    if lost:
                        lost.extend(i for chunk in in_flight.values() for i in chunk)
                        break
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        broken |= bool(lost)
        for index in sorted(lost):
            record(index, _run_alone(model, jobs[index], method, overwrite))
    return broken


def _run_alone(model, job: Job, method, overwrite) -> Outcome:
    """One file in a process of its own: a file that kills its process fails alone."""
    with _pool(1, model) as pool:
        try:
            return pool.submit(_chunk_in_worker, [job], method, overwrite).result()[0]
        except BrokenProcessPool:
            return Outcome(job.source, FAILED, f"{job.source}: the worker process died while reconstructing it", job.target)
