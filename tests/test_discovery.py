import numpy as np
import pytest

from facefill.discovery import find_images
from facefill.errors import NoImagesError
from facefill.formats import write_depth


def test_find_images_is_recursive_sorted_and_skips_hidden(tmp_path):
    for rel in ["b/x.png", "a/y.tif", "a/z.npy", "a/.tmp.png", "a/readme.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in find_images(tmp_path)]
    assert found == ["a/y.tif", "a/z.npy", "b/x.png"]


def test_find_images_in_empty_folder(tmp_path):
    with pytest.raises(NoImagesError, match="no depth images found"):
        find_images(tmp_path)


def test_find_images_of_missing_folder(tmp_path):
    with pytest.raises(NoImagesError, match="no such file or folder"):
        find_images(tmp_path / "nope")


def test_find_images_follows_linked_folders_without_looping(tmp_path):
    write_depth(tmp_path / "data" / "a.png", np.zeros((4, 4), np.uint8))
    write_depth(tmp_path / "elsewhere" / "b.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "data" / "linked").symlink_to(tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "back").symlink_to(tmp_path / "data")  # a cycle
    found = find_images(tmp_path / "data")
    assert [p.relative_to(tmp_path / "data").as_posix() for p in found] == ["a.png", "linked/b.png"]
