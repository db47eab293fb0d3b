import os
import re

import numpy as np
import pytest

from facefill.atomic import atomic_output
from facefill.errors import WriteError
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


@pytest.mark.parametrize("where", ["folder", "under a file"])
def test_a_write_the_file_system_refuses_is_a_write_error_naming_the_path(tmp_path, where):
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    path = tmp_path / "adir" if where == "folder" else tmp_path / "afile" / "m.npz"
    with pytest.raises(WriteError, match=f"^{re.escape(str(path))}: could not write"):
        with atomic_output(path) as handle:
            handle.write(b"model")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "afile"] and not list((tmp_path / "adir").iterdir())
