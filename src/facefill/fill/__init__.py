"""Filling: the methods that take a face, the pixels to fill, the face frame and the prior.

Nothing here reads the model as a whole or the evaluation protocol: a fill
sees only ``(depth, unknown, frame, prior)``.
"""

from .base import Filled, Method
from .methods import METHODS, get_method

__all__ = ["METHODS", "Filled", "Method", "get_method"]
