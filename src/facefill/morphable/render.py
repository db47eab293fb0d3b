"""An orthographic z-buffer rasteriser of triangle meshes into depth images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..depth import extend_nearest
from ..fill.blend import harmonic_fill

#: Tolerance on barycentric coordinates, so that a pixel centre on an edge shared by two
#: triangles is inside both (no cracks between triangles).
EDGE_TOLERANCE = 1e-9


def rasterize(points: np.ndarray, triangles: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Render the nearest surface of a triangle mesh at every pixel centre.

    Parameters
    ----------
    points : (V, 3) float ndarray
        Vertex positions in image coordinates: column, row (pixel centres at
        whole numbers) and *nearness* (larger is nearer the camera).
    triangles : (T, 3) int ndarray
        Vertex indices of each triangle.
    shape : (int, int)
        Image size (height, width).

    Returns
    -------
    nearness : (H, W) float64 ndarray
        The largest interpolated nearness of the triangles covering each pixel
        centre; ``-inf`` where none does.
    """
    height, width = shape
    corners = np.asarray(points, dtype=np.float64)[triangles]  # (T, 3 corners, 3)
    xs, ys, zs = corners[..., 0], corners[..., 1], corners[..., 2]
    left = np.maximum(np.ceil(xs.min(axis=1)), 0).astype(np.int64)
    right = np.minimum(np.floor(xs.max(axis=1)), width - 1).astype(np.int64)
    top = np.maximum(np.ceil(ys.min(axis=1)), 0).astype(np.int64)
    bottom = np.minimum(np.floor(ys.max(axis=1)), height - 1).astype(np.int64)
    area = (xs[:, 1] - xs[:, 0]) * (ys[:, 2] - ys[:, 0]) - (ys[:, 1] - ys[:, 0]) * (xs[:, 2] - xs[:, 0])
    drawn = np.abs(area) > 0
    spans = np.where(drawn, np.maximum(right - left + 1, 0), 0)
    sizes = spans * np.where(drawn, np.maximum(bottom - top + 1, 0), 0)
    # Each corner's barycentric weight at pixel (x, y) is linear in x and y: the signed area of
    # the triangle with that corner moved to the pixel, over the whole area.
    safe = np.where(drawn, area, 1.0)
    weight_planes = []  # per corner: the weight's x, y and constant coefficients, (T,) each
    for corner in range(3):
        b, c = (corner + 1) % 3, (corner + 2) % 3
        weight_planes.append(
            ((ys[:, b] - ys[:, c]) / safe, (xs[:, c] - xs[:, b]) / safe, (xs[:, b] * ys[:, c] - ys[:, b] * xs[:, c]) / safe)
        )
    depth_plane = [sum(plane[i] * zs[:, corner] for corner, plane in enumerate(weight_planes)) for i in range(3)]
    nearness = np.full(height * width, -np.inf)
    # Every (triangle, pixel of its bounding box) pair, listed at once and tested a chunk at a
    # time: one pass of array operations whatever the triangles' sizes. A chunk is a run of
    # whole triangles with about PAIRS_PER_CHUNK pairs in all.
    ends = np.cumsum(sizes)
    cuts = np.unique(np.searchsorted(ends, np.arange(0, int(ends[-1]) if len(ends) else 0, PAIRS_PER_CHUNK), side="right"))
    for start, stop in zip(cuts, [*cuts[1:], len(sizes)]):
        counts = sizes[start:stop]
        triangle = np.repeat(np.arange(start, stop), counts)
        within = np.arange(len(triangle)) - np.repeat(np.cumsum(counts) - counts, counts)  # row-major in the box
        dy, dx = np.divmod(within, spans[triangle])
        row, column = top[triangle] + dy, left[triangle] + dx
        x, y = column.astype(np.float64), row.astype(np.float64)
        inside = np.ones(len(triangle), dtype=bool)
        for along_x, along_y, constant in weight_planes:
            inside &= along_x[triangle] * x + along_y[triangle] * y + constant[triangle] >= -EDGE_TOLERANCE
        chosen = triangle[inside]
        depth = depth_plane[0][chosen] * x[inside] + depth_plane[1][chosen] * y[inside] + depth_plane[2][chosen]
        np.maximum.at(nearness, (row * width + column)[inside], depth)
    return nearness.reshape(shape)


