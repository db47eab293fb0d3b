"""Registration of the model to a face: a similarity transform (shift, scale, small rotation).

The transform maps image coordinates to model coordinates. It is estimated by
Gauss-Newton (Lucas-Kanade) on the depth of the observed pixels against the
model's mean face, with a free depth offset, coarse to fine. Because the
model's mean is symmetric (mirrored faces are in its training set), the
face's own symmetry axis is the model's centre line taken back to the image.

References
----------
S. Baker and I. Matthews, "Lucas-Kanade 20 years on: a unifying framework",
IJCV 56 (3), 2004.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

#: Transforms closer to the identity than this (pixels, at the face's edge) are treated as the identity.
IDENTITY_TOLERANCE = 0.2
MAX_SHIFT_FRACTION = 0.15
MAX_LOG_SCALE = 0.15
MAX_ANGLE = np.deg2rad(6)
#: Prior standard deviations of shift (rows, cols; pixels), log scale and angle (radians).
PRIOR_STD = np.array([2.0, 2.0, 0.03, np.deg2rad(1.5)])
#: Relative drop of the depth misfit a transform must bring to be used instead of the identity.
MIN_GAIN = 0.15
#: How many independent observations the residuals of a face are worth, for the prior's weight.
EFFECTIVE_SAMPLES = 50
SHIFT_ONLY = np.array([True, True, False, False])
VERTICAL_ONLY = np.array([True, False, False, False])
FULL = np.array([True, True, True, True])
#: Share of observed pixels whose mirror about the image's centre line is observed, needed to
#: estimate the horizontal shift, scale and rotation.
MIN_BALANCE = 0.8
#: Fewest depth samples a fit (or a misfit) is made from: fewer say nothing about the pose.
MIN_SAMPLES = 20
#: A sample counts as inside the model when its bilinear outline value is at least this (all four
#: neighbouring pixels inside, up to rounding): residuals at the rim compare face with background.
INSIDE_OUTLINE = 0.99
#: Prior precision (times the data's) that holds a parameter that is not free at its value.
HELD = 1e12
#: Gauss-Newton stops when a step moves the shift by less than this (pixels) and the log scale
#: and the angle by less than ROTATION_SCALE_STEP: far below what changes a fill.
SHIFT_STEP = 0.02
ROTATION_SCALE_STEP = 3e-4


@dataclass(frozen=True)
class Similarity:
    """``model = scale * R(angle) @ (image - centre) + centre + shift``, points as (row, col)."""

    shift_row: float = 0.0
    shift_col: float = 0.0
    log_scale: float = 0.0
    angle: float = 0.0
    centre_row: float = 0.0
    centre_col: float = 0.0

    @property
    def scale(self) -> float:
        return float(np.exp(self.log_scale))

    def _matrix(self) -> np.ndarray:
        c, s = np.cos(self.angle), np.sin(self.angle)
        return self.scale * np.array([[c, -s], [s, c]])

    def apply(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image points -> model points."""
        m = self._matrix()
        dr, dc = rows - self.centre_row, cols - self.centre_col
        return (
            m[0, 0] * dr + m[0, 1] * dc + self.centre_row + self.shift_row,
            m[1, 0] * dr + m[1, 1] * dc + self.centre_col + self.shift_col,
        )

    def invert(self, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Model points -> image points."""
        m = np.linalg.inv(self._matrix())
        dr, dc = rows - self.centre_row - self.shift_row, cols - self.centre_col - self.shift_col
        return m[0, 0] * dr + m[0, 1] * dc + self.centre_row, m[1, 0] * dr + m[1, 1] * dc + self.centre_col

    def is_identity(self, radius: float) -> bool:
        """Whether no point within ``radius`` of the centre moves by more than the tolerance."""
        movement = np.hypot(self.shift_row, self.shift_col) + radius * (abs(self.scale - 1) + abs(self.angle))
        return movement < IDENTITY_TOLERANCE


class Registration:
    """Aligns a model's template to faces: :meth:`register` estimates the similarity that best
    maps a face's observed depth onto the template.

    Parameters
    ----------
    template : (H, W) float ndarray
        The model's mean face, defined at every pixel (extended beyond the face).
    outline : (H, W) bool ndarray
        Model pixels where the template is a real face (its residuals are trusted).
    iterations : int
        Gauss-Newton steps per scale.
    sigmas : tuple of float
        Gaussian smoothing of the template at each scale, coarse to fine.
    step : int
        Use every ``step``-th observed pixel in each direction (speed).
    """

    def __init__(
        self,
        template: np.ndarray,
        outline: np.ndarray,
        iterations: int = 6,
        sigmas: tuple[float, ...] = (2.0, 0.8),
        step: int = 3,
    ):
        self.template = template
        self.outline = outline
        self.iterations = iterations
        self.sigmas = sigmas
        self.step = step
        self._stacks: dict[float, np.ndarray] = {}

    def __getstate__(self):  # the stacks are rebuilt where they are used, not shipped to workers
        return {**self.__dict__, "_stacks": {}}

    def stack(self, sigma: float) -> np.ndarray:
        """(H, W, 4): the outline, the template blurred at ``sigma`` and its row and column
        gradients; computed once per smoothing, since one model's template serves every face."""
        stack = self._stacks.get(sigma)
        if stack is None:
            template = self.template
            smooth = ndimage.gaussian_filter(template, sigma) if sigma > 0 else template
            stack = self._stacks[sigma] = np.stack(
                [
                    self.outline.astype(np.float64),
                    smooth,
                    ndimage.sobel(smooth, axis=0) / 8.0,
                    ndimage.sobel(smooth, axis=1) / 8.0,
                ],
                axis=-1,
            )
        return stack

    def register(self, depth: np.ndarray) -> Similarity:
        """The similarity (image -> model) that best maps ``depth`` (H, W; NaN where missing)
        onto the template; the identity unless moving the model explains the face clearly better."""
        height, width = depth.shape
        observed = np.isfinite(depth)
        sample = np.zeros_like(observed)
        sample[:: self.step, :: self.step] = True
        rows, cols = (index.astype(np.float64) for index in np.nonzero(observed & sample))
        centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
        identity = Similarity(centre_row=centre_row, centre_col=centre_col)
        if rows.size < MIN_SAMPLES:
            return identity
        values = depth[observed & sample]
        params = np.zeros(4)
        # With one side of the face hidden, horizontal shift and scale trade off against each other
        # (the visible half can be matched either way): then only the vertical shift is estimated and
        # the axis stays at the image's centre line, the best guess for a centred crop.
        balance = (observed & observed[:, ::-1]).sum() / max(observed.sum(), 1)
        stages = (SHIFT_ONLY, FULL) if balance >= MIN_BALANCE else (VERTICAL_ONLY,)
        for stage, free in enumerate(stages):
            # the first stage goes coarse to fine; later ones refine at the finest smoothing
            for sigma in self.sigmas if stage == 0 else self.sigmas[-1:]:
                params = _gauss_newton(values, rows, cols, self.stack(sigma), params, self.iterations, free)
        # Keep the identity unless moving the model explains the face clearly better: a centred face
        # gains nothing from a transform fitted to its idiosyncrasies.
        moved = Similarity(*params, centre_row, centre_col)
        if moved.is_identity(radius=max(height, width) / 2):  # nothing to choose between
            return identity
        exact = self.stack(0.0)
        if _misfit(values, rows, cols, exact, moved) > (1 - MIN_GAIN) * _misfit(values, rows, cols, exact, identity):
            return identity
        return moved


def _bilinear(stack: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bilinear samples (C, N) of an (H, W, C) stack at points, and which points lie inside the grid."""
    height, width = stack.shape[:2]
    pixels = stack.reshape(height * width, -1)  # channels last: one gather per corner fetches them all
    inside = (rows >= 0) & (rows <= height - 1) & (cols >= 0) & (cols <= width - 1)
    rows, cols = np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)
    r0 = np.minimum(rows.astype(np.intp), height - 2)
    c0 = np.minimum(cols.astype(np.intp), width - 2)
    fr, fc = (rows - r0)[:, None], (cols - c0)[:, None]
    corner = r0 * width + c0
    top = pixels[corner] * (1 - fc) + pixels[corner + 1] * fc
    bottom = pixels[corner + width] * (1 - fc) + pixels[corner + width + 1] * fc
    return (top * (1 - fr) + bottom * fr).T, inside


def _samples(values, rows, cols, stack, transform):
    """Template samples at the observed points moved by ``transform``, for points well inside the model."""
    mr, mc = transform.apply(rows, cols)
    sampled, inside = _bilinear(stack, mr, mc)
    inside &= sampled[0] > INSIDE_OUTLINE  # channel 0 is the model's outline
    return sampled[1:, inside], inside, values[inside]


def _misfit(values, rows, cols, stack, transform) -> float:
    """RMS depth residual (offset removed) of the observed samples against the unsmoothed template ``stack``."""
    (model_values, *_), inside, observed = _samples(values, rows, cols, stack, transform)
    if inside.sum() < MIN_SAMPLES:
        return np.inf
    residual = observed - model_values
    return float(np.sqrt(np.mean((residual - residual.mean()) ** 2)))


def _gauss_newton(values, rows, cols, stack, params, iterations, free) -> np.ndarray:
    """MAP Gauss-Newton steps of the parameters marked ``free`` against one template ``stack``."""
    height, width = stack.shape[:2]
    centre_row, centre_col = (height - 1) / 2, (width - 1) / 2
    params = params.copy()
    for _ in range(iterations):
        t = Similarity(*params, centre_row, centre_col)
        (model_values, gr, gc), inside, observed = _samples(values, rows, cols, stack, t)
        if inside.sum() < MIN_SAMPLES:
            break
        dr, dc = rows[inside] - centre_row, cols[inside] - centre_col
        # d(model point)/d(params) at the current parameters
        scale, angle = np.exp(params[2]), params[3]
        ca, sa = np.cos(angle), np.sin(angle)
        d_r_dscale = scale * (ca * dr - sa * dc)
        d_c_dscale = scale * (sa * dr + ca * dc)
        d_r_dangle = scale * (-sa * dr - ca * dc)
        d_c_dangle = scale * (ca * dr - sa * dc)
        jacobian = np.column_stack(
            [gr, gc, gr * d_r_dscale + gc * d_c_dscale, gr * d_r_dangle + gc * d_c_dangle, np.ones_like(gr)]
        )
        residual = observed - model_values
        # MAP step: a Gaussian prior keeps the transform near the identity unless the data insist
        # (faces are cropped roughly centred); parameters not free are held; the depth offset is free
        noise = max(float(np.var(residual - residual.mean())), 1e-12)
        precision = np.zeros(5)
        # neighbouring residuals are strongly correlated: the data count as EFFECTIVE_SAMPLES, not thousands
        weight = noise * inside.sum() / EFFECTIVE_SAMPLES
        precision[:4] = np.where(free, weight / PRIOR_STD**2, HELD * weight)
        normal = jacobian.T @ jacobian + np.diag(precision)
        update = np.linalg.solve(normal, jacobian.T @ residual - np.concatenate([precision[:4] * params, [0.0]]))
        params = params + np.where(free, update[:4], 0.0)
        params[:2] = np.clip(params[:2], -MAX_SHIFT_FRACTION * height, MAX_SHIFT_FRACTION * height)
        params[2] = np.clip(params[2], -MAX_LOG_SCALE, MAX_LOG_SCALE)
        params[3] = np.clip(params[3], -MAX_ANGLE, MAX_ANGLE)
        if np.abs(update[:2]).max() < SHIFT_STEP and np.abs(update[2:4]).max() < ROTATION_SCALE_STEP:
            break
    return params


def warp_to_model(image: np.ndarray, transform: Similarity, fill: str = "nan") -> np.ndarray:
    """Resample an image-frame array on the model's grid, bilinearly.

    For float arrays NaN spreads to the neighbouring samples and points outside
    the image are NaN (``fill="nan"``) or their nearest edge value
    (``fill="nearest"``); bool masks are resampled by majority.
    """
    return _resample(image, transform.invert, fill)


def warp_to_image(model_array: np.ndarray, transform: Similarity, fill: str = "nan") -> np.ndarray:
    """Resample a model-frame array on the image's grid (as ``warp_to_model``)."""
    return _resample(model_array, transform.apply, fill)


def _resample(array: np.ndarray, mapping, fill: str) -> np.ndarray:
    height, width = array.shape
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float64)
    coords = np.array(mapping(rows, cols))
    if array.dtype == bool:
        return ndimage.map_coordinates(array.astype(np.float64), coords, order=1, mode="constant") >= 0.5
    if fill == "nearest":
        return ndimage.map_coordinates(array, coords, order=1, mode="nearest")
    return ndimage.map_coordinates(array, coords, order=1, mode="constant", cval=np.nan)
