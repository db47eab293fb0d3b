"""Pictures of depth images: a depth colour map, side-by-side sheets, the model preview.

Everything here needs only NumPy and Pillow; the HTML report's chart needs
matplotlib (the ``eval`` extra) and imports it lazily.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
from PIL import Image, ImageDraw

from .io import atomic_output

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


def save_picture(picture: Image.Image, path: str | os.PathLike) -> None:
    """Write a PNG atomically, creating its folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path) as handle:
        picture.save(handle, format="PNG")


def save_model_preview(model, model_path: str | os.PathLike) -> Path:
    """Write a viewable picture of a model's average face beside its file (``m.npz`` -> ``m.png``)."""
    low, high = depth_range([model.mean_])
    model_path = Path(model_path)
    path = model_path.with_suffix(".png")
    if path == model_path:  # a model file named *.png: never overwrite it
        path = model_path.with_name(model_path.stem + ".average.png")
    save_picture(sheet([[("average face", colorize(model.mean_, low, high))]], zoom=3), path)
    return path
