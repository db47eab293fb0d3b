"""Batches of files: training sets and folders to reconstruct, one bad file never stopping the rest.

The batch plans where each output goes, sweeps temporaries a killed run left,
and hands the jobs to a runner (``runners``, ``cluster``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .atomic import remove_stale_temporaries
from .checks import check_image, whole_number
from .cluster import CONNECT_TIMEOUT, DaskRunner
from .destinations import Destinations
from .discovery import image_parts
from .errors import FacefillError, InvalidParameterError
from .fill import Method, get_method
from .formats import FORMAT_DTYPES, SUPPORTED_SUFFIXES, read_depth
from .jobs import DONE, FAILED, SKIPPED, Job, Outcome, Summary, Task, error_message
from .model import FaceModel
from .runners import CHUNK_FILES, InProcess, Processes, available_cores

__all__ = [
    "DONE", "FAILED", "SKIPPED", "ImageFiles", "Outcome", "Summary", "companion_path", "default_workers",
    "load_training_images", "mask_paths", "plan_outputs", "reconstruct_files", "scan_training_files", "usable_workers",
]


def load_training_images(paths: Iterable[Path]) -> tuple[list[np.ndarray], Summary]:
    """Read training faces into memory; files that fail, or differ in size or dtype from the kind
    most of the files are, are reported, not fatal."""
    images, summary = _scan(paths, keep=True)
    return [image for image in images if image is not None], summary


def scan_training_files(paths: Iterable[Path], on_progress=None) -> tuple["ImageFiles", Summary]:
    """Like :func:`load_training_images`, but keep only the good files' paths, as a sequence that
    reads each image when it is used: memory does not grow with the number of files.
    ``on_progress``, if given, is called with ``"reading the files"``, the files read and their
    number (for progress)."""
    _, summary = _scan(paths, keep=False, on_progress=on_progress)
    return ImageFiles([o.source for o in summary.outcomes if o.status == DONE]), summary


def _scan(paths: Iterable[Path], keep: bool, on_progress=None) -> tuple[list, Summary]:
    """Read every file; the size and dtype most of the readable ones share is the training set's
    (a stray file first in the order does not decide it). Returns the images (if ``keep``; None
    for a file that failed) and the outcomes, in order."""
    kinds: dict[Path, tuple] = {}
    images: list = []
    outcomes: list[Outcome] = []
    paths = list(paths)
    report = on_progress if on_progress is not None else (lambda stage, done, total: None)
    report("reading the files", 0, len(paths))
    for done, path in enumerate(paths, start=1):
        try:
            image = read_depth(path)
        except FacefillError as exc:
            outcomes.append(Outcome(path, FAILED, error_message(path, exc)))
            images.append(None)
        else:
            kinds[path] = (image.shape, image.dtype)
            outcomes.append(Outcome(path, DONE))
            images.append(image if keep else None)
        report("reading the files", done, len(paths))
    if kinds:
        majority = Counter(kinds.values()).most_common(1)[0][0]
        reference = next(path for path, kind in kinds.items() if kind == majority)
        for i, outcome in enumerate(outcomes):
            kind = kinds.get(outcome.source)
            if outcome.status == DONE and kind != majority:
                try:
                    check_image(np.broadcast_to(np.zeros((), kind[1]), kind[0]), *majority, str(outcome.source), f"{reference}'s (most files')")
                except FacefillError as exc:
                    outcomes[i] = Outcome(outcome.source, FAILED, error_message(outcome.source, exc))
                    images[i] = None
    return images, Summary(outcomes)


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
    destinations.claim(out, "output folder")
    return [(source.joinpath(*parts), destinations.claim(out.joinpath(*parts))) for parts in image_parts(source)]


def mask_paths(source: str | os.PathLike, pairs: list[tuple[Path, Path]], mask: str | os.PathLike) -> dict[Path, Path]:
    """The mask of each input of ``pairs``: ``mask`` itself for a single input file; for a folder
    of inputs, the file at the input's relative path below the folder ``mask``, or else the only
    file there of the same name and another image type. A mask that is not there is an error of
    its input alone, when it is reconstructed."""
    source, mask = Path(source), Path(mask)
    if source.is_file():
        return {path: mask / path.name if mask.is_dir() else mask for path, _ in pairs}
    if not mask.is_dir():
        raise InvalidParameterError(f"--mask {mask}: not a folder; for the folder {source}, give a folder of masks at the inputs' relative paths")
    masks = {}
    for path, _ in pairs:
        expected = mask / path.relative_to(source)
        if not expected.exists():
            others = [expected.with_suffix(suffix) for suffix in SUPPORTED_SUFFIXES if expected.with_suffix(suffix).is_file()]
            expected = others[0] if len(others) == 1 else expected
        masks[path] = expected
    return masks


def companion_path(target: Path, out: Path, folder: Path, suffix: str) -> Path:
    """Where a file that goes with the output ``target`` goes (its confidence map as .tif, the
    occluders found as .png): ``target``'s path below ``out``, moved to ``folder``, with ``suffix``."""
    try:
        relative = target.relative_to(out)
    except ValueError:
        relative = Path(target.name)
    if relative == Path("."):  # a single file written to an explicit output path: out is the file
        relative = Path(target.name)
    return folder / relative.with_suffix(suffix)


