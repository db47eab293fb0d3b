"""Which missing pixels belong to the face.

A missing pixel is either background around the face or a hole in it. A hole
enclosed by observed face pixels is always face; for missing regions that
reach the image border each method applies its own rule (see ``methods``).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def enclosed_holes(missing: np.ndarray) -> np.ndarray:
    """Missing pixels that no 4-connected path of missing pixels links to the image border.

    Parameters
    ----------
    missing : (H, W) bool ndarray

    Returns
    -------
    holes : (H, W) bool ndarray
        True for the missing pixels enclosed by observed pixels.

    Examples
    --------
    >>> m = np.zeros((5, 5), bool); m[2, 2] = True; m[0, :] = True
    >>> enclosed_holes(m).sum()
    1
    """
    return ndimage.binary_fill_holes(~missing) & missing
