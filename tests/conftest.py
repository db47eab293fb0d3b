"""Shared fixtures: small seeded synthetic faces, and the sample data in ../shared/dataset."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from facefill.synth import make_faces

REPO = Path(__file__).resolve().parents[1]
DATASET = Path(os.environ.get("FACEFILL_DATASET", REPO.parent / "shared" / "dataset"))


@pytest.fixture(scope="session")
def dataset() -> Path:
    """The sample data (reference data beside the project, never copied into it)."""
    if not (DATASET / "train").is_dir():
        pytest.skip(f"sample data not found at {DATASET} (set FACEFILL_DATASET)")
    return DATASET


@pytest.fixture(scope="session")
def faces8() -> np.ndarray:
    """12 synthetic 8-bit faces of the sample data's size (116x120, missing 255)."""
    return make_faces(12, seed=1)


@pytest.fixture(scope="session")
def faces16() -> np.ndarray:
    """12 synthetic 16-bit millimetre faces of another size (160x200, missing 0)."""
    return make_faces(12, shape=(200, 160), dtype="uint16", seed=2)


def with_hole(face: np.ndarray, rows: slice, cols: slice, missing_value) -> np.ndarray:
    """A copy of ``face`` with a rectangle set missing."""
    holed = face.copy()
    holed[rows, cols] = missing_value
    return holed
