import math

import numpy as np
import pytest

from facefill.checks import (
    auto_or_number,
    check_image,
    check_missing_value,
    stack_images,
    whole_number,
)
from facefill.errors import InvalidParameterError, ShapeMismatchError


@pytest.mark.parametrize(("value", "dtype"), [(300, np.uint8), (-1, np.uint16), (1.5, np.uint8), (math.nan, np.uint8)])
def test_missing_value_that_does_not_fit_the_dtype(value, dtype):
    with pytest.raises(InvalidParameterError, match="missing value"):
        check_missing_value(value, np.dtype(dtype))


@pytest.mark.parametrize("value", [0, -3, 2.5, True, "4", None, 10**12])
def test_whole_number_names_the_parameter_value_and_range(value):
    with pytest.raises(InvalidParameterError, match=r"^--workers .* is not valid; expected a whole number in \[1, 64\]$"):
        whole_number("--workers", value, maximum=64)


def test_whole_number_accepts_numpy_integers_and_returns_an_int():
    assert whole_number("n", np.int64(3)) == 3 and type(whole_number("n", np.int64(3))) is int


@pytest.mark.parametrize("value", [-1, "many", True, math.nan])
def test_auto_or_number_refuses_what_is_neither(value):
    with pytest.raises(InvalidParameterError, match="noise .* expected \"auto\" or a number >= 0"):
        auto_or_number("noise", value, integer=False, minimum=0)


def test_check_image_names_the_file_and_both_sizes():
    with pytest.raises(ShapeMismatchError, match="face.png: size 3x2 differs from the model's 4x5"):
        check_image(np.zeros((2, 3), np.uint8), (5, 4), np.dtype(np.uint8), "face.png", "the model's")
    with pytest.raises(ShapeMismatchError, match="face.png: dtype uint16 differs from the model's uint8"):
        check_image(np.zeros((5, 4), np.uint16), (5, 4), np.dtype(np.uint8), "face.png", "the model's")


def test_stack_images_numbers_the_image_that_differs():
    images = [np.zeros((4, 4), np.uint8)] * 3 + [np.zeros((4, 5), np.uint8)]
    with pytest.raises(ShapeMismatchError, match="image 3: size 5x4 differs from the first image's 4x4"):
        stack_images(images)