#: (triangle, pixel) pairs tested at a time: bounds the rasteriser's memory (about 200 bytes a pair).
PAIRS_PER_CHUNK = 1 << 18


#: Depth (mm) of the point a head turns about, behind the nose tip.
HEAD_CENTRE_DEPTH = 90.0


@dataclass(frozen=True)
class View:
    """Where a face lands in an image and how its depth is written.

    A point (x, y, z) of a face (mm, relative to the nose tip of the neutral
    face; y up, z towards the camera) lands at column ``centre[1] + scale * x``,
    row ``centre[0] - scale * y``, and its value is ``offset + gain * z``:
    for distances in millimetres ``offset`` is the nose tip's distance and
    ``gain`` is -1 (nearer is smaller); for 8-bit levels ``gain`` > 0 (nearer is
    larger).

    Attributes
    ----------
    shape : (int, int)
        Image size (height, width).
    scale : float
        Pixels per millimetre across.
    aspect : float, default 1
        Pixels per millimetre up, over ``scale``: a crop resized to a fixed
        box stretches faces of other proportions.
    centre : (float, float)
        Row and column of the neutral nose tip of an unturned face.
    offset, gain : float
        The depth encoding.
    """

    shape: tuple[int, int]
    scale: float
    centre: tuple[float, float]
    offset: float
    gain: float
    aspect: float = 1.0


def rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The (3, 3) rotation of a head turned by ``yaw`` (to its left), ``pitch`` (up) and ``roll``
    (towards its right shoulder), in degrees."""
    a, b, c = np.deg2rad([yaw, pitch, roll])
    turn = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    nod = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    tilt = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return tilt @ nod @ turn


def render_depth(
    vertices: np.ndarray,
    triangles: np.ndarray,
    view: View,
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """Render a face's depth in ``view``'s units, NaN where there is no face.

    Parameters
    ----------
    vertices : (V, 3) float ndarray
        The face's vertices (mm, relative to the neutral nose tip).
    triangles : (T, 3) int ndarray
        The triangles to draw (the face mask's).
    view : View
    pose : (yaw, pitch, roll), degrees
        The head's turn about a point :data:`HEAD_CENTRE_DEPTH` mm behind the nose tip.

    Returns
    -------
    depth : (H, W) float64 ndarray
        Small enclosed gaps of the mesh (the line between the lips) are closed
        smoothly; outside the face, NaN.
    """
    centre = np.array([0.0, 0.0, -HEAD_CENTRE_DEPTH])
    turned = (np.asarray(vertices, dtype=np.float64) - centre) @ rotation(*pose).T + centre
    points = np.column_stack(
        [view.centre[1] + view.scale * turned[:, 0], view.centre[0] - view.scale * view.aspect * turned[:, 1], turned[:, 2]]
    )
    nearness = rasterize(points, triangles, view.shape)
    covered = np.isfinite(nearness)
    nearness[~covered] = np.nan
    gaps = ndimage.binary_fill_holes(covered) & ~covered
    if gaps.any():
        nearness = harmonic_fill(nearness, gaps)
    return view.offset + view.gain * nearness


def grazing_angle(depth: np.ndarray, view: View) -> np.ndarray:
    """Angle (degrees, 0 facing the camera) between each face pixel's surface and the view
    direction, from the rendered depth's slope; NaN outside the face."""
    face = np.isfinite(depth)
    if not face.any():
        return np.full(depth.shape, np.nan)
    # outside the face, the nearest face pixel's depth: one-sided slopes at the rim
    millimetres = extend_nearest(depth) / view.gain
    slope_rows, slope_cols = np.gradient(millimetres)
    angle = np.degrees(np.arctan(np.hypot(slope_rows, slope_cols) * view.scale))
    return np.where(face, angle, np.nan)
