import numpy as np

from facefill.outline import enclosed_holes


def test_hole_inside_face_is_enclosed_and_border_region_is_not():
    missing = np.ones((9, 9), bool)
    missing[2:7, 2:7] = False
    missing[4, 4] = True
    holes = enclosed_holes(missing)
    assert holes[4, 4] and holes.sum() == 1


def test_hole_that_reaches_the_image_border_is_not_enclosed():
    missing = np.zeros((9, 9), bool)
    missing[0:4, 4] = True
    assert not enclosed_holes(missing).any()
