import math

import numpy as np
import pytest

from facefill.depth import default_missing_value, missing_mask, to_dtype
from facefill.errors import UnsupportedImageError


def test_default_missing_values_follow_conventions():
    assert default_missing_value(np.dtype(np.uint8)) == 255
    assert default_missing_value(np.dtype(np.uint16)) == 0
    assert math.isnan(default_missing_value(np.dtype(np.float32)))


def test_default_missing_value_of_unsupported_dtype():
    with pytest.raises(UnsupportedImageError, match="int32"):
        default_missing_value(np.dtype(np.int32))


def test_missing_mask_treats_nan_as_missing_in_float_images():
    image = np.array([[1.0, np.nan, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(missing_mask(image, 0.0), [[False, True, True]])


@pytest.mark.parametrize(("dtype", "missing"), [(np.uint8, 255), (np.uint8, 0), (np.uint16, 0), (np.uint16, 1000)])
def test_a_fill_never_takes_the_missing_value(dtype, missing):
    values = np.array([-5.0, 0.0, 254.6, 255.0, 999.6, 1000.0, 1e9])
    cast = to_dtype(values, np.dtype(dtype), missing)
    assert cast.dtype == dtype and not (cast == missing).any()
