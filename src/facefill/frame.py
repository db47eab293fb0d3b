"""The face frame: the geometry learned at training that every fill shares.

The *frame* is the model's image grid. It owns:

- the **average face** (per pixel, the mean of the training faces where they are face);
- the **outline**: where at least :data:`OUTLINE_FREQUENCY` of the training
  faces are face (and the average is known), and the **symmetric outline**,
  the same over the faces and their mirror images;
- the **template**: the symmetric mean face, defined at every pixel, that
  registration aligns to a new face;
- the **symmetry axis** (the frame's centre column) and **mirroring** about it;
- the rays cast from a face's centre, on which the fill decides its outline.

A word means one thing everywhere in facefill: an *outline* is a face's
silhouette (the frame's outlines are the training faces' majority silhouettes;
``fill.region`` predicts one face's outline along rays), never the pixels a
fill decides are face: that is the *fill region* (``facefill.fill.region``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import ndimage

from .align import Registration, Similarity

#: Share of training faces that must be face at a pixel for it to lie inside an outline.
OUTLINE_FREQUENCY = 0.5
#: Width (pixels) of the sample data's faces: the pixel sizes tuned on them (mask sizes, margins
#: of the outline rule) are given for a face this wide and scale with a face's width.
REFERENCE_FACE_WIDTH = 84.0
#: Rays from a face's centre (one per degree) and their sampling step (pixels).
ANGLES = 360
RADIAL_STEP = 0.5
#: Ray grids kept per frame: faces filled by one model mostly share their centre.
KEPT_RAY_GRIDS = 8


def mirror(image: np.ndarray) -> np.ndarray:
    """Mirror an image (or a stack of them) about the frame's vertical centre line: column x
    goes to W - 1 - x. A view, not a copy.

    The model frame is symmetric about that line (mirrored faces are in its
    training set); for an image it is the original system's symmetry rule,
    which assumes the face is centred.
    """
    return image[..., ::-1]


def face_box(face: np.ndarray) -> tuple[int, int, int, int]:
    """Bounding box ``(top, bottom, left, right)`` of a face mask, inclusive."""
    ys, xs = np.nonzero(face)
    return int(ys.min()), int(ys.max()), int(xs.min()), int(xs.max())


def face_width(face: np.ndarray) -> int:
    """Width (pixels) of a face mask's bounding box."""
    _, _, left, right = face_box(face)
    return right - left + 1


def ray_index(angle: np.ndarray) -> np.ndarray:
    """The ray (0 .. ANGLES - 1) nearest to each polar angle (radians, from -pi)."""
    return np.rint((angle + np.pi) / (2 * np.pi) * ANGLES).astype(int) % ANGLES


RAY_ANGLES = np.linspace(-np.pi, np.pi, ANGLES, endpoint=False)
RAY_SINES = np.sin(RAY_ANGLES)
RAY_COSINES = np.cos(RAY_ANGLES)


class RayGrids:
    """Flat pixel indices of polar grids (ANGLES x radii, nearest pixel) around face centres in
    images of one shape; points outside the image index one past its last pixel.

    Keeps the last :data:`KEPT_RAY_GRIDS` grids: faces filled by one model mostly share their centre.
    """

    def __init__(self, shape: tuple[int, int]):
        self.shape = tuple(shape)
        self._grids: dict[tuple[float, float, float], np.ndarray] = {}

    def around(self, centre: tuple[float, float], max_radius: float) -> np.ndarray:
        key = (float(centre[0]), float(centre[1]), float(max_radius))
        grid = self._grids.get(key)
        if grid is None:
            if len(self._grids) >= KEPT_RAY_GRIDS:
                self._grids.pop(next(iter(self._grids)))
            grid = self._grids[key] = self._build(key[:2], key[2])
        return grid

    def _build(self, centre: tuple[float, float], max_radius: float) -> np.ndarray:
        height, width = self.shape
        radii = np.arange(0.0, max_radius, RADIAL_STEP)
        rows = np.rint(centre[0] + RAY_SINES[:, None] * radii[None, :]).astype(np.intp)
        cols = np.rint(centre[1] + RAY_COSINES[:, None] * radii[None, :]).astype(np.intp)
        inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        grid = np.where(inside, rows * width + cols, height * width)
        grid.flags.writeable = False  # shared by every face with this centre
        return grid

    def __getstate__(self):  # grids are cheap to rebuild: do not ship them to workers
        return {"shape": self.shape, "_grids": {}}


#: Distance (pixels) to a second point on the symmetry axis, which gives its direction; any length works.
_AXIS_PROBE = 50.0


def nearer_direction(mean_face: np.ndarray, outline: np.ndarray) -> float:
    """+1.0 if nearer depth is larger, -1.0 if smaller, in faces whose mean is ``mean_face``
    inside ``outline``: a face's middle, the nose's side, is nearer than its rim."""
    rim = outline & ~ndimage.binary_erosion(outline, iterations=2)
    middle = ndimage.binary_erosion(outline, iterations=max(2, int(0.25 * face_width(outline)))) if outline.any() else outline
    if not rim.any() or not middle.any():
        return 1.0
    return 1.0 if float(np.mean(mean_face[middle])) >= float(np.mean(mean_face[rim])) else -1.0


@dataclass(frozen=True, eq=False)
class FaceFrame:
    """The geometry of a model's faces (see the module docstring).

    Parameters
    ----------
    average : (H, W) float ndarray
        The average face; NaN where no training face is face.
    frequency : (H, W) float ndarray
        Share of training faces that are face at each pixel.
    template : (H, W) float ndarray
        The symmetric mean face, defined at every pixel (extended beyond the
        faces by its nearest value): the registration target.
    symmetric_frequency : (H, W) float ndarray
        Share of training faces and their mirror images that are face.
    """

    average: np.ndarray
    frequency: np.ndarray
    template: np.ndarray
    symmetric_frequency: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return self.average.shape

    @cached_property
    def outline(self) -> np.ndarray:
        """Where at least half the training faces are face and the average face is known."""
        return (self.frequency >= OUTLINE_FREQUENCY) & np.isfinite(self.average)

    @cached_property
    def symmetric_outline(self) -> np.ndarray:
        """Where at least half the training faces and their mirror images are face."""
        return self.symmetric_frequency >= OUTLINE_FREQUENCY

    @cached_property
    def nearer(self) -> float:
        """+1.0 if nearer depth is larger (8-bit levels, as the sample data), -1.0 if smaller
        (millimetres); see :func:`nearer_direction`."""
        return nearer_direction(self.template, self.symmetric_outline)

    @cached_property
    def registration(self) -> Registration:
        """Aligns the template to a face (its smoothed stacks are computed once per frame)."""
        return Registration(self.template, self.symmetric_outline)

    @cached_property
    def rays(self) -> RayGrids:
        return RayGrids(self.shape)

    def axis_in_image(self, transform: Similarity) -> tuple[tuple[float, float], float]:
        """The face's centre (row, col) and the direction angle of its symmetry axis, in the image.

        The symmetric outline is symmetric about the frame's centre column;
        both are taken back to the image through the registration.
        """
        rows, _ = np.nonzero(self.symmetric_outline)
        axis_col = (self.shape[1] - 1) / 2
        centre_row = float(rows.mean()) if rows.size else (self.shape[0] - 1) / 2
        img_r, img_c = transform.invert(
            np.array([centre_row, centre_row + _AXIS_PROBE]), np.array([axis_col, axis_col])
        )
        return (float(img_r[0]), float(img_c[0])), float(np.arctan2(img_r[1] - img_r[0], img_c[1] - img_c[0]))
