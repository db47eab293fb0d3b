"""Batches of files: training sets and folders to reconstruct, one bad file never stopping the rest."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from .errors import FacefillError, OutputPathError, ShapeMismatchError
from .io import FORMAT_DTYPES, find_images, format_size, missing_mask, read_depth, write_depth
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
    """Read training faces; files that fail or differ from the first good file in size or dtype are reported, not fatal."""
    images: list[np.ndarray] = []
    summary = Summary()
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
            summary.outcomes.append(Outcome(path, FAILED, _message(path, exc)))
            continue
        images.append(image)
        summary.outcomes.append(Outcome(path, DONE))
    return images, summary


def plan_outputs(source: str | os.PathLike, out: str | os.PathLike) -> list[tuple[Path, Path]]:
    """Pair each input image with its output path.

    A folder's images go to the same relative paths below ``out``. A single file
    goes to ``out`` itself when ``out`` has an image suffix, else into ``out``.
    ``out`` may not be the input folder or lie inside it (outputs would mix with,
    and be read back as, inputs), nor be the input file.
    """
    source, out = Path(source), Path(out)
    paths = find_images(source)
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
    return [(path, out / path.relative_to(source)) for path in paths]


def confidence_path(target: Path, out: Path, confidence_dir: Path) -> Path:
    """Where the confidence map of ``target`` goes: its path below ``out``, moved to ``confidence_dir``, as .tif."""
    try:
        relative = target.relative_to(out)
    except ValueError:  # a single file written to an explicit output path
        relative = Path(target.name)
    return confidence_dir / relative.with_suffix(".tif")


def reconstruct_file(
    model: FaceModel,
    source: Path,
    target: Path,
    method: str,
    overwrite: bool,
    confidence_target: Path | None = None,
) -> Outcome:
    """Reconstruct one file (and write its float32 confidence map if asked); never raises a
    facefill error, returns its outcome instead."""
    if target.exists() and not overwrite:
        return Outcome(source, SKIPPED, f"{target}: exists; use --overwrite to replace it", target)
    try:
        image = read_depth(source)
        model.check_image(image, name=str(source))
        nothing_missing = not missing_mask(image, model.missing_value_).any()
        if confidence_target is None:
            write_depth(target, model.reconstruct(image, method=method))
        else:
            filled, confidence = model.reconstruct(image, method=method, return_confidence=True)
            write_depth(confidence_target, confidence)
            write_depth(target, filled)
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
) -> Summary:
    """Reconstruct each ``(source, target)`` pair; per-file errors are collected, not raised.

    ``confidence_targets`` maps sources to the paths of their confidence maps.
    """
    summary = Summary()
    for source, target in pairs:
        confidence_target = None if confidence_targets is None else confidence_targets[source]
        outcome = reconstruct_file(model, source, target, method, overwrite, confidence_target)
        summary.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)
    return summary
