"""Mirroring a face about a vertical symmetry axis."""

from __future__ import annotations

import numpy as np


def mirror_about_centre(image: np.ndarray) -> np.ndarray:
    """Mirror image about the image's vertical centre line: column x goes to W - 1 - x.

    This is the original system's rule: it assumes the face is centred in the image.

    Parameters
    ----------
    image : (H, W) ndarray

    Returns
    -------
    mirrored : (H, W) ndarray
        A view of ``image`` with its columns reversed.
    """
    return image[:, ::-1]
