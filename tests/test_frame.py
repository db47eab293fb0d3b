import numpy as np
import pytest

from facefill.align import Similarity
from facefill.frame import (
    ANGLES,
    FaceFrame,
    RayGrids,
    face_box,
    face_width,
    mirror,
    ray_index,
)


def test_mirror_maps_column_x_to_width_minus_1_minus_x_in_images_and_stacks():
    image = np.arange(12).reshape(3, 4)
    assert mirror(image)[1, 0] == image[1, 3] and mirror(image)[2, 1] == image[2, 2]
    stack = np.stack([image, image + 100])
    np.testing.assert_array_equal(mirror(stack)[1], mirror(image) + 100)


def test_face_box_and_width():
    face = np.zeros((10, 12), bool)
    face[2:7, 3:9] = True
    assert face_box(face) == (2, 6, 3, 8) and face_width(face) == 6


def _frame(frequency, average=None):
    average = np.where(frequency > 0, 50.0, np.nan) if average is None else average
    symmetric = (frequency + mirror(frequency)) / 2
    return FaceFrame(average, frequency, np.nan_to_num(average), symmetric)


def test_outline_is_where_half_the_faces_are_and_the_symmetric_one_counts_mirror_images():
    frequency = np.zeros((6, 6))
    frequency[:, 1] = 1.0  # one side only: in the outline, and at 0.5 on the other side when mirrored
    frequency[:, 2] = 0.4
    frame = _frame(frequency)
    np.testing.assert_array_equal(frame.outline.any(axis=0), [False, True, False, False, False, False])
    np.testing.assert_array_equal(frame.symmetric_outline.any(axis=0), [False, True, False, False, True, False])


def test_outline_excludes_pixels_without_an_average():
    frequency = np.ones((4, 4))
    average = np.full((4, 4), 30.0)
    average[0, 0] = np.nan
    assert not _frame(frequency, average).outline[0, 0]


def test_identity_axis_is_the_frames_centre_column_pointing_down():
    frequency = np.zeros((20, 11))
    frequency[4:16, 2:9] = 1.0
    frame = _frame(frequency)
    (row, col), angle = frame.axis_in_image(Similarity(centre_row=9.5, centre_col=5.0))
    assert (row, col) == pytest.approx((9.5, 5.0)) and angle == pytest.approx(np.pi / 2)


def test_a_shifted_face_has_its_axis_shifted_back_into_the_image():
    frequency = np.zeros((20, 11))
    frequency[4:16, 2:9] = 1.0
    (_, col), _ = _frame(frequency).axis_in_image(Similarity(shift_col=2.0, centre_row=9.5, centre_col=5.0))
    assert col == pytest.approx(3.0)  # the image's axis lies 2 pixels left of the frame's


def test_ray_index_wraps_around_and_rounds_to_the_nearest_ray():
    assert ray_index(np.array([-np.pi, np.pi, -np.pi + 0.4 * 2 * np.pi / ANGLES])).tolist() == [0, 0, 0]
    assert ray_index(np.array([0.0])).tolist() == [ANGLES // 2]


def test_ray_grids_are_kept_per_centre_and_point_past_the_image_outside_it():
    grids = RayGrids((10, 10))
    first = grids.around((5.0, 5.0), 12.0)
    assert grids.around((5.0, 5.0), 12.0) is first
    assert (first[:, 0] == 55).all()  # every ray starts at the centre pixel
    assert first.max() == 100  # one past the last pixel: outside the image
    assert not first.flags.writeable
