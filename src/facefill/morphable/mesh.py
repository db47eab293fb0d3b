"""The shipped face mesh: the ICT Face Model Light's face area, its modes, and the face mask.

The data (``ict_face.npz``) is derived by ``scripts/derive_face_model.py`` from
the ICT Face Model Light (USC Institute for Creative Technologies, MIT
license: ``LICENSE`` and ``CREDITS.md`` beside it). Coordinates are in
millimetres: x across the face (symmetric about 0), y up, z towards the viewer.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property
from importlib import resources

import numpy as np

DATA_FILE = "ict_face.npz"
#: Index of the nose tip among the Multi-PIE 68 landmarks: the origin of a face's coordinates.
NOSE_TIP_LANDMARK = 30
# The face mask: a smooth outline on the neutral face, in mm from the nose tip, below the
# hairline and above the neck, without ears. Matched to the sample faces' mean outline
# (../shared/dataset/train, measured at 0.69 px/mm): 58 mm half-width across the cheeks, a
# squarish forehead rising 78 mm above the nose tip, a rounder jaw down to the chin's rim.
MASK_HALF_WIDTH = 58.0
MASK_ABOVE = 78.0
MASK_BELOW = 82.0
MASK_FOREHEAD_POWER = 3.0
MASK_JAW_POWER = 1.8
#: Width (mm) of the mean face's mask: what a face's width in pixels is measured against.
FACE_WIDTH_MM = 2 * MASK_HALF_WIDTH
#: Expressions always applied in full: closed eyes, since the mesh has no eyeballs.
CLOSED_EYES = ("eyeBlink_L", "eyeBlink_R")


@dataclass(frozen=True, eq=False)
class FaceMesh:
    """The face mask's part of the morphable model, its origin the neutral nose tip (landmark 30).

    Attributes
    ----------
    neutral : (V, 3) float32 ndarray
        Vertex positions of the neutral face (mm).
    triangles : (T, 3) int32 ndarray
        The triangles inside the face mask (over these vertices only).
    identity_modes : (K, V, 3) float32 ndarray
        Identity modes (mm at weight 1); a face's weights are drawn from N(0, 1).
    expression_modes : (E, V, 3) float32 ndarray
        Expression shapes (mm at weight 1); weights in [0, 1].
    expression_names : tuple of str
    in_mask : (V,) bool ndarray
        The vertices inside the face mask itself (all of them unless the mesh
        was loaded with a margin): a face's extent is theirs.
    """

    neutral: np.ndarray
    triangles: np.ndarray
    identity_modes: np.ndarray
    expression_modes: np.ndarray
    expression_names: tuple[str, ...]
    in_mask: np.ndarray

    def vertices(self, identity: np.ndarray, expression: np.ndarray) -> np.ndarray:
        """Vertex positions (V, 3) of one face for identity weights (up to K) and expression
        weights (E)."""
        identity = np.asarray(identity, dtype=np.float32)
        offsets = identity @ self._identity_rows[: identity.size] + np.asarray(expression, np.float32) @ self._expression_rows
        return self.neutral + offsets.reshape(-1, 3)

    def extent(self, vertices: np.ndarray) -> tuple[float, float]:
        """Height and width (mm) of a face's mask: the extent of its vertices up and across."""
        inside = vertices[self.in_mask]
        return float(np.ptp(inside[:, 1])), float(np.ptp(inside[:, 0]))

    @cached_property
    def _identity_rows(self) -> np.ndarray:
        return self.identity_modes.reshape(len(self.identity_modes), -1)

    @cached_property
    def _expression_rows(self) -> np.ndarray:
        return self.expression_modes.reshape(len(self.expression_modes), -1)

    @property
    def closed_eyes(self) -> np.ndarray:
        """Expression weights (E,) with the eyes closed and nothing else."""
        weights = np.zeros(len(self.expression_names), dtype=np.float32)
        weights[[self.expression_names.index(name) for name in CLOSED_EYES]] = 1.0
        return weights


@cache
def load_mesh(margin: float = 0.0) -> FaceMesh:
    """The shipped face mesh inside the face mask grown by ``margin`` mm (read once per process
    and margin)."""
    with resources.files(__package__).joinpath(DATA_FILE).open("rb") as handle, np.load(handle) as data:
        neutral = data["neutral"]
        neutral = neutral - neutral[data["landmarks_multipie68"][NOSE_TIP_LANDMARK]]
        triangles = data["triangles"]
        triangles = triangles[face_mask(neutral, margin)[triangles].all(axis=1)]
        # only the vertices of these triangles are kept, numbered anew
        used, triangles = np.unique(triangles, return_inverse=True)
        return FaceMesh(
            neutral=neutral[used].astype(np.float32),
            triangles=triangles.reshape(-1, 3).astype(np.int32),
            identity_modes=np.ascontiguousarray(data["identity_modes"][:, used], dtype=np.float32),
            expression_modes=np.ascontiguousarray(data["expression_modes"][:, used], dtype=np.float32),
            expression_names=tuple(str(name) for name in data["expression_names"]),
            in_mask=face_mask(neutral[used]),
        )


def face_mask(neutral: np.ndarray, margin: float = 0.0) -> np.ndarray:
    """Which vertices (V,) of the neutral face lie inside the face mask grown by ``margin`` mm."""
    across = np.abs(neutral[:, 0]) / (MASK_HALF_WIDTH + margin)
    up = neutral[:, 1]
    top, bottom = MASK_ABOVE + margin, MASK_BELOW + margin
    above = (across**MASK_FOREHEAD_POWER + np.abs(up / top) ** MASK_FOREHEAD_POWER) ** (1 / MASK_FOREHEAD_POWER)
    below = (across**MASK_JAW_POWER + np.abs(up / bottom) ** MASK_JAW_POWER) ** (1 / MASK_JAW_POWER)
    return np.where(up > 0, above, below) <= 1.0
