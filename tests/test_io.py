import math

import numpy as np
import pytest
from PIL import Image

from facefill import io
from facefill.errors import (
    ImageReadError,
    ImageWriteError,
    InvalidParameterError,
    NoImagesError,
    UnsupportedImageError,
)


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
    io.write_depth(path, image)
    back = io.read_depth(path)
    assert back.dtype == image.dtype
    assert back.shape == (37, 23)
    np.testing.assert_array_equal(back, image)


def test_sample_data_reads_as_8bit_116x120(dataset):
    image = io.read_depth(dataset / "train" / "person-2" / "frame11_dep.png")
    assert image.shape == (120, 116) and image.dtype == np.uint8


def test_default_missing_values_follow_conventions():
    assert io.default_missing_value(np.dtype(np.uint8)) == 255
    assert io.default_missing_value(np.dtype(np.uint16)) == 0
    assert math.isnan(io.default_missing_value(np.dtype(np.float32)))


def test_default_missing_value_of_unsupported_dtype():
    with pytest.raises(UnsupportedImageError, match="int32"):
        io.default_missing_value(np.dtype(np.int32))


def test_missing_mask_treats_nan_as_missing_in_float_images():
    image = np.array([[1.0, np.nan, 0.0]], dtype=np.float32)
    np.testing.assert_array_equal(io.missing_mask(image, 0.0), [[False, True, True]])


@pytest.mark.parametrize(("value", "dtype"), [(300, np.uint8), (-1, np.uint16), (1.5, np.uint8), (math.nan, np.uint8)])
def test_missing_value_that_does_not_fit_the_dtype(value, dtype):
    with pytest.raises(InvalidParameterError, match="missing value"):
        io.check_missing_value(value, np.dtype(dtype))


def test_read_missing_file(tmp_path):
    with pytest.raises(ImageReadError, match="no such file"):
        io.read_depth(tmp_path / "nope.png")


def test_read_unsupported_suffix(tmp_path):
    path = tmp_path / "face.jpg"
    path.write_bytes(b"x")
    with pytest.raises(UnsupportedImageError, match="'.jpg' is not supported"):
        io.read_depth(path)


def test_read_text_file_named_png(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not an image")
    with pytest.raises(ImageReadError, match="notes.png: not an image"):
        io.read_depth(path)


def test_read_truncated_png(tmp_path):
    good = tmp_path / "good.png"
    io.write_depth(good, np.full((50, 40), 7, np.uint8))
    bad = tmp_path / "bad.png"
    bad.write_bytes(good.read_bytes()[:60])
    with pytest.raises(ImageReadError, match="bad.png: corrupt or truncated"):
        io.read_depth(bad)


def test_read_rgb_image(tmp_path):
    path = tmp_path / "rgb.png"
    Image.new("RGB", (8, 8)).save(path)
    with pytest.raises(UnsupportedImageError, match="rgb.png: image mode RGB \\(3 channels\\)"):
        io.read_depth(path)


def test_read_npy_of_wrong_rank(tmp_path):
    path = tmp_path / "cube.npy"
    np.save(path, np.zeros((2, 3, 4), np.uint8))
    with pytest.raises(UnsupportedImageError, match="cube.npy: array of shape \\(2, 3, 4\\)"):
        io.read_depth(path)


def test_read_npy_of_unsupported_dtype(tmp_path):
    path = tmp_path / "ints.npy"
    np.save(path, np.zeros((4, 4), np.int64))
    with pytest.raises(UnsupportedImageError, match="ints.npy: dtype int64"):
        io.read_depth(path)


def test_read_corrupt_npy(tmp_path):
    path = tmp_path / "junk.npy"
    path.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(ImageReadError, match="junk.npy"):
        io.read_depth(path)


def test_read_refuses_absurd_sizes_before_decoding(tmp_path, monkeypatch):
    path = tmp_path / "big.png"
    io.write_depth(path, np.zeros((100, 100), np.uint8))
    monkeypatch.setattr(io, "MAX_PIXELS", 5000)
    with pytest.raises(UnsupportedImageError, match="larger than the limit"):
        io.read_depth(path)


def test_write_dtype_the_format_cannot_hold(tmp_path):
    with pytest.raises(ImageWriteError, match="a .png file cannot hold a float32"):
        io.write_depth(tmp_path / "f.png", np.zeros((4, 4), np.float32))
    assert not list(tmp_path.iterdir())


def test_write_unknown_suffix(tmp_path):
    with pytest.raises(ImageWriteError, match="cannot write file type '.bmp'"):
        io.write_depth(tmp_path / "f.bmp", np.zeros((4, 4), np.uint8))


def test_atomic_output_leaves_old_file_and_no_temporary_on_failure(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with io.atomic_output(path) as handle:
            handle.write(b"half")
            raise RuntimeError("crash midway")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_find_images_is_recursive_sorted_and_skips_hidden(tmp_path):
    for rel in ["b/x.png", "a/y.tif", "a/z.npy", "a/.tmp.png", "a/readme.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in io.find_images(tmp_path)]
    assert found == ["a/y.tif", "a/z.npy", "b/x.png"]


def test_find_images_in_empty_folder(tmp_path):
    with pytest.raises(NoImagesError, match="no depth images found"):
        io.find_images(tmp_path)


def test_find_images_of_missing_folder(tmp_path):
    with pytest.raises(NoImagesError, match="no such file or folder"):
        io.find_images(tmp_path / "nope")


def test_written_files_get_ordinary_permissions_not_mkstemps_private_ones(tmp_path):
    import os

    path = tmp_path / "face.png"
    io.write_depth(path, np.zeros((4, 4), np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_find_images_follows_linked_folders_without_looping(tmp_path):
    io.write_depth(tmp_path / "data" / "a.png", np.zeros((4, 4), np.uint8))
    io.write_depth(tmp_path / "elsewhere" / "b.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "data" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "back").symlink_to(tmp_path / "data")  # a cycle
    found = io.find_images(tmp_path / "data")
    assert [p.relative_to(tmp_path / "data").as_posix() for p in found] == ["a.png", "linked/b.png"]
