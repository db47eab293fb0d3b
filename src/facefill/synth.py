"""A procedural generator of plausible face depth images.

Each face has random identity parameters (head size and shape, depth of the
eye sockets, length and height of the nose, lips, chin, cheeks) and a small
pose jitter (shift, roll, yaw), drawn from a seeded generator. By default the
images follow the sample data's conventions: 116x120 pixels, 8-bit, larger is
nearer (about 15-110), 255 for "no depth". With ``dtype="uint16"`` they are
Kinect-style distances in millimetres (smaller is nearer), 0 for "no depth";
with ``dtype="float32"``, millimetres with NaN for "no depth".

It is facefill's embedded default: the demo and the tests need no files.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import ndimage

from .errors import InvalidParameterError, OutputPathError
from .formats import MAX_PIXELS, write_depth

DEFAULT_SHAPE = (120, 116)
DTYPES = ("uint8", "uint16", "float32")
#: Faces generated and held at a time by :func:`write_faces`.
WRITE_CHUNK = 256


def make_faces(
    n: int,
    shape: tuple[int, int] = DEFAULT_SHAPE,
    dtype: str = "uint8",
    seed: int | Sequence[int] | None = 0,
    shift: tuple[float, float] = (0.0, 0.0),
    jitter: bool = True,
) -> np.ndarray:
    """Generate ``n`` complete synthetic face depth images.

    Parameters
    ----------
    n : int
        Number of faces (>= 1).
    shape : (int, int), default (120, 116)
        Image size as (height, width), each at least 16.
    dtype : {"uint8", "uint16", "float32"}, default "uint8"
        ``uint8``: depth levels, larger nearer, missing 255. ``uint16``:
        millimetres, missing 0. ``float32``: millimetres, missing NaN.
    seed : int, sequence of int or None, default 0
        Seed of the generator (anything ``numpy.random.default_rng`` takes);
        the same seed gives the same faces.
    shift : (float, float), default (0, 0)
        Offset of every face from the image centre, (rows, columns) in pixels
        of a 116-pixel-wide image (scaled with the width).
    jitter : bool, default True
        Random pose jitter (shift, roll, yaw). Without it each face is upright,
        frontal and its symmetry axis is the column ``(W - 1) / 2 + shift[1]``.

    Returns
    -------
    faces : (n, H, W) ndarray of ``dtype``

    Examples
    --------
    >>> faces = make_faces(2, seed=1)
    >>> faces.shape, faces.dtype
    ((2, 120, 116), dtype('uint8'))
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidParameterError(f"n {n!r} is not valid; expected a whole number >= 1")
    if len(shape) != 2 or min(shape) < 16 or shape[0] * shape[1] > MAX_PIXELS:
        raise InvalidParameterError(
            f"shape {shape!r} is not valid; expected (height, width), each >= 16, at most {MAX_PIXELS} pixels"
        )
    if dtype not in DTYPES:
        raise InvalidParameterError(f"dtype {dtype!r} is not valid; expected one of {', '.join(DTYPES)}")
    try:
        rng = np.random.default_rng(seed)
    except (ValueError, TypeError):
        raise InvalidParameterError(f"seed {seed!r} is not valid; expected a whole number >= 0 or a sequence of them") from None
    height, width = shape
    faces = np.empty((n, height, width), dtype=dtype)
    for i in range(n):
        nearness, face = _face(rng, height, width, shift, jitter)
        faces[i] = _encode(nearness, face, dtype, rng)
    return faces


def _gauss(x, y, x0, y0, sx, sy):
    return np.exp(-0.5 * (((x - x0) / sx) ** 2 + ((y - y0) / sy) ** 2))


