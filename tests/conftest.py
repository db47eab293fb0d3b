"""Shared fixtures: small seeded synthetic faces, models fitted once per session, and the
sample data in ../shared/dataset.

The shared models fix the prior's settings (what cross-validation chooses for
them) so that they fit in a tenth of the time; ``tests/test_tuning.py``, the
command-line tests of ``train`` and a few others keep the cross-validation.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from facefill.formats import read_depth
from facefill.model import FaceModel
from facefill.synth import make_faces

REPO = Path(__file__).resolve().parents[1]
DATASET = Path(os.environ.get("FACEFILL_DATASET", REPO.parent / "shared" / "dataset"))
#: The shared faces' pose jitter: synth's default before it was widened to (3, 3, 2). The shared
#: models' settings and the occluder tests' thresholds were set on these faces; a model of 30
#: faces of the wider jitter bends its tilt modes under a hand 5 mm nearer (what the held-out
#: faces show of that is measured in the README, not here).
NARROW_POSE = (1.5, 1.5, 1.0)


@pytest.fixture(scope="session")
def dataset() -> Path:
    """The sample data (reference data beside the project, never copied into it)."""
    if not (DATASET / "train").is_dir():
        pytest.skip(f"sample data not found at {DATASET} (set FACEFILL_DATASET)")
    return DATASET


@pytest.fixture(scope="session")
def faces8() -> np.ndarray:
    """12 synthetic 8-bit faces of the sample data's size (116x120, missing 255)."""
    return make_faces(12, seed=1, pose=NARROW_POSE)


@pytest.fixture(scope="session")
def faces16() -> np.ndarray:
    """12 synthetic 16-bit millimetre faces of another size (160x200, missing 0)."""
    return make_faces(12, shape=(200, 160), dtype="uint16", seed=2, pose=NARROW_POSE)


@pytest.fixture(scope="session")
def model8(faces8) -> FaceModel:
    """A model of 10 of the 8-bit faces (faces8[2:]); faces8[0] and faces8[1] are new to it."""
    return FaceModel(n_components=8, noise=4.0, mirror_weight=0.5, border_smoothing=1.25).fit(faces8[2:])


@pytest.fixture(scope="session")
def synthetic_model() -> FaceModel:
    """A model of 30 synthetic 8-bit faces, with the settings cross-validation chooses for them."""
    return FaceModel(n_components=48, noise=4.8, mirror_weight=0.0, border_smoothing=1.5).fit(make_faces(30, seed=21, pose=NARROW_POSE))


@pytest.fixture(scope="session")
def sample_model(dataset) -> FaceModel:
    """A model of the 20 sample training faces, with the settings cross-validation chooses for them."""
    faces = [read_depth(p) for p in sorted((dataset / "train").glob("*/*.png"))]
    return FaceModel(n_components=12, noise=22.77, mirror_weight=0.25, border_smoothing=1.25).fit(faces)


def with_hole(face: np.ndarray, rows: slice, cols: slice, missing_value) -> np.ndarray:
    """A copy of ``face`` with a rectangle set missing."""
    holed = face.copy()
    holed[rows, cols] = missing_value
    return holed
