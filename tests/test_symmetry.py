import numpy as np

from facefill.symmetry import mirror_about_centre


def test_mirror_about_centre_maps_column_x_to_width_minus_1_minus_x():
    image = np.arange(12).reshape(3, 4)
    mirrored = mirror_about_centre(image)
    assert mirrored[1, 0] == image[1, 3] and mirrored[2, 1] == image[2, 2]
