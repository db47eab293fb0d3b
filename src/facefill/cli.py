"""The ``facefill`` command line: a thin layer over the library.

Library errors (``FacefillError``) become ``Error: ...`` on stderr and exit
code 1 in one place, ``_user_errors``; nothing here computes.
"""

from __future__ import annotations

import functools
import math
import os
import sys
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Optional

import numpy as np
import typer

from . import batch
from .checks import check_missing_value, whole_number
from .cluster import CONNECT_TIMEOUT
from .depth import depth_units
from .destinations import Destinations
from .discovery import find_images
from .errors import FacefillError, InvalidParameterError, NoImagesError, OutputPathError
from .fill import METHODS, get_method
from .model import FaceModel
from .training import AVERAGES

app = typer.Typer(
    name="facefill",
    help="Fill the missing parts of face depth images from a model learned on complete faces.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    # help texts are plain: rich markup would take "[default: ...]" for a tag and drop it
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        _echo(f"facefill {version('facefill')}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print facefill's version and exit."),
) -> None:
    """Fill the missing parts of face depth images from a model learned on complete faces."""


def _user_errors(command):
    """Turn facefill's typed errors into ``Error: ...`` and exit code 1, and Ctrl-C into exit
    code 130: the one place this happens."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except FacefillError as exc:
            _error_line(str(exc))
            raise typer.Exit(1) from None
        except KeyboardInterrupt:  # Ctrl-C: outputs are atomic, so nothing half-written is left
            _error_line("interrupted")
            raise typer.Exit(130) from None

    return wrapper


def printable(text: str) -> str:
    """``text`` with every character a terminal would act on (newlines, escape sequences, other
    control characters) written as its Python escape: a file name can neither forge a line nor
    move the cursor."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _echo(text: str, err: bool = False) -> None:
    """Every line the command line prints goes through here, escaped. A stream whose reader has
    gone (``facefill ... 2>&1 | head -1``) is sent to the null device from then on: the command
    goes on with its work instead of stopping at the first line it cannot print."""
    try:
        typer.echo(printable(text), err=err)
    except BrokenPipeError:
        stream = sys.stderr if err else sys.stdout
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)


def _note_step(text: str) -> None:
    """A long command's next stage, as a note (the library's ``on_step`` callbacks)."""
    _echo(f"note: {text} ...", err=True)


def _error_line(message: str) -> None:
    _echo(f"Error: {message}", err=True)