def reconstruct_files(
    model: FaceModel,
    pairs: list[tuple[Path, Path]],
    method: "str | Method" = "auto",
    overwrite: bool = False,
    on_outcome: Callable[[Outcome], None] | None = None,
    confidence_targets: dict[Path, Path] | None = None,
    masks: dict[Path, Path] | None = None,
    occluders: bool = False,
    occluder_targets: dict[Path, Path] | None = None,
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
    masks : dict, optional
        Maps sources to their masks of pixels to replace (see :func:`mask_paths`).
    occluders : bool
        Also replace what ``model.find_occluders`` finds in front of each face.
    occluder_targets : dict, optional
        Maps sources to where what was found goes (a PNG, 255 where found); with ``occluders``.
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
        Job(
            source,
            target,
            None if confidence_targets is None else confidence_targets[source],
            None if masks is None else masks[source],
            None if occluder_targets is None else occluder_targets[source],
        )
        for source, target in pairs
    ]
    outputs = [job.target for job in jobs]
    outputs += [path for job in jobs for path in (job.confidence_target, job.occluder_target) if path is not None]
    remove_stale_temporaries(outputs)  # left by an earlier run that was killed
    existed = {job.target for job in jobs if job.target.exists()} if not overwrite else set()
    outcomes: list[Outcome | None] = [None] * len(jobs)

    def record(index: int, outcome: Outcome) -> None:
        if outcome.status == SKIPPED and outcome.target not in existed:
            # retried after its worker died, which had written it: this run's work, not a skip
            outcome = Outcome(outcome.source, DONE, "", outcome.target)
        outcomes[index] = outcome
        if on_outcome is not None:
            on_outcome(outcome)

    if scheduler is not None:
        runner = DaskRunner(scheduler, connect_timeout)
    else:
        workers = usable_workers(workers, len(jobs))
        runner = InProcess() if workers == 1 else Processes(workers)
    if runner.run(Task(model, method, overwrite, occluders), jobs, record):
        remove_stale_temporaries(outputs)  # left by workers stopped when one of them died
    return Summary(outcomes)  # type: ignore[arg-type]


def default_workers() -> int:
    """The workers a batch uses by default: one per core this process may use."""
    return available_cores()


def usable_workers(requested: int, files: int) -> int:
    """The processes a batch of ``files`` starts for ``requested`` workers: no more than the cores
    (more only fight for them, and a huge number would exhaust the machine) nor than the chunks
    of files (an idle process costs its start)."""
    return max(1, min(requested, available_cores(), -(-files // CHUNK_FILES)))
