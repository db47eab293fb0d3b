"""Occluders painted in front of complete faces, to score occluder detection (``facefill
evaluate``'s ``occluders`` family): a hand, glasses, hair strands, in millimetres.

Each :func:`paint_occluder` returns where the occluder covers the face and how
much nearer than the face it is there (mm); ``evaluate`` writes it into the
depth with the units and direction fitted to the faces
(``facefill.pretrained.assume_frame``).

- ``hand``: a palm (an ellipse of semi-axes 18-28 by 14-20 mm) and four
  fingers (strips 7-10 mm wide, 25-45 mm long), 5-25 mm nearer, rounded over
  its outer 4 mm down to 60 % of that.
- ``glasses``: two elliptic rims (22-26 by 16-20 mm, 2.5-4.5 mm thick) at the
  eyes' height, 58-66 mm apart, and a bridge; 10-20 mm nearer.
- ``hair``: 3-7 strands (curves 1.2-2.4 mm wide) falling over the forehead,
  2-5 mm nearer.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from .errors import InvalidParameterError
from .frame import face_box
from .masks import near_segment

KINDS = ("hand", "glasses", "hair")


def paint_occluder(kind: str, face: np.ndarray, rng: np.random.Generator, px_per_mm: float) -> tuple[np.ndarray, np.ndarray]:
    """An occluder of ``kind`` on the face mask ``face`` ((H, W) bool), in faces of
    ``px_per_mm`` pixels per millimetre: (covered, nearer), the face pixels it covers and how
    much nearer than the face it is at each (mm; 0 elsewhere)."""
    if kind not in KINDS:
        raise InvalidParameterError(f"occluder kind {kind!r} is not known; expected one of {', '.join(KINDS)}")
    top, bottom, left, right = face_box(face)
    box = (top, bottom, left, right)
    shape, mm = face.shape, px_per_mm
    if kind == "hand":
        covered, height, edge, low = _hand(shape, box, rng, mm), rng.uniform(5, 25), 4 * mm, 0.6
    elif kind == "glasses":
        covered, height, edge, low = _glasses(shape, box, rng, mm), rng.uniform(10, 20), 1 * mm, 0.8
    else:
        covered, height, edge, low = _hair(shape, box, rng, mm), rng.uniform(2, 5), 0.5 * mm, 0.8
    covered &= face
    inside = ndimage.distance_transform_edt(covered)
    nearer = height * (low + (1 - low) * np.clip(inside / max(edge, 1e-9), 0, 1))
    return covered, np.where(covered, nearer, 0.0)


def _hand(shape, box, rng, mm) -> np.ndarray:
    top, bottom, left, right = box
    height, width = bottom - top + 1, right - left + 1
    centre = (rng.uniform(top + 0.3 * height, bottom - 0.2 * height), rng.uniform(left + 0.2 * width, right - 0.2 * width))
    along, across = rng.uniform(18, 28) * mm, rng.uniform(14, 20) * mm
    angle = rng.uniform(0, np.pi)
    covered = _ellipse(shape, centre, along, across, angle)
    pointing = angle + rng.choice([0.0, np.pi])
    dx, dy = np.cos(pointing), np.sin(pointing)
    for finger in range(4):
        offset = (finger - 1.5) * 0.45 * across
        base = np.array((centre[0] + dy * 0.6 * along + dx * offset, centre[1] + dx * 0.6 * along - dy * offset))
        length = rng.uniform(25, 45) * mm
        covered |= _segment(shape, base, base + length * np.array((dy, dx)), rng.uniform(3.5, 5) * mm)
    return covered


def _glasses(shape, box, rng, mm) -> np.ndarray:
    top, bottom, left, right = box
    eye_row = top + rng.uniform(0.36, 0.44) * (bottom - top + 1)
    middle = (left + right) / 2
    half_gap = rng.uniform(29, 33) * mm
    wide, tall = rng.uniform(22, 26) * mm, rng.uniform(16, 20) * mm
    thick = rng.uniform(2.5, 4.5) * mm
    covered = np.zeros(shape, dtype=bool)
    for side in (-1, 1):
        centre = (eye_row, middle + side * half_gap)
        covered |= _ellipse(shape, centre, wide, tall, 0.0) & ~_ellipse(shape, centre, wide - thick, tall - thick, 0.0)
    bridge_row = eye_row - 0.3 * tall
    inner = half_gap - wide + thick
    covered |= _segment(shape, np.array((bridge_row, middle - inner)), np.array((bridge_row, middle + inner)), thick / 2)
    return covered


def _hair(shape, box, rng, mm) -> np.ndarray:
    top, bottom, left, right = box
    height, width = bottom - top + 1, right - left + 1
    covered = np.zeros(shape, dtype=bool)
    for _ in range(rng.integers(3, 8)):
        start = np.array((top + rng.uniform(-0.05, 0.1) * height, rng.uniform(left, right)))
        bend = start + (rng.uniform(0.15, 0.35) * height, rng.uniform(-0.3, 0.3) * width)
        end = bend + (rng.uniform(0.0, 0.15) * height, rng.uniform(-0.2, 0.2) * width)
        half_width = rng.uniform(0.6, 1.2) * mm
        points = [(1 - t) ** 2 * start + 2 * t * (1 - t) * bend + t * t * end for t in np.linspace(0, 1, 12)]
        for first, second in zip(points[:-1], points[1:]):
            covered |= _segment(shape, first, second, half_width)
    return covered


def _ellipse(shape, centre, a: float, b: float, angle: float) -> np.ndarray:
    rows, cols = np.indices(shape, dtype=float)
    y, x = rows - centre[0], cols - centre[1]
    cos, sin = np.cos(angle), np.sin(angle)
    return ((x * cos + y * sin) / a) ** 2 + ((-x * sin + y * cos) / b) ** 2 <= 1


def _segment(shape, start: np.ndarray, end: np.ndarray, radius: float) -> np.ndarray:
    rows, cols = np.indices(shape, dtype=float)
    return near_segment(rows, cols, start, end, radius)
