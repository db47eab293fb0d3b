"""Pictures of depth images: a depth colour map, side-by-side sheets, the model preview.

Everything here needs only NumPy and Pillow; the HTML report's chart needs
matplotlib (the ``eval`` extra) and imports it lazily.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .atomic import atomic_output
from .depth import depth_units

BACKGROUND = np.array([255, 255, 255], dtype=np.uint8)

# Polynomial fit of the Turbo colour map (Mikhailov, Google 2019): a perceptual
# rainbow that makes small depth differences visible.
_TURBO = np.array(
    [
        [0.13572138, 4.61539260, -42.66032258, 132.13108234, -152.94239396, 59.28637943],
        [0.09140261, 2.19418839, 4.84296658, -14.18503333, 4.27729857, 2.82956604],
        [0.10667330, 12.64194608, -60.58204836, 110.36276771, -89.90310912, 27.34824973],
    ]
)


def turbo(t: np.ndarray) -> np.ndarray:
    """RGB (uint8) of the Turbo colour map at ``t`` in [0, 1]; any shape, a trailing axis of 3 added."""
    t = np.clip(np.asarray(t, dtype=np.float64), 0.0, 1.0)
    powers = np.stack([t**k for k in range(6)], axis=-1)
    rgb = np.clip(powers @ _TURBO.T, 0.0, 1.0)
    return np.rint(rgb * 255).astype(np.uint8)


def depth_range(depths: Sequence[np.ndarray]) -> tuple[float, float]:
    """A shared colour scale for several depth images (float, NaN = missing): 1st-99th percentile."""
    values = np.concatenate([d[np.isfinite(d)].ravel() for d in depths] or [np.zeros(1)])
    if values.size == 0:
        return 0.0, 1.0
    low, high = np.percentile(values, [1, 99])
    return float(low), float(max(high, low + 1e-9))


def colorize(depth: np.ndarray, low: float, high: float) -> np.ndarray:
    """RGB picture of a depth image (float, NaN = missing): Turbo over [low, high], missing white."""
    rgb = turbo((np.nan_to_num(depth, nan=low) - low) / (high - low))
    rgb[~np.isfinite(depth)] = BACKGROUND
    return rgb


def error_map(error: np.ndarray, limit: float) -> np.ndarray:
    """RGB picture of an absolute error (float, NaN = not scored): white to dark red over [0, limit]."""
    t = np.clip(np.nan_to_num(error, nan=0.0) / max(limit, 1e-9), 0, 1)[..., None]
    white, red = np.array([255, 255, 255.0]), np.array([150, 0, 0.0])
    rgb = np.rint(white + t * (red - white)).astype(np.uint8)
    rgb[~np.isfinite(error)] = np.array([235, 235, 235], dtype=np.uint8)
    return rgb


def outline_overlay(rgb: np.ndarray, region: np.ndarray, color=(0, 0, 0)) -> np.ndarray:
    """Draw the border of ``region`` onto a copy of ``rgb``."""
    from scipy import ndimage

    border = region & ~ndimage.binary_erosion(region, border_value=0)
    out = rgb.copy()
    out[border] = np.array(color, dtype=np.uint8)
    return out


def sheet(rows: Sequence[Sequence[tuple[str, np.ndarray]]], zoom: int = 2) -> Image.Image:
    """A grid of titled RGB panels, one list of ``(title, rgb)`` per row."""
    rows = [list(r) for r in rows if r]
    ph = max(rgb.shape[0] for r in rows for _, rgb in r) * zoom
    pw = max(rgb.shape[1] for r in rows for _, rgb in r) * zoom
    columns = max(len(r) for r in rows)
    pad, title_h = 6, 14
    canvas = Image.new("RGB", (columns * (pw + pad) + pad, len(rows) * (ph + title_h + pad) + pad), "white")
    draw = ImageDraw.Draw(canvas)
    for i, row in enumerate(rows):
        top = pad + i * (ph + title_h + pad)
        for j, (title, rgb) in enumerate(row):
            left = pad + j * (pw + pad)
            draw.text((left, top), title, fill=(0, 0, 0))
            panel = Image.fromarray(rgb).resize((rgb.shape[1] * zoom, rgb.shape[0] * zoom), Image.NEAREST)
            canvas.paste(panel, (left, top + title_h))
    return canvas


def colour_bar(height: int, low: float, high: float, rgb_of) -> np.ndarray:
    """A vertical colour bar (high at the top) of ``rgb_of`` over [low, high], 12 px wide."""
    t = np.linspace(1.0, 0.0, height)[:, None] * np.ones((1, 12))
    return rgb_of(low + t * (high - low))


def depth_sheet(images: Sequence[tuple[str, np.ndarray]], missing_value: float | None = None) -> Image.Image:
    """Side-by-side pictures of depth images and confidence maps, each kind with its colour bar.

    ``images`` holds ``(name, image)`` pairs as read. A float image whose values all lie in
    [0, 1] is taken for a confidence map (fixed scale 0-1); the others are depth, on one shared
    scale (1st-99th percentile), in levels for 8-bit images and millimetres otherwise. Missing
    pixels (``missing_value``, by default the dtype's; NaN) are white.
    """
    from .depth import default_missing_value, to_float

    panels, depths, confidences = [], [], []
    for name, image in images:
        missing = default_missing_value(image.dtype) if missing_value is None else missing_value
        values = to_float(image, missing, name)
        finite = values[np.isfinite(values)]
        is_confidence = image.dtype.kind == "f" and finite.size > 0 and finite.min() >= 0 and finite.max() <= 1
        (confidences if is_confidence else depths).append((name, values, image.dtype))
    top = []
    height = max(image.shape[0] for _, image in images)
    if depths:
        low, high = depth_range([values for _, values, _ in depths])
        units = "levels" if all(depth_units(dtype) == "levels" for _, _, dtype in depths) else "mm"
        top += [(_short(name), colorize(values, low, high)) for name, values, _ in depths]
        top.append((f"{low:.4g}-{high:.4g} {units}", colour_bar(height, low, high, lambda v: colorize(v, low, high))))
    if confidences:
        top += [(_short(name), colorize(values, 0.0, 1.0)) for name, values, _ in confidences]
        top.append(("confidence 0-1", colour_bar(height, 0.0, 1.0, lambda v: colorize(v, 0.0, 1.0))))
    panels.append(top)
    return sheet(panels)


def _short(name: str, length: int = 28) -> str:
    """A panel title: the name's end if it is long."""
    return name if len(name) <= length else "..." + name[-(length - 3):]


def save_picture(picture: Image.Image, path: str | os.PathLike) -> None:
    """Write a PNG atomically, creating its folder."""
    with atomic_output(path) as handle:  # creates the folder
        picture.save(handle, format="PNG")


def model_preview_path(model_path: str | os.PathLike) -> Path:
    """Where the picture of a model's average face goes: beside its file (``m.npz`` -> ``m.png``)."""
    model_path = Path(model_path)
    path = model_path.with_suffix(".png")
    if path == model_path:  # a model file named *.png: never overwrite it
        path = model_path.with_name(model_path.stem + ".average.png")
    return path


def save_model_preview(model, model_path: str | os.PathLike) -> Path:
    """Write a viewable picture of a model's average face at :func:`model_preview_path`."""
    low, high = depth_range([model.mean_])
    path = model_preview_path(model_path)
    save_picture(sheet([[("average face", colorize(model.mean_, low, high))]], zoom=3), path)
    return path


#: Images a reconstruction report pictures at most.
REPORT_LIMIT = 200


def reconstruction_report_files(out_dir: str | os.PathLike, count: int) -> list[Path]:
    """The files :func:`write_reconstruction_report` writes for ``count`` records."""
    out_dir = Path(out_dir)
    return [out_dir / "report.html"] + [out_dir / f"images/{i:04d}.png" for i in range(min(count, REPORT_LIMIT))]


# ------------------------------------------------------------ HTML reports
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
td.best { font-weight: bold; background: #e8f4e8; }
img { max-width: 100%; image-rendering: pixelated; }
figure { margin: 0 0 1.5em; }
figcaption { color: #555; font-size: 0.9em; }
"""


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{_STYLE}</style></head><body><h1>{title}</h1>\n{body}\n</body></html>\n"
    )


def _write_text(path: Path, text: str) -> None:
    with atomic_output(path, "w") as handle:  # creates the folder
        handle.write(text)


def number_cell(value: float | None, digits: int) -> str:
    """A table cell: the value to ``digits`` decimals, or a dash where there is none (None, NaN)."""
    return "–" if value is None or np.isnan(value) else f"{value:.{digits}f}"


def _format(metric: str, value: float) -> str:
    digits = {"iou": 3, "changed": 0, "observed_changed": 0}.get(metric, 2)
    return number_cell(value, digits)


def metric_table_html(summary: dict, families: Sequence[str], metric: str) -> str:
    """An HTML table of one metric: methods down, families and overall across; the best per column bold."""
    columns = [*families, "overall"]
    best = {}
    for column in columns:
        values = [s[column][metric] for s in summary.values() if column in s and not np.isnan(s[column][metric])]
        if values and metric in ("mae", "rmse", "iou"):
            best[column] = max(values) if metric == "iou" else min(values)
    rows = []
    for method, by_family in summary.items():
        cells = []
        for column in columns:
            value = by_family.get(column, {}).get(metric, float("nan"))
            css = " class='best'" if column in best and value == best[column] else ""
            cells.append(f"<td{css}>{_format(metric, value)}</td>")
        rows.append(f"<tr><td>{method}</td>{''.join(cells)}</tr>")
    header = "".join(f"<th>{c}</th>" for c in ["method", *columns])
    return f"<table><tr>{header}</tr>{''.join(rows)}</table>"


def check_chart_dependency() -> None:
    """``MissingDependencyError`` unless matplotlib, which the evaluation report's chart needs, is
    installed: a command checks it before its work."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        from .errors import MissingDependencyError

        raise MissingDependencyError(
            "matplotlib is not installed; the report's chart needs it: pip install 'facefill[eval]'"
        )


def mae_chart(summary: dict, families: Sequence[str], path: Path) -> None:
    """Bar chart of MAE per family and method (PNG), with matplotlib."""
    check_chart_dependency()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    methods = list(summary)
    groups = [*families, "overall"]
    width = 0.8 / max(len(methods), 1)
    figure, axes = plt.subplots(figsize=(1.6 * len(groups) + 2, 3.6), dpi=100)
    for i, method in enumerate(methods):
        values = [summary[method].get(g, {}).get("mae", np.nan) for g in groups]
        axes.bar(np.arange(len(groups)) + (i - (len(methods) - 1) / 2) * width, values, width, label=method)
    axes.set_xticks(np.arange(len(groups)), groups)
    axes.set_ylabel("MAE (image units)")
    axes.set_yscale("log")
    axes.legend(ncols=min(len(methods), 4), fontsize="small")
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as handle:
        figure.savefig(handle, format="png")
    plt.close(figure)


def example_sheet(example, missing_value: float) -> Image.Image:
    """Two rows for one case: input (hidden area outlined) | each method's output | truth,
    and under each output its absolute error, all on one colour scale."""
    from .depth import to_float

    truth = to_float(example.truth, missing_value)
    low, high = depth_range([truth])
    outline = lambda rgb: outline_overlay(rgb, example.hidden)  # noqa: E731
    outputs = {name: to_float(output, missing_value) for name, output in example.outputs.items()}
    errors = {name: np.where(example.hidden, np.abs(out - truth), np.nan) for name, out in outputs.items()}
    finite = [e[np.isfinite(e)] for e in errors.values()]
    limit = float(np.percentile(np.concatenate(finite), 98)) if any(f.size for f in finite) else 1.0
    top = [("input", outline(colorize(to_float(example.given, missing_value), low, high)))]
    top += [(name, outline(colorize(out, low, high))) for name, out in outputs.items()]
    top += [("truth", colorize(truth, low, high))]
    blank = np.full_like(top[0][1], 255)
    bottom = [(f"|error| 0-{limit:.1f}", blank)]
    bottom += [(f"{name} error", outline(error_map(errors[name], limit))) for name in outputs]
    return sheet([top, bottom])


def occluder_table_html(occluders: dict) -> str:
    """The ``occluders`` family's detection table (``Evaluation.occluder_summary``); empty without it."""
    if not occluders:
        return ""

    rows = "".join(
        f"<tr><td>{html.escape(kind)}</td><td>{number_cell(row['precision'], 3)}</td><td>{number_cell(row['recall'], 3)}</td>"
        f"<td>{number_cell(row['detection_iou'], 3)}</td><td>{number_cell(row['mae'], 2)}</td><td>{number_cell(row['mae_given'], 2)}</td>"
        f"<td>{number_cell(row['ratio'], 2)}</td><td>{row['cases']}</td></tr>"
        for kind, row in occluders.items()
        if kind != "untouched"
    )
    untouched = occluders.get("untouched")
    note = (
        f"<p>On the faces as they are, with nothing painted on them, {100 * untouched['flagged_share']:.2f} % of the "
        f"face pixels were taken for occluders (at most {100 * untouched['largest_share']:.2f} % of one face).</p>"
        if untouched
        else ""
    )
    return (
        "<h2>Occluders found</h2><p>The <code>occluders</code> family paints a hand (5-25 mm nearer than the face), "
        "glasses (10-20 mm) or hair strands (2-5 mm) in front of the held-out face. Above, every method is given the "
        "painted pixels as missing; here <code>auto</code> is given the painted face as it is and must find them "
        "(<code>--occluders</code>): precision, recall and IoU of what it found against the painted pixels; MAE of its "
        "fill over the painted face pixels (one it missed keeps the occluder's depth), beside its MAE given them as "
        "missing, and their ratio.</p>"
        "<table><tr><th>occluder</th><th>precision</th><th>recall</th><th>IoU</th><th>MAE</th>"
        f"<th>MAE given missing</th><th>ratio</th><th>cases</th></tr>{rows}</table>" + note
    )


def write_evaluation_report(evaluation, out_dir: str | os.PathLike) -> Path:
    """Write ``report.html`` (tables, MAE chart, example cases), ``results.json`` and the protocol
    (``PROTOCOL.md``) into ``out_dir``."""
    import json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    settings = evaluation.settings
    summary = evaluation.summary()
    families = settings["families"]
    _write_text(out_dir / "results.json", json.dumps(evaluation.to_json(), indent=1, allow_nan=False))
    from importlib.resources import files

    _write_text(out_dir / "PROTOCOL.md", files("facefill").joinpath("PROTOCOL.md").read_text(encoding="utf-8"))
    mae_chart(summary, families, out_dir / "mae.png")
    figures = []
    for i, example in enumerate(evaluation.examples):
        name = f"cases/{example.family.replace(' ', '-')}-{i:02d}.png"
        save_picture(example_sheet(example, evaluation.missing_value), out_dir / name)
        figures.append(
            f"<figure><img src='{name}' alt='{example.family} case'><figcaption>{example.family}, "
            f"held-out face {example.face_index}: hidden area outlined; second row: absolute error "
            "inside it</figcaption></figure>"
        )
    skipped = "".join(f"<li>{html.escape(m)}: {html.escape(why)}</li>" for m, why in evaluation.skipped.items())
    body = (
        f"<p>Leave-one-out over {settings['faces']} faces of {settings['size'][1]}x{settings['size'][0]} "
        f"{settings['dtype']}; {settings['masks_per_face']} masks per family per face, seed {settings['seed']}. "
        "MAE and RMSE over hidden face pixels that the method filled, in the image's units; fill IoU inside the "
        "hidden area; changed: pixels outside it that differ from the input, painted background included "
        "(summed); observed changed: observed input pixels altered (must be 0); time per image with the "
        "model loaded. Best per column in bold.</p>"
        + (f"<p>Skipped baselines:</p><ul>{skipped}</ul>" if skipped else "")
        + "<h2>MAE</h2>"
        + metric_table_html(summary, families, "mae")
        + "<img src='mae.png' alt='MAE per family and method'>"
        + "<h2>RMSE</h2>"
        + metric_table_html(summary, families, "rmse")
        + "<h2>Fill IoU</h2>"
        + metric_table_html(summary, families, "iou")
        + "<h2>Changed pixels outside the hidden area</h2>"
        + metric_table_html(summary, families, "changed")
        + "<h2>Observed pixels changed</h2>"
        + metric_table_html(summary, families, "observed_changed")
        + "<h2>Milliseconds per image</h2>"
        + metric_table_html(summary, families, "ms")
        + occluder_table_html(evaluation.occluder_summary())
        + "<h2>Cases</h2>"
        + "".join(figures)
        + "<p>Raw numbers: <a href='results.json'>results.json</a>; the protocol: <a href='PROTOCOL.md'>PROTOCOL.md</a>.</p>"
    )
    _write_text(out_dir / "report.html", _page("facefill evaluation", body))
    return out_dir / "report.html"


def _image(image):
    """An image given as an array or as a path to read."""
    from .formats import read_depth

    return image if isinstance(image, np.ndarray) else read_depth(image)


def write_reconstruction_report(records, missing_value: float, out_dir: str | os.PathLike, limit: int = REPORT_LIMIT) -> Path:
    """Side-by-side page for real holed images: input | output | filled area (| confidence).

    ``records`` is a sequence of ``(name, given, output)`` or ``(name, given, output,
    confidence)``, the images as arrays or as paths to read; at most ``limit`` are pictured
    (and read).
    """
    from .depth import missing_mask, to_float

    out_dir = Path(out_dir)
    figures = []
    for i, (name, given, output, *confidence) in enumerate(records[:limit]):
        given, output = _image(given), _image(output)
        filled = missing_mask(given, missing_value) & ~missing_mask(output, missing_value)
        low, high = depth_range([to_float(given, missing_value)])
        area = np.full(given.shape + (3,), 235, dtype=np.uint8)
        area[~missing_mask(given, missing_value)] = (150, 150, 150)
        area[filled] = (200, 30, 30)
        picture = sheet(
            [
                [
                    ("input", colorize(to_float(given, missing_value), low, high)),
                    ("output", outline_overlay(colorize(to_float(output, missing_value), low, high), filled)),
                    ("filled area", area),
                    *(
                        [("confidence 0-1", colorize(_image(confidence[0]).astype(np.float64), 0.0, 1.0))]
                        if confidence
                        else []
                    ),
                ]
            ]
        )
        file = f"images/{i:04d}.png"
        save_picture(picture, out_dir / file)
        shown = html.escape(name, quote=True)  # a file name is text, never markup
        figures.append(f"<figure><img src='{file}' alt='{shown}'><figcaption>{shown}: {int(filled.sum())} pixels filled</figcaption></figure>")
    more = f"<p>{len(records) - limit} more images not pictured.</p>" if len(records) > limit else ""
    body = (
        "<p>Filled area: red; observed face: grey. Confidence, where written: 1 observed, 0 background, "
        "in between for filled pixels, lower where the fill may be further off (README, <i>Confidence</i>).</p>"
        + "".join(figures)
        + more
    )
    _write_text(out_dir / "report.html", _page("facefill reconstruction", body))
    return out_dir / "report.html"