def parse_missing_value(text: Optional[str]) -> Optional[float]:
    """``--missing-value`` text: a number or ``nan``; None keeps the dtype's default."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.inf  # refused below, with the same message
    if math.isinf(value):
        raise InvalidParameterError(f"--missing-value {text!r} is not a number; expected e.g. 255, 0 or nan")
    return value if math.isnan(value) or value != int(value) else int(value)


#: Without a terminal, progress is a few plain lines: one at every this share of the work ...
LOG_SHARE = 0.1
#: ... or after this many seconds since the last, whichever comes first, and one at the end.
LOG_SECONDS = 10.0


@contextmanager
def _progress(total: int, label: str, quiet: bool = False):
    """Progress on stderr for batches worth it (5 items or more): a bar on a terminal, a
    few plain lines otherwise (a piped or logged run: start, every 10 % or 10 s, end); nothing
    if ``quiet``.

    rich is imported only for a bar: it costs 0.08 s of every start.
    """
    if quiet or total < 5:
        yield lambda steps=1: None
        return
    if not sys.stderr.isatty():
        yield _log_lines(total, label)
        _echo(f"{label}: {total}/{total} done", err=True)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda steps=1: progress.advance(task, steps)


def _log_lines(total: int, label: str):
    """An ``advance(steps=1)`` that writes a plain progress line now and then (see :func:`_progress`)."""
    import time

    _echo(f"{label}: 0/{total}", err=True)
    state = {"done": 0, "logged": 0, "time": time.monotonic()}

    def advance(steps: int = 1):
        state["done"] += steps
        now = time.monotonic()
        if state["done"] < total and (
            state["done"] - state["logged"] >= LOG_SHARE * total or now - state["time"] >= LOG_SECONDS
        ):
            _echo(f"{label}: {state['done']}/{total}", err=True)
            state["logged"], state["time"] = state["done"], now

    return advance


class _StageProgress:
    """An ``on_progress(stage, done, total)`` for the library's staged work (reading, training,
    writing faces): each stage drawn as :func:`_progress` draws a batch. Use as a context."""

    def __init__(self, quiet: bool = False):
        self.quiet, self.stage, self.done, self.stack = quiet, None, 0, ExitStack()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if stage != self.stage:
            self.stack.close()
            self.stage, self.done = stage, 0
            self.advance = self.stack.enter_context(_progress(total, stage, self.quiet))
        if done > self.done:
            self.advance(done - self.done)
            self.done = done

    def __enter__(self) -> "_StageProgress":
        return self

    def __exit__(self, *error) -> None:
        self.stack.__exit__(*error)  # a stage cut short by an error closes its bar, and is not said done


# ------------------------------------------------------------------ train
@app.command()
@_user_errors
def train(
    train_dir: Path = typer.Argument(..., metavar="TRAIN_DIR", help="Folder of complete face depth images (searched recursively)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model file to write (.npz)."),
    average: str = typer.Option("mean", help=f"How to average: {' or '.join(AVERAGES)} (the original's)."),
    batch_size: int = typer.Option(1, help="Batch size of --average running."),
    chunk_size: int = typer.Option(128, help="Training images decoded and held in memory at a time."),
    missing_value: Optional[str] = typer.Option(
        None, help="Value marking missing pixels [default: 255 for 8-bit, 0 for 16-bit, nan for float]."
    ),
    renders: int = typer.Option(
        0,
        help="Render this many faces from the morphable model to look like the training faces, and lend the "
        "prior their variation (as much as cross-validation finds helps; the average face and outline stay the faces' own).",
    ),
    tolerance: str = typer.Option(
        "auto",
        help="The error (image units) a confidence is the chance of staying within "
        "[default: auto, the held-out median error rounded up to 1, 2 or 5 times a power of ten].",
        show_default=False,
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines or bars."),
) -> None:
    """Learn a face model from complete face depth images."""
    from .report import model_preview_path, save_model_preview

    estimator = FaceModel(
        average=average, batch_size=batch_size, chunk_size=chunk_size, tolerance=_auto_or_float("--tolerance", tolerance)
    )
    estimator.check_params()
    missing = parse_missing_value(missing_value)
    if model.suffix != ".npz":
        raise OutputPathError(f"--model {model}: a model file's name must end in .npz")
    destinations = Destinations(train_dir)
    destinations.claim(model, "model")
    destinations.claim(model_preview_path(model), "picture of the model")
    _note_not_read(train_dir)
    paths = find_images(train_dir)
    with _StageProgress(quiet) as on_progress:
        images, summary = batch.scan_training_files(paths, on_progress)
    for outcome in summary.failed:
        _error_line(outcome.message)
    if not len(images):
        raise NoImagesError(f"{train_dir}: none of the {len(paths)} files could be read as a depth image")
    whole_number("--renders", renders, minimum=0)
    if missing is not None:  # against the faces' dtype, before the work
        check_missing_value(missing, np.asarray(images[0]).dtype)
    rendered_faces, rendered = None, ""
    if renders:
        from .pretrained import renders_like

        rendered_faces = renders_like(images, renders, missing)
        rendered = f" and {renders} rendered like them"
    if not quiet:
        _echo(f"note: learning from {len(images)} faces{rendered}", err=True)
    with _StageProgress(quiet) as on_progress:
        estimator.fit(images, missing, on_progress=on_progress, renders=rendered_faces)
    estimator.save(model)
    preview = save_model_preview(estimator, model)
    _echo(
        f"Trained on {len(images)} faces{rendered} of {estimator.shape_[1]}x{estimator.shape_[0]} {estimator.dtype_}: "
        f"{model} (average face: {preview})"
    )
    _echo(summary.line("read"))
    for line in _training_summary(estimator):
        _echo(line)
    if summary.failed:
        raise typer.Exit(1)


def _auto_or_float(option: str, text: str):
    """An option's text as ``"auto"`` or a float (range checks are the estimator's)."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise InvalidParameterError(f"{option} {text!r} is not valid; expected auto or a number") from None


