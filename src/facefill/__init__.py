"""facefill: fill the missing parts of face depth images from a learned face model."""

from .errors import FacefillError
from .formats import read_depth, write_depth
from .model import FaceModel
from .pretrained import pretrained_model

__all__ = ["FaceModel", "FacefillError", "pretrained_model", "read_depth", "write_depth"]
__version__ = "0.1.0"
