"""The unit of work of a batch: one file to reconstruct, and what happened to it.

Runners (one process, processes, a Dask cluster) send :class:`Job` chunks to
:func:`reconstruct_jobs`; outcomes come back as values, never as exceptions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .depth import format_size, missing_mask
from .errors import FacefillError, ImageReadError, ShapeMismatchError
from .fill import Method
from .formats import read_depth, read_mask, write_depth
from .model import FaceModel

DONE, SKIPPED, FAILED = "done", "skipped", "failed"
#: Flush each reconstruction to the disk before it appears. Off: a rename already makes
#: every output complete or absent whatever happens to the process, and a flush per file
#: costs as much as writing it; only a power cut could lose recent outputs.
DURABLE_OUTPUTS = False


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


@dataclass(frozen=True)
class Job:
    """One file to reconstruct: where it is, where its result goes, where its confidence map goes,
    the mask of pixels to replace, if any, and where the occluders found go."""

    source: Path
    target: Path
    confidence_target: Path | None = None
    mask: Path | None = None
    occluder_target: Path | None = None


@dataclass(frozen=True)
class Task:
    """What every job of a batch shares: the model, the method's name, whether to overwrite, whether
    to find and replace occluders."""

    model: FaceModel
    method: "str | Method"
    overwrite: bool
    occluders: bool = False


def error_message(path: Path, exc: Exception) -> str:
    """An error's message, prefixed with the file's name unless it names it already."""
    text = str(exc)
    return text if str(path) in text else f"{path}: {text}"


def reconstruct_job(task: Task, job: Job) -> Outcome:
    """Reconstruct one file (and write its float32 confidence map if asked); never raises a
    facefill error, returns its outcome instead.

    The confidence map and the occluders found are written before the
    reconstruction, so an existing reconstruction means the file is complete
    and a re-run may skip it.
    """
    if job.target.exists() and not task.overwrite:
        return Outcome(job.source, SKIPPED, f"{job.target}: exists; use --overwrite to replace it", job.target)
    model = task.model
    try:
        image = read_depth(job.source)
        name = str(job.source)
        mask = None if job.mask is None else _read_job_mask(job, image.shape)
        if task.occluders:
            found = model.find_occluders(image, name=name, mask=mask)
            if job.occluder_target is not None:
                write_depth(job.occluder_target, np.where(found, 255, 0).astype(np.uint8), durable=DURABLE_OUTPUTS)
            mask = found if mask is None else mask | found
        if job.confidence_target is None:
            write_depth(job.target, model.reconstruct(image, task.method, name=name, mask=mask), durable=DURABLE_OUTPUTS)
        else:
            filled, confidence = model.reconstruct(image, task.method, return_confidence=True, name=name, mask=mask)
            write_depth(job.confidence_target, confidence, durable=DURABLE_OUTPUTS)
            write_depth(job.target, filled, durable=DURABLE_OUTPUTS)
        nothing_missing = not missing_mask(image, model.missing_value_).any()  # for the note only
    except FacefillError as exc:
        return Outcome(job.source, FAILED, error_message(job.source, exc), job.target)
    note = f"{job.source}: nothing missing; written unchanged" if nothing_missing else ""
    return Outcome(job.source, DONE, note, job.target)


def _read_job_mask(job: Job, shape: tuple[int, ...]):
    """The job's mask, as booleans of the image's ``shape``; errors name both files."""
    if not job.mask.exists():
        raise ImageReadError(f"{job.source}: its mask {job.mask} does not exist (--mask: a mask per input, at its relative path)")
    try:
        mask = read_mask(job.mask)
    except FacefillError as exc:
        raise type(exc)(f"{job.source}: its mask: {exc}") from exc
    if mask.shape != shape:
        raise ShapeMismatchError(
            f"{job.source}: its mask {job.mask} is {format_size(mask.shape)}; expected the image's size {format_size(shape)} (width x height)"
        )
    return mask


def reconstruct_jobs(task: Task, jobs: list[Job]) -> list[Outcome]:
    """Reconstruct a few files: the unit of work sent to processes and clusters."""
    return [reconstruct_job(task, job) for job in jobs]
