import os

import numpy as np
import pytest

from facefill.atomic import atomic_output
from facefill.formats import write_depth


def test_atomic_output_leaves_old_file_and_no_temporary_on_failure(tmp_path):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_output(path) as handle:
            handle.write(b"half")
            raise RuntimeError("crash midway")
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_written_files_get_ordinary_permissions_not_mkstemps_private_ones(tmp_path):
    path = tmp_path / "face.png"
    write_depth(path, np.zeros((4, 4), np.uint8))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
