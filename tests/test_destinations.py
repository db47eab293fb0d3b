import os

import pytest

from facefill.destinations import Destinations
from facefill.errors import OutputPathError


def test_an_output_through_a_link_into_the_input_folder_is_refused(tmp_path):
    (tmp_path / "in" / "person").mkdir(parents=True)
    (tmp_path / "out").mkdir()
    os.symlink(tmp_path / "in" / "person", tmp_path / "out" / "person")
    destinations = Destinations(tmp_path / "in")
    assert destinations.claim(tmp_path / "out" / "other.png") == tmp_path / "out" / "other.png"
    with pytest.raises(OutputPathError, match=r"lies inside the input .*in \(through links: .*in/person/face.png\)"):
        destinations.claim(tmp_path / "out" / "person" / "face.png")


def test_two_outputs_of_one_run_on_one_file_are_refused_naming_both(tmp_path):
    destinations = Destinations(tmp_path / "in")
    destinations.claim(tmp_path / "out" / "face.tif", "output")
    with pytest.raises(OutputPathError, match=r"confidence map .*face.tif is the same file as the output .*face.tif"):
        destinations.claim(tmp_path / "out" / "x" / ".." / "face.tif", "confidence map")


def test_an_input_file_is_refused_as_an_output(tmp_path):
    (tmp_path / "m.npz").write_bytes(b"")
    with pytest.raises(OutputPathError, match="model .*m.npz is the input"):
        Destinations(tmp_path / "in", tmp_path / "m.npz").claim(tmp_path / "m.npz", "model")