def _training_summary(estimator: FaceModel) -> list[str]:
    """What ``train`` learned, in a few lines: how complete the faces were, the prior's settings
    and their cross-validated error, the unit occluders are measured in and what a confidence means."""
    prior, outline = estimator.prior_, estimator.outline_
    missing = float(np.mean(1 - estimator.frequency_[outline])) if outline.any() else 0.0
    chosen = "chosen by cross-validation" if np.isfinite(prior.cv_error) else "as given"
    error = f", cross-validated MAE {prior.cv_error:.3g}" if np.isfinite(prior.cv_error) else ""
    return [
        f"faces: {100 * missing:.1f} % of the pixels inside their majority outline are missing "
        "(holes or ragged outlines; a model learns from what is there)",
        f"prior: {prior.n_components} components, noise {prior.noise:.3g}, mirror weight {prior.mirror_weight:.3g}, "
        f"border smoothing {prior.border_smoothing:.3g} px"
        f"{f', {100 * prior.render_share:.0f} % of its covariance from the renders' if prior.render_share else ''} "
        f"({chosen}{error}); residual spread {prior.residual_spread:.3g} (the unit of --occluders)",
    ] + ([_confidence_meaning(estimator)] if estimator.calibration_ is not None else [])


def _confidence_meaning(estimator: FaceModel, faces: str = "held-out faces") -> str:
    return (
        f"confidence: the chance that a filled pixel is within {estimator.calibration_.tolerance:g} "
        f"{depth_units(estimator.dtype_)} of the truth (learned on {faces})"
    )


