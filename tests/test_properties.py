"""Property-based tests of reconstruction (Hypothesis): random sizes, dtypes, missing values, faces and holes."""

import math
from functools import lru_cache

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facefill.depth import missing_mask
from facefill.fill import METHODS
from facefill.model import FaceModel
from facefill.synth import make_faces

DTYPES = ("uint8", "uint16", "float32")
#: Missing values each dtype may use: its convention and an unusual one.
MISSING = {"uint8": (255, 0), "uint16": (0, 65535), "float32": (math.nan, -1.0)}


@lru_cache(maxsize=None)
def trained(height: int, width: int, dtype: str, missing_value: float, seed: int):
    """A model of 6 synthetic faces, with the missing value swapped in (cached: training is the slow part)."""
    faces = make_faces(7, shape=(height, width), dtype=dtype, seed=seed)
    faces = [_with_missing_value(face, dtype, missing_value) for face in faces]
    # fixed prior settings (the border smoothing too) keep each example fast; cross-validation has its own tests
    model = FaceModel(n_components=3, noise=2.0, mirror_weight=0.5, border_smoothing=1.0).fit(faces[1:], missing_value)
    return model, faces[0]


def _with_missing_value(face, dtype, missing_value):
    default = MISSING[dtype][0]
    background = np.isnan(face) if dtype == "float32" else face == default
    face = face.copy()
    if dtype != "float32" and missing_value != default:
        face[face == missing_value] = default + (1 if default == 0 else -1)  # keep the value free
    face[background] = missing_value
    return face


@st.composite
def holed_faces(draw):
    height = draw(st.integers(16, 48))
    width = draw(st.integers(16, 48))
    dtype = draw(st.sampled_from(DTYPES))
    missing_value = draw(st.sampled_from(MISSING[dtype]))
    model, face = trained(height, width, dtype, missing_value, draw(st.integers(0, 2)))
    holed = face.copy()
    for _ in range(draw(st.integers(0, 4))):
        top, left = draw(st.integers(0, height - 1)), draw(st.integers(0, width - 1))
        bottom, right = draw(st.integers(top + 1, height)), draw(st.integers(left + 1, width))
        holed[top:bottom, left:right] = missing_value
    scattered = draw(st.floats(0, 0.3))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    holed[rng.random(holed.shape) < scattered] = missing_value
    return model, holed


PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@PROPERTY_SETTINGS
@given(holed_faces(), st.sampled_from(sorted(METHODS)))
def test_reconstruction_properties(case, method):
    model, holed = case
    missing = missing_mask(holed, model.missing_value_)
    if missing.all():
        return  # nothing observed: an error of its own, tested elsewhere
    before = holed.copy()
    filled = model.reconstruct(holed, method)
    np.testing.assert_array_equal(holed, before)  # the caller's array is untouched
    assert filled.shape == holed.shape and filled.dtype == holed.dtype
    np.testing.assert_array_equal(filled[~missing], holed[~missing])  # observed pixels never change
    written = missing & ~missing_mask(filled, model.missing_value_)
    values = filled[written].astype(np.float64)
    assert np.isfinite(values).all()
    if holed.dtype.kind == "f":
        assert np.isnan(filled[missing & ~written]).all() == math.isnan(model.missing_value_)
    else:
        info = np.iinfo(holed.dtype)
        assert ((values >= info.min) & (values <= info.max)).all()
    np.testing.assert_array_equal(model.reconstruct(holed, method), filled)  # deterministic


@PROPERTY_SETTINGS
@given(st.integers(16, 40), st.integers(16, 40), st.sampled_from(DTYPES), st.integers(0, 2), st.sampled_from(sorted(METHODS)))
def test_an_image_with_nothing_missing_comes_back_identical(height, width, dtype, seed, method):
    model, face = trained(height, width, dtype, MISSING[dtype][0], seed)
    complete = face.copy()
    fill = np.nanmedian(face.astype(np.float64)) if dtype == "float32" else int(np.median(face[face != MISSING[dtype][0]]))
    complete[missing_mask(face, model.missing_value_)] = fill
    np.testing.assert_array_equal(model.reconstruct(complete, method), complete)


@PROPERTY_SETTINGS
@given(holed_faces(), st.sampled_from(sorted(METHODS)), st.integers(0, 2**16), st.floats(0, 0.5))
def test_a_mask_replaces_exactly_the_masked_and_missing_pixels(case, method, seed, share):
    model, holed = case
    mask = np.random.default_rng(seed).random(holed.shape) < share
    unknown = missing_mask(holed, model.missing_value_) | mask
    if unknown.all():
        return  # nothing observed: an error of its own, tested elsewhere
    filled = model.reconstruct(holed, method, mask=mask)
    np.testing.assert_array_equal(filled[~unknown], holed[~unknown])  # neither masked nor missing: untouched
    # a masked pixel is filled or made missing, never kept: the fill cannot see it
    unmasked = holed.copy()
    unmasked[mask] = model.missing_value_
    np.testing.assert_array_equal(model.reconstruct(unmasked, method), filled)
