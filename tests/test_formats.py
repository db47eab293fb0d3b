import numpy as np
import pytest
from PIL import Image

from facefill.errors import ImageReadError, ImageWriteError, UnsupportedImageError
from facefill.formats import read_depth, read_mask, write_depth


@pytest.mark.parametrize(
    ("suffix", "dtype"),
    [
        (".png", np.uint8),
        (".png", np.uint16),
        (".tif", np.uint8),
        (".tif", np.uint16),
        (".tiff", np.float32),
        (".npy", np.uint8),
        (".npy", np.uint16),
        (".npy", np.float32),
        (".npy", np.float64),
    ],
)
def test_write_then_read_keeps_size_dtype_and_values(tmp_path, suffix, dtype):
    rng = np.random.default_rng(0)
    image = (rng.random((37, 23)) * 200).astype(dtype)
    if np.dtype(dtype).kind == "f":
        image[3, 4] = np.nan
    path = tmp_path / f"face{suffix}"
    write_depth(path, image)
    back = read_depth(path)
    assert back.dtype == image.dtype
    assert back.shape == (37, 23)
    np.testing.assert_array_equal(back, image)


def test_sample_data_reads_as_8bit_116x120(dataset):
    image = read_depth(dataset / "train" / "person-2" / "frame11_dep.png")
    assert image.shape == (120, 116) and image.dtype == np.uint8


def test_read_unsupported_suffix(tmp_path):
    path = tmp_path / "face.jpg"
    path.write_bytes(b"x")
    with pytest.raises(UnsupportedImageError, match="'.jpg' is not supported"):
        read_depth(path)


def test_read_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageReadError, match="notes.png: not an image"):
        read_depth(path)


def test_read_truncated_png(tmp_path):
    good = tmp_path / "good.png"
    write_depth(good, np.full((50, 40), 7, np.uint8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ImageReadError, match="bad.png: corrupt or truncated"):
        read_depth(bad)


def test_read_rgb_image(tmp_path):
    path = tmp_path / "rgb.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(UnsupportedImageError, match="rgb.png: image mode RGB \\(3 channels\\)"):
        read_depth(path)


def test_read_npy_of_wrong_rank(tmp_path):
    path = tmp_path / "cube.npy"
    np.save(path, np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(UnsupportedImageError, match="cube.npy: array of shape \\(2, 3, 4\\)"):
        read_depth(path)


def test_read_npy_of_unsupported_dtype(tmp_path):
    path = tmp_path / "ints.npy"
    np.save(path, np.zeros((4, 4), np.int64))
    with pytest.raises(UnsupportedImageError, match="ints.npy: dtype int64"):
        read_depth(path)


def test_read_corrupt_npy(tmp_path):
    path = tmp_path / "junk.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ImageReadError, match="junk.npy"):
        read_depth(path)


def test_read_refuses_absurd_sizes_before_decoding(tmp_path):
    path = tmp_path / "big.png"
    write_depth(path, np.zeros((100, 100), np.uint8))
    with pytest.raises(UnsupportedImageError, match="100x100 pixels is larger than the limit of 5000"):
        read_depth(path, max_pixels=5000)


def test_a_small_npy_that_declares_a_huge_3d_array_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.npy"
    header = {"descr": "|u1", "fortran_order": False, "shape": (80, 10000, 10000)}
    with open(path, "wb") as handle:
        np.lib.format.write_array_header_1_0(handle, header)
        handle.truncate(handle.tell() + 80 * 10000 * 10000)  # sparse: 8 GB long, nothing on the disk
    with pytest.raises(UnsupportedImageError, match="80x10000x10000 pixels is larger than the limit"):
        read_depth(path)


def test_write_dtype_the_format_cannot_hold(tmp_path):
    with pytest.raises(ImageWriteError, match="a .png file cannot hold a float32"):
        write_depth(tmp_path / "f.png", np.zeros((4, 4), np.float32))
    assert not list(tmp_path.iterdir())


def test_write_unknown_suffix(tmp_path):
    with pytest.raises(ImageWriteError, match="cannot write file type '.bmp'"):
        write_depth(tmp_path / "f.bmp", np.zeros((4, 4), np.uint8))


def test_read_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        read_depth(tmp_path / "nope.png")


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_a_one_bit_mask_reads_as_booleans(tmp_path, suffix):
    marked = np.zeros((9, 7), bool)
    marked[2:5, 1:3] = True
    Image.fromarray(marked).save(tmp_path / f"m{suffix}")
    np.testing.assert_array_equal(read_mask(tmp_path / f"m{suffix}"), marked)


def test_a_float_mask_is_true_where_non_zero_and_nan_counts_as_zero(tmp_path):
    values = np.array([[0.0, 0.5], [np.nan, -2.0]], np.float32)
    np.save(tmp_path / "m.npy", values)
    np.testing.assert_array_equal(read_mask(tmp_path / "m.npy"), [[False, True], [False, True]])


def test_a_one_bit_image_is_not_a_depth_image(tmp_path):
    Image.fromarray(np.zeros((9, 7), bool)).save(tmp_path / "m.png")
    with pytest.raises(UnsupportedImageError, match="image mode 1"):
        read_depth(tmp_path / "m.png")