# ------------------------------------------------------------ reconstruct
def _reconstruct(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="A depth image, or a folder of them (recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (or output file for a single input)."),
    model: Optional[Path] = typer.Option(
        None,
        "--model",
        "-m",
        help="Model file written by 'facefill train' [default: a model of faces rendered in the inputs' frame].",
    ),
    method: str = typer.Option("auto", help=f"Method: {', '.join(METHODS)}."),
    mask: Optional[Path] = typer.Option(
        None,
        help="Also replace the pixels this mask marks (non-zero; a hand, glasses): a mask image for one input, "
        "or a folder of masks at the inputs' relative paths (any image type facefill reads).",
    ),
    occluders: bool = typer.Option(
        False, "--occluders", help="Also find what is in front of each face (a hand, glasses, hair) and replace it."
    ),
    occluder_masks: Optional[Path] = typer.Option(
        None, help="With --occluders: write what was found into this folder (PNG, 255 where found), as the outputs."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace outputs that exist (default: skip them)."),
    verbose: bool = typer.Option(False, "--verbose", help="Name every file skipped or not read, not only how many."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines or bar."),
    report: Optional[Path] = typer.Option(None, help="Also write a side-by-side HTML page into this folder."),
    confidence: Optional[Path] = typer.Option(
        None,
        help="Also write per-pixel confidence maps into this folder (float32 .tif: 1 observed, 0 background, "
        "else the chance the filled pixel is within the model's tolerance).",
    ),
    workers: Optional[int] = typer.Option(
        None, help="Processes to use [default: every core of this machine]; 1 runs in one process."
    ),
    scheduler: Optional[str] = typer.Option(
        None, help="Run on the Dask cluster whose scheduler is at this address (e.g. tcp://10.0.0.5:8786)."
    ),
    connect_timeout: float = typer.Option(
        CONNECT_TIMEOUT, help="Seconds to wait for the --scheduler to answer before giving up."
    ),
) -> None:
    """Fill the missing parts of face depth images; outputs keep each input's relative path, format and dtype.

    Existing outputs are skipped, so after an interruption the same command finishes the rest.
    """
    get_method(method)
    if occluder_masks is not None and not occluders:
        raise InvalidParameterError("--occluder-masks needs --occluders: nothing is looked for without it")
    cores = batch.default_workers()
    if workers is not None:
        whole_number("--workers", workers)
        if workers > cores:
            _echo(f"note: --workers {workers} is more than the {cores} cores of this machine; using {cores}", err=True)
    face_model = FaceModel.load(model) if model is not None else None
    _note_not_read(input_path, verbose)
    pairs, confidence_targets, occluder_targets = _plan_writes(input_path, out, model, confidence, report, mask, occluder_masks)
    masks = None if mask is None else batch.mask_paths(input_path, pairs, mask)
    if face_model is None:
        face_model = _pretrained([source for source, _ in pairs])
    if confidence is not None:
        face_model.check_confidence(method)
        faces = "held-out faces" if model is not None else "held-out rendered faces, not yours"
        _echo(f"note: {_confidence_meaning(face_model, faces)}", err=True)
    with _progress(len(pairs), "reconstructing", quiet) as advance:
        try:
            summary = batch.reconstruct_files(
                face_model,
                pairs,
                method,
                overwrite,
                on_outcome=lambda outcome: _show(outcome, advance, verbose),
                confidence_targets=confidence_targets,
                masks=masks,
                occluders=occluders,
                occluder_targets=occluder_targets,
                workers=cores if workers is None else workers,
                scheduler=scheduler,
                connect_timeout=connect_timeout,
            )
        except KeyboardInterrupt:
            _error_line(f"interrupted; outputs written so far are complete; run the same command again to finish {out}")
            raise typer.Exit(130) from None
    skipped = summary.count(batch.SKIPPED)
    _echo(f"{summary.line('reconstructed')} -> {out}" + (" (skipped: outputs exist; --overwrite replaces them)" if skipped else ""))
    if report is not None:
        from .report import write_reconstruction_report

        records = [
            (str(o.source), o.source, o.target, *([confidence_targets[o.source]] if confidence_targets else []))
            for o in summary.outcomes
            if o.status == batch.DONE
        ]
        page = write_reconstruction_report(records, face_model.missing_value_, report)
        _echo(f"Report: {page}")
    if summary.failed:
        raise typer.Exit(1)


def _pretrained(sources: list[Path]) -> FaceModel:
    """With no ``--model``: a model of faces rendered in the frame of (a sample of) the inputs."""
    from .pretrained import VIEW_SAMPLE, pretrained_model

    chosen = sorted({round(i * (len(sources) - 1) / max(VIEW_SAMPLE - 1, 1)) for i in range(min(VIEW_SAMPLE, len(sources)))})
    images, summary = batch.load_training_images([sources[i] for i in chosen])
    if not images:
        raise InvalidParameterError(f"no --model given and none of the inputs could be read to fit one: {summary.outcomes[0].message}")
    _echo("note: no --model: training on faces rendered in the inputs' frame (about 10 s) ...", err=True)
    face_model, assumed = pretrained_model(images)
    _echo(f"note: {assumed.describe()}; a model trained on complete faces of your own ('facefill train') fills better", err=True)
    return face_model


def _plan_writes(
    input_path: Path,
    out: Path,
    model: Optional[Path],
    confidence: Optional[Path],
    report: Optional[Path],
    mask: Optional[Path],
    occluder_masks: Optional[Path],
):
    """Every path reconstruct will write, claimed before anything is written (see ``destinations``):
    the (input, output) pairs, the confidence maps by input (None without ``--confidence``) and
    the occluder masks by input (None without ``--occluder-masks``)."""
    destinations = Destinations(input_path, *(path for path in (model, mask) if path is not None))
    pairs = batch.plan_outputs(input_path, out, destinations)
    confidence_targets = None
    if confidence is not None:
        confidence_targets = {
            src: destinations.claim(batch.companion_path(dst, out, confidence, ".tif"), "confidence map") for src, dst in pairs
        }
    occluder_targets = None
    if occluder_masks is not None:
        occluder_targets = {
            src: destinations.claim(batch.companion_path(dst, out, occluder_masks, ".png"), "occluder mask")
            for src, dst in pairs
        }
    if report is not None:
        from .report import reconstruction_report_files

        for path in reconstruction_report_files(report, len(pairs)):
            destinations.claim(path, "report file")
    return pairs, confidence_targets, occluder_targets


def _show(outcome: batch.Outcome, advance, verbose: bool) -> None:
    """One file's outcome as it comes: an error line, a note, or a step of the progress bar. A
    skipped file is named only if ``verbose``: the summary counts them."""
    if outcome.status == batch.FAILED:
        _error_line(outcome.message)
    elif outcome.message and (verbose or outcome.status != batch.SKIPPED):
        _echo(f"note: {outcome.message}", err=True)
    advance()


#: Files not read that a note names before it only counts them (``--verbose`` names them all).
NAMED_NOT_READ = 3


def _note_not_read(folder: Path, verbose: bool = False) -> None:
    """Say which files below ``folder`` are not read (types facefill does not read), if any."""
    from .discovery import unsupported_files
    from .formats import SUPPORTED_SUFFIXES

    others = unsupported_files(folder)
    if not others:
        return
    kinds = sorted({path.suffix.lower() or "(no suffix)" for path in others})
    shown = others if verbose else others[:NAMED_NOT_READ]
    names = ", ".join(str(path) for path in shown) + (f" and {len(others) - len(shown)} more" if len(others) > len(shown) else "")
    _echo(
        f"note: not read: {len(others)} file{'s' if len(others) > 1 else ''} of types facefill does not read "
        f"({', '.join(kinds)}; it reads {', '.join(SUPPORTED_SUFFIXES)}): {names}",
        err=True,
    )


reconstruct = app.command("reconstruct")(_user_errors(_reconstruct))
test = app.command("test", help="Alias of 'reconstruct' (the original system's name).")(_user_errors(_reconstruct))


# -------------------------------------------------------------- evaluate
def _print_protocol(value: bool) -> None:
    if value:
        from importlib.resources import files

        for line in files("facefill").joinpath("PROTOCOL.md").read_text(encoding="utf-8").splitlines():
            _echo(line)
        raise typer.Exit()


def _names(text: Optional[str], default) -> list[str]:
    return list(default) if text is None else [name.strip() for name in text.split(",") if name.strip()]


@app.command()
@_user_errors
def evaluate(
    data_dir: Path = typer.Argument(..., metavar="DATA_DIR", help="Folder of complete face depth images (searched recursively)."),
    methods: Optional[str] = typer.Option(
        None, help="Comma-separated methods and baselines [default: every facefill method, seed, telea, ns, biharmonic]."
    ),
    families: Optional[str] = typer.Option(
        None,
        help="Comma-separated mask families [default: blobs,half,chin,top,band,speckle,scratches,midline,occluders].",
    ),
    masks_per_face: int = typer.Option(3, help="Masks per family per held-out face."),
    seed: int = typer.Option(0, help="Seed of the mask generators."),
    report: Optional[Path] = typer.Option(None, help="Write report.html, results.json and pictures into this folder."),
    missing_value: Optional[str] = typer.Option(
        None, help="Value marking missing pixels [default: 255 for 8-bit, 0 for 16-bit, nan for float]."
    ),
    model: Optional[Path] = typer.Option(
        None, "--model", "-m", help="Score this trained model on the faces, held out, instead of leave-one-out."
    ),
    renders: int = typer.Option(0, help="Train each fold also on this many faces rendered like its training faces."),
    print_protocol: bool = typer.Option(
        False, "--protocol", callback=_print_protocol, is_eager=True, help="Print the evaluation protocol and exit."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines or bar."),
) -> None:
    """Score methods against baselines by the leave-one-out protocol on complete faces
    (facefill evaluate --protocol prints it)."""
    from . import evaluate as protocol

    whole_number("--seed", seed, minimum=0)
    whole_number("--masks-per-face", masks_per_face)
    given_model = FaceModel.load(model) if model is not None else None
    if report is not None:
        Destinations(data_dir, *([model] if model is not None else [])).claim(report, "report folder")
    if report is not None:
        from .report import check_chart_dependency

        check_chart_dependency()  # before the work, not after it
    _note_not_read(data_dir)
    paths = find_images(data_dir)
    images, loaded = batch.load_training_images(paths)
    for outcome in loaded.failed:
        _error_line(outcome.message)
    method_names = _names(methods, protocol.DEFAULT_METHODS)
    family_names = _names(families, protocol.EVALUATED_FAMILIES)
    total = len(images) * len(family_names) * masks_per_face
    with _progress(total, "evaluating", quiet) as advance:
        result = protocol.evaluate(
            images,
            methods=method_names,
            families=family_names,
            masks_per_face=masks_per_face,
            seed=seed,
            missing_value=parse_missing_value(missing_value),
            on_case=advance,
            model=given_model,
            renders=renders,
        )
    for name, why in result.skipped.items():
        _echo(f"note: skipped {name}: {why}", err=True)
    _print_summary(result)
    if report is not None:
        from .report import write_evaluation_report

        _echo(f"Report: {write_evaluation_report(result, report)}")
    if loaded.failed:
        raise typer.Exit(1)


def _print_summary(result) -> None:
    from rich.console import Console
    from rich.table import Table

    from .report import number_cell  # as the HTML report's cells: a dash where there is no number

    console = Console(highlight=False, soft_wrap=True)

    summary = result.summary()
    for family in (*result.settings["families"], "overall"):
        table = Table(title=family, title_justify="left")
        for column in ("method", "MAE", "RMSE", "fill IoU", "changed", "observed changed", "ms/image"):
            table.add_column(column, justify="left" if column == "method" else "right")
        for method, by_family in summary.items():
            row = by_family[family]
            table.add_row(
                method,
                number_cell(row["mae"], 2),
                number_cell(row["rmse"], 2),
                number_cell(row["iou"], 3),
                str(row["changed"]),
                str(row["observed_changed"]),
                f"{row['ms']:.2f}",
            )
        console.print(table)
    occluders = result.occluder_summary()
    if occluders:
        table = Table(title="occluders found by auto (the painted face given as it is)", title_justify="left")
        for column in ("occluder", "precision", "recall", "IoU", "MAE", "MAE given missing", "ratio"):
            table.add_column(column, justify="left" if column == "occluder" else "right")
        for kind, row in occluders.items():
            if kind != "untouched":
                table.add_row(kind, *(number_cell(row[key], 3) for key in ("precision", "recall", "detection_iou")),
                              *(number_cell(row[key], 2) for key in ("mae", "mae_given", "ratio")))
        console.print(table)
        if "untouched" in occluders:
            row = occluders["untouched"]
            console.print(
                f"faces as they are: {100 * row['flagged_share']:.2f} % of face pixels taken for occluders "
                f"(at most {100 * row['largest_share']:.2f} % of one face)"
            )


# ----------------------------------------------------------------- synth
def _parse_size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise InvalidParameterError(f"--size {text!r} is not valid; expected WIDTHxHEIGHT, e.g. 116x120") from None
    return height, width


def _parse_numbers(option: str, text: str, count: int) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != count or not all(map(math.isfinite, values)):
        raise InvalidParameterError(f"{option} {text!r} is not valid; expected {count} comma-separated numbers")
    return values


@app.command()
@_user_errors
def synth(
    out: Path = typer.Argument(..., metavar="OUT", help="Folder to write the faces into (face-0000.png, ...)."),
    count: int = typer.Option(60, "--count", "-n", help="Number of faces."),
    size: str = typer.Option("116x120", help="Image size WIDTHxHEIGHT."),
    dtype: str = typer.Option("uint8", help="uint8 (levels, nearer larger, missing 255), uint16 (mm, missing 0), float32 (mm, NaN)."),
    seed: int = typer.Option(0, help="Seed of the generator."),
    face_width: Optional[float] = typer.Option(
        None, help="Width of every face in pixels, as in crops cut to the face [default: 70% of the image's width]."
    ),
    pose: str = typer.Option("3,3,2", help="Standard deviations of yaw, pitch and roll, in degrees."),
    expression: float = typer.Option(0.3, help="Largest weight of each expression, 0-1."),
    noise: Optional[float] = typer.Option(None, help="Depth noise (s.d. in the image's units) [default: 0.4 levels, 0.5 mm]."),
    dropout: Optional[float] = typer.Option(
        None, help="Grazing angle (degrees) beyond which pixels drop out, as on a depth sensor [default: none drop]."
    ),
    holes: Optional[str] = typer.Option(
        None, help="Also write holed copies and their masks for these mask families (comma-separated), as 'evaluate' draws them."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines or bar."),
) -> None:
    """Write complete face depth images rendered from the shipped morphable face model (ICT Face Model Light)."""
    from .synth import write_faces

    whole_number("--count", count)
    whole_number("--seed", seed, minimum=0)
    families = tuple(holes.split(",")) if holes else ()
    with _StageProgress(quiet) as on_progress:
        write_faces(
            out, count, shape=_parse_size(size), dtype=dtype, seed=seed, holes=families, face_width=face_width,
            pose=_parse_numbers("--pose", pose, 3), expression=expression, noise=noise, dropout=dropout,
            on_progress=on_progress,
        )  # fmt: skip
    also = f", with holed copies and masks for {', '.join(families)}" if families else ""
    _echo(f"Wrote {count} synthetic faces of {size} {dtype} to {out}{also}")


# ------------------------------------------------------------------ demo
@app.command()
@_user_errors
def show(
    images: list[Path] = typer.Argument(..., metavar="IMAGE...", help="Depth images or confidence maps to picture."),
    out: Path = typer.Option(..., "--out", "-o", help="The picture to write (.png)."),
    missing_value: Optional[str] = typer.Option(
        None, help="Value marking missing pixels [default: 255 for 8-bit, 0 for 16-bit, nan for float]."
    ),
) -> None:
    """Picture depth images and confidence maps side by side, colour-mapped, with colour bars and units."""
    from .formats import read_depth
    from .report import depth_sheet, save_picture

    if out.suffix.lower() != ".png":
        raise InvalidParameterError(f"--out {out}: the picture is a PNG; expected a name ending in .png")
    Destinations(*images).claim(out, "picture")
    read = [(str(path), read_depth(path)) for path in images]
    save_picture(depth_sheet(read, parse_missing_value(missing_value)), out)
    _echo(f"Picture of {len(read)} image{'s' if len(read) > 1 else ''}: {out}")


@app.command()
@_user_errors
def demo(
    out: Path = typer.Option(Path("facefill-demo"), "--out", "-o", help="Folder to write the demo into."),
    faces: int = typer.Option(40, "--faces", help="Synthetic faces to train on."),
) -> None:
    """Generate synthetic faces, train, fill holes of every kind and picture the results."""
    from .demo import run_demo

    paths = run_demo(out, n_train=whole_number("--faces", faces, minimum=2), on_step=_note_step)
    _echo(f"Demo written to {out}: comparison picture {paths['comparison']}, model {paths['model']}")


def main() -> None:
    """Console-script entry point."""
    app(prog_name="facefill")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