def _face(rng: np.random.Generator, height: int, width: int, shift, jitter: bool) -> tuple[np.ndarray, np.ndarray]:
    """Nearness in [0, ~1] (1 at the nose tip) and the face silhouette, in pixels."""
    # Geometry in pixels of the sample data's size (DEFAULT_SHAPE), scaled to the requested size.
    scale = width / DEFAULT_SHAPE[1]
    vertical = height / DEFAULT_SHAPE[0]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    pose = rng.normal(0, 1, 4) * jitter
    cx = (width - 1) / 2 + (shift[1] + pose[0] * 1.0) * scale
    cy = height * 0.46 + (shift[0] + pose[1] * 1.5) * vertical
    roll = np.deg2rad(pose[2] * 2.0)
    yaw = pose[3] * 0.04
    half_width = 42.5 * scale * rng.uniform(0.93, 1.07)
    half_height = 57.0 * vertical * rng.uniform(0.94, 1.06)
    # Face coordinates: u across (-1..1), v down (-1 top .. 1 chin).
    dx, dy = xs - cx, ys - cy
    u = (np.cos(roll) * dx + np.sin(roll) * dy) / half_width
    v = (-np.sin(roll) * dx + np.cos(roll) * dy) / half_height

    # Egg-shaped outline: wide forehead and cheeks, a narrower jaw and chin.
    jaw = rng.uniform(0.12, 0.25)
    taper = 1.0 - jaw * np.clip(v, 0, None) ** 2
    squareness = rng.uniform(2.2, 2.8)
    r2 = (np.abs(u / taper) ** squareness + np.abs(v) ** squareness) ** (2 / squareness)
    # Ragged hairline at the top and a pixel-rough outline, as in real sensor crops.
    n_knots = 24
    knots = rng.normal(0, 0.035, n_knots)
    ragged = np.interp(u, np.linspace(-1.2, 1.2, n_knots), knots) * (v < -0.3)
    # pixel-scale roughness, smoothed so that it leaves no isolated specks inside the face
    ragged = ragged + ndimage.gaussian_filter(rng.normal(0, 0.05, u.shape), 1.0)
    face = r2 < (1.0 + ragged) ** 2

    # Nearness: an ellipsoidal head plus features.
    head = np.sqrt(np.clip(1.0 - 0.85 * r2, 0, None))
    amp = lambda mean: mean * rng.uniform(0.75, 1.25)  # noqa: E731 - identity variation
    eye_x, eye_y = rng.uniform(0.33, 0.42), rng.uniform(-0.2, -0.1)
    nose_len = rng.uniform(0.28, 0.38)
    nose_tip_y = eye_y + nose_len
    features = (
        -amp(0.10) * (_gauss(u, v, -eye_x, eye_y, 0.16, 0.09) + _gauss(u, v, eye_x, eye_y, 0.16, 0.09))
        + amp(0.05) * (_gauss(u, v, -eye_x, eye_y - 0.13, 0.22, 0.05) + _gauss(u, v, eye_x, eye_y - 0.13, 0.22, 0.05))
        # the nose: a ridge from between the eyes to the tip, and the tip itself
        + amp(0.22) * _gauss(u, v, 0, (eye_y + nose_tip_y) / 2, 0.09, nose_len / 2) * (v < nose_tip_y)
        + amp(0.35) * _gauss(u, v, 0, nose_tip_y, 0.13, 0.09)
        + amp(0.06) * _gauss(u, v, 0, nose_tip_y + rng.uniform(0.16, 0.22), 0.24, 0.05)
        + amp(0.05) * _gauss(u, v, 0, rng.uniform(0.72, 0.8), 0.18, 0.08)
        + amp(0.04) * (_gauss(u, v, -0.5, 0.15, 0.2, 0.2) + _gauss(u, v, 0.5, 0.15, 0.2, 0.2))
    )
    nearness = 0.55 * head + features + yaw * u
    nearness = nearness / max(nearness[face].max(), 1e-6)
    return nearness, face


def _encode(nearness: np.ndarray, face: np.ndarray, dtype: str, rng: np.random.Generator) -> np.ndarray:
    noise = rng.normal(0, 1, nearness.shape)
    if dtype == "uint8":
        levels = np.clip(np.rint(14 + 92 * nearness + 0.4 * noise), 1, 254)
        return np.where(face, levels, 255).astype(np.uint8)
    millimetres = 830.0 - 120.0 * nearness + 0.6 * noise
    if dtype == "uint16":
        return np.where(face, np.rint(millimetres), 0).astype(np.uint16)
    return np.where(face, millimetres, np.nan).astype(np.float32)


def write_faces(
    out: str | os.PathLike, count: int, shape=DEFAULT_SHAPE, dtype: str = "uint8", seed: int = 0, chunk: int = WRITE_CHUNK
) -> list[Path]:
    """Write ``count`` synthetic faces into the folder ``out`` (``face-0000.png``, ...; ``.tif``
    for float32) and return their paths.

    The settings are checked before any file is written. Faces are made
    ``chunk`` at a time, each chunk from its own seed, so that memory does not
    grow with ``count``; the first chunk is ``make_faces(chunk, ..., seed)``'s own.
    """
    make_faces(1, shape=shape, dtype=dtype, seed=seed)  # checks the settings
    suffix = ".tif" if dtype == "float32" else ".png"
    paths = [Path(out) / f"face-{i:04d}{suffix}" for i in range(count)]
    existing = next((path for path in paths if path.exists()), None)
    if existing is not None:
        raise OutputPathError(f"{existing} exists; synth never overwrites a file: choose an empty folder")
    for start in range(0, count, chunk):
        faces = make_faces(min(chunk, count - start), shape=shape, dtype=dtype, seed=[seed, start] if start else seed)
        for i, face in enumerate(faces, start=start):
            write_depth(paths[i], face)
    return paths
