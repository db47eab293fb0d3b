"""Realistic synthetic face depth images, rendered from the shipped morphable face model.

Each face is the ICT Face Model Light (``facefill.morphable``) at a random
identity (weights ~ N(0, 1) on its first modes), a small random expression
(weights uniform in [0, ``expression``]) with the eyes closed, and a small
random pose, drawn from a seeded generator and rendered orthographically.

By default the images follow the sample data's conventions: 116x120 pixels,
8-bit, larger is nearer (levels about 15-110, fitted to the sample faces),
255 for "no depth", the face about 70 % of the image's width. With
``dtype="uint16"`` they are Kinect-style distances in millimetres (the nose
tip :data:`DISTANCE_MM` away, smaller is nearer), 0 for "no depth"; with
``dtype="float32"``, millimetres with NaN for "no depth".
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from .depth import missing_mask
from .errors import InvalidParameterError, OutputPathError
from .formats import MAX_PIXELS, write_depth
from .masks import check_family, make_mask, mask_rng
from .morphable.mesh import FACE_WIDTH_MM, MASK_ABOVE, MASK_BELOW, load_mesh
from .morphable.render import HEAD_CENTRE_DEPTH, View, grazing_angle, render_depth, rotation

DEFAULT_SHAPE = (120, 116)
DTYPES = ("uint8", "uint16", "float32")
#: Faces generated and held at a time by :func:`write_faces`.
WRITE_CHUNK = 256

# Where a face sits by default, fitted to the sample faces' mean (morphable.fit.fit_view on
# ../shared/dataset/train): 0.694 px/mm in a 116-pixel-wide image puts the face mask across
# 70 % of the width, centred in the image before the head is pitched up 6 degrees; depth
# levels 103 + 1.55 per mm nearer than the nose tip.
FACE_SHARE = 0.70
LEVELS_AT_NOSE, LEVELS_PER_MM = 103.0, 1.55
SAMPLE_PITCH = 6.0
#: Distance (mm) of the nose tip from the camera for millimetre depth: a Kinect-style face crop.
DISTANCE_MM = 700.0
#: Identity modes drawn (the shipped model's first 40 carry 97 % of its identity variance).
IDENTITY_MODES = 40
#: Pose jitter: standard deviations of yaw, pitch and roll (degrees). People do not hold their
#: heads to a degree, and a prior that has seen too little pose mistakes a turned or nodded head
#: for another face: on 30 faces rendered from the full source model (benchmarks/rendered_faces.py's
#: held-out faces), a model of 200 renders scored 1.84 mm over the five large-hole families at
#: (1.5, 1.5, 1), 1.71 at (3, 3, 2) (half 2.44 -> 2.04, chin 2.88 -> 2.79), 1.72 at (5, 5, 3); on
#: the 8-bit sample faces a model of 200 8-bit renders alone 1.81 -> 1.80 levels (half 2.88 ->
#: 3.09, top 1.20 -> 1.11), fill IoU 0.925 -> 0.926. The renders' outlines then vary a little
#: more than the sample faces' (IoU with their majority outline 0.92 against 0.95).
POSE_SD = (3.0, 3.0, 2.0)
#: Standard deviation of the shift (pixels of a 116-pixel-wide image): crops are cut around a
#: detected face.
SHIFT_SD = 0.5
#: Largest weight of each expression.
EXPRESSION = 0.3
#: Depth noise by default: standard deviation in the image's units (levels, or mm).
NOISE = {"uint8": 0.4, "uint16": 0.5, "float32": 0.5}
#: The missing value of each dtype.
MISSING = {"uint8": 255, "uint16": 0, "float32": np.nan}


def default_view(shape: tuple[int, int], dtype: str = "uint8", face_width: float | None = None, pitch: float = 0.0) -> View:
    """The view in which faces are rendered unless told otherwise: the face mask, pitched by
    ``pitch`` degrees, centred; ``face_width`` pixels wide (default 70 % of the image's width);
    depth as ``dtype`` holds it."""
    height, width = shape
    scale = (FACE_SHARE * width if face_width is None else face_width) / FACE_WIDTH_MM
    offset, gain = (LEVELS_AT_NOSE, LEVELS_PER_MM) if dtype == "uint8" else (DISTANCE_MM, -1.0)
    # the mask's middle, turned about the head's centre, lands on the image's middle row
    middle = (MASK_ABOVE - MASK_BELOW) / 2
    turned = (np.array([0.0, middle, HEAD_CENTRE_DEPTH]) @ rotation(0.0, pitch, 0.0).T)[1]
    return View(shape, scale, ((height - 1) / 2 + turned * scale, (width - 1) / 2), offset, gain)


def make_faces(
    n: int,
    shape: tuple[int, int] = DEFAULT_SHAPE,
    dtype: str = "uint8",
    seed: int | Sequence[int] | None = 0,
    shift: tuple[float, float] = (0.0, 0.0),
    jitter: bool = True,
    *,
    face_width: float | None = None,
    pose: tuple[float, float, float] = POSE_SD,
    expression: float = EXPRESSION,
    noise: float | None = None,
    dropout: float | None = None,
    view: View | None = None,
    pitch: float | None = None,
    margin: float = 0.0,
    identity: float = 1.0,
) -> np.ndarray:
    """Render ``n`` complete synthetic face depth images.

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
        Seed of the generator; the same seed gives the same faces.
    shift : (float, float), default (0, 0)
        Offset of every face from its place, (rows, columns) in pixels of a
        116-pixel-wide image (scaled with the width).
    jitter : bool, default True
        Random pose and position. Without it each face is upright, frontal
        (but for ``pitch``) and centred on the column ``(W - 1) / 2 + shift``.
    face_width : float, optional
        Width (pixels) of every face's mask, as in crops cut to the face;
        default 70 % of the image's width.
    pose : (float, float, float), default (3, 3, 2)
        Standard deviations (degrees) of yaw, pitch and roll.
    expression : float, default 0.3
        Largest weight of each expression, in [0, 1].
    noise : float, optional
        Standard deviation of the depth noise in the image's units (default:
        0.4 levels for uint8, 0.5 mm otherwise).
    dropout : float, optional
        Grazing angle (degrees) beyond which pixels start to drop out, as on a
        structured-light sensor: none are kept at 90 degrees. Default: none drop.
    view : View, optional
        Where faces land and how depth is written (``morphable.fit.fit_view``);
        ``shape`` and ``face_width`` are then ignored.
    pitch : float, optional
        Mean head pitch (degrees); default the sample faces' 6 for uint8, 0 otherwise.
    margin : float, default 0
        Millimetres by which the rendered area overreaches the face mask (for
        renders to be cut by other outlines; the faces' size is still the mask's).
    identity : float, default 1
        Standard deviation of the identity weights (1: the model's own variety).

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
    if view is not None:
        shape = view.shape
    if len(shape) != 2 or min(shape) < 16 or shape[0] * shape[1] > MAX_PIXELS:
        raise InvalidParameterError(
            f"shape {shape!r} is not valid; expected (height, width), each >= 16, at most {MAX_PIXELS} pixels"
        )
    if dtype not in DTYPES:
        raise InvalidParameterError(f"dtype {dtype!r} is not valid; expected one of {', '.join(DTYPES)}")
    if face_width is not None and not 4 <= face_width <= 4 * shape[1]:
        raise InvalidParameterError(f"face width {face_width!r} is not valid; expected 4 to {4 * shape[1]} pixels")
    if not 0 <= identity < np.inf:
        raise InvalidParameterError(f"identity {identity!r} is not valid; expected a standard deviation >= 0")
    if not 0 <= expression <= 1:
        raise InvalidParameterError(f"expression {expression!r} is not valid; expected a weight in [0, 1]")
    if len(pose) != 3 or not all(0 <= sd <= 90 for sd in pose):
        raise InvalidParameterError(f"pose {tuple(pose)!r} is not valid; expected 3 standard deviations of 0 to 90 degrees")
    if noise is not None and not 0 <= noise < np.inf:
        raise InvalidParameterError(f"noise {noise!r} is not valid; expected a standard deviation >= 0")
    if dropout is not None and not 0 <= dropout < 90:
        raise InvalidParameterError(f"dropout angle {dropout!r} is not valid; expected 0 to 90 degrees")
    try:
        rng = np.random.default_rng(seed)
    except (ValueError, TypeError):
        raise InvalidParameterError(f"seed {seed!r} is not valid; expected a whole number >= 0 or a sequence of them") from None
    pitch = (SAMPLE_PITCH if dtype == "uint8" else 0.0) if pitch is None else pitch
    view = default_view(shape, dtype, face_width, pitch) if view is None else view
    noise = NOISE[dtype] if noise is None else noise
    mesh = load_mesh(margin)
    free = np.ones(len(mesh.expression_names), dtype=bool)
    free[mesh.closed_eyes > 0] = False
    mean_height, _ = mesh.extent(mesh.vertices(np.zeros(0), mesh.closed_eyes))
    faces = np.empty((n, *shape), dtype=dtype)
    pixel_scale = shape[1] / DEFAULT_SHAPE[1]
    for i in range(n):
        weights_of_identity = rng.standard_normal(IDENTITY_MODES) * identity
        weights = mesh.closed_eyes + free * rng.uniform(0, expression, free.size)
        turn = rng.normal(0, 1, 3) * pose * jitter
        moved = np.add(shift, rng.normal(0, SHIFT_SD, 2) * jitter) * pixel_scale
        vertices = mesh.vertices(weights_of_identity, weights)
        # a crop is cut to the face's box: every face's mask is as wide and tall, in pixels, as the mean's
        tall, wide = mesh.extent(vertices)
        scale = view.scale * FACE_WIDTH_MM / wide
        aspect = view.aspect * (view.scale * mean_height / tall) / scale
        placed = replace(view, scale=scale, aspect=aspect, centre=(view.centre[0] + moved[0], view.centre[1] + moved[1]))
        depth = render_depth(vertices, mesh.triangles, placed, (turn[0], pitch + turn[1], turn[2]))
        faces[i] = _sensed(depth, placed, dtype, noise, dropout, rng)
    return faces


def _sensed(depth: np.ndarray, view: View, dtype: str, noise: float, dropout: float | None, rng) -> np.ndarray:
    """A rendered depth as a sensor of ``dtype`` records it: noise, dropouts, quantisation."""
    face = np.isfinite(depth)
    if dropout is not None:
        share = np.clip((grazing_angle(depth, view) - dropout) / (90.0 - dropout), 0, 1)
        face &= ~(rng.random(depth.shape) < np.nan_to_num(share))
    depth = depth + rng.normal(0, 1, depth.shape) * noise
    if dtype == "float32":
        return np.where(face, depth, np.nan).astype(np.float32)
    info = np.iinfo(dtype)
    low, high = (1, info.max - 1) if dtype == "uint8" else (1, info.max)
    values = np.clip(np.rint(np.nan_to_num(depth)), low, high)
    return np.where(face, values, MISSING[dtype]).astype(dtype)


def chunk_seed(seed, start: int):
    """The seed of the faces made from the ``start``-th on, when faces are made a chunk at a time:
    the first chunk's is ``seed`` itself (so it is ``make_faces(n, seed=seed)``'s own faces), each
    other's its own, ``[seed, start]``."""
    return [seed, start] if start else seed


def write_faces(
    out: str | os.PathLike,
    count: int,
    shape=DEFAULT_SHAPE,
    dtype: str = "uint8",
    seed: int = 0,
    chunk: int = WRITE_CHUNK,
    holes: Sequence[str] = (),
    on_progress=None,
    **options,
) -> list[Path]:
    """Write ``count`` synthetic faces into the folder ``out`` (``face-0000.png``, ...; ``.tif``
    for float32) and return their paths.

    ``options`` are :func:`make_faces`'s. With ``holes`` (mask families of
    ``facefill.masks``), the complete faces go to ``out/truth/`` and each
    also gets, per family, a holed copy ``holed/FAMILY/face-0000.png`` (the
    hidden pixels set to the missing value) and its mask
    ``masks/FAMILY/face-0000.png`` (255 hidden, 0 kept), in folders apart so
    that none is taken for a complete face. The masks are ``evaluate``'s
    (the same generator and seeds).

    The settings are checked before any file is written, and no file is ever
    overwritten. Faces are made ``chunk`` at a time, each chunk from its own
    seed, so that memory does not grow with ``count``; the first chunk is
    ``make_faces(chunk, ..., seed)``'s own. ``on_progress``, if given, is called with
    ``"writing faces"``, the faces written and ``count`` (for progress).
    """
    make_faces(1, shape=shape, dtype=dtype, seed=seed, **options)  # checks the settings
    for family in holes:
        check_family(family)
    suffix = ".tif" if dtype == "float32" else ".png"
    names = [f"face-{i:04d}{suffix}" for i in range(count)]
    paths = [Path(out) / ("truth" if holes else "") / name for name in names]
    planned = paths + [Path(out) / kind / family / name for family in holes for kind in ("holed", "masks") for name in names]
    existing = next((path for path in planned if path.exists()), None)
    if existing is not None:
        raise OutputPathError(f"{existing} exists; synth never overwrites a file: choose an empty folder")
    report = on_progress if on_progress is not None else (lambda stage, done, total: None)
    report("writing faces", 0, count)
    for start in range(0, count, chunk):
        faces = make_faces(min(chunk, count - start), shape=shape, dtype=dtype, seed=chunk_seed(seed, start), **options)
        for i, face in enumerate(faces, start=start):
            write_depth(paths[i], face)
            for family in holes:
                hidden = make_mask(family, ~missing_mask(face, MISSING[dtype]), mask_rng(seed, i, family, 0))
                holed = face.copy()
                holed[hidden] = MISSING[dtype]
                write_depth(Path(out) / "holed" / family / names[i], holed)
                write_depth(Path(out) / "masks" / family / names[i].replace(".tif", ".png"), hidden.astype(np.uint8) * 255)
        report("writing faces", start + len(faces), count)
    return paths
