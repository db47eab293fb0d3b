"""Atomic outputs: a file appears complete or not at all.

Outputs are written to a hidden temporary file beside their path and renamed
onto it; a killed writer leaves only the temporary file, which the next run
clears (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import IO, Iterable, Iterator

#: Ends the names of the temporary files that outputs are written to before their rename.
TEMPORARY_SUFFIX = ".facefill-tmp"


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "wb", durable: bool = True) -> Iterator[IO]:
    """Open a temporary file beside ``path`` (creating missing folders); on success rename it to ``path``.

    An exception or an interruption leaves ``path`` as it was and removes the
    temporary file; a killed process can leave only a hidden temporary file
    (``.NAME.*.facefill-tmp``), never a partial ``path``, and
    :func:`remove_stale_temporaries` clears those. ``durable`` also flushes the
    file to the disk before the rename (against power loss), which costs about
    as much as writing a small image.
    """
    path = Path(path)
    fd, tmp = _create_temporary(path)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _temporary_name(name: str, token: str) -> str:
    """The hidden temporary file an output called ``name`` is written to: ``.NAME.TOKEN.facefill-tmp``."""
    return f".{name}.{token}{TEMPORARY_SUFFIX}"


def _temporary_owner(entry: str) -> str | None:
    """The output name whose temporary file ``entry`` is, or None if it is none."""
    if not (entry.startswith(".") and entry.endswith(TEMPORARY_SUFFIX)):
        return None
    return entry[1 : -len(TEMPORARY_SUFFIX)].rsplit(".", 1)[0]


def _create_temporary(path: Path) -> tuple[int, str]:
    """Create a new hidden file beside ``path``: ``.NAME.TOKEN.facefill-tmp``, with the
    permissions the umask gives (mkstemp's would make outputs private to their writer).
    Missing parent folders are created (only when the first try finds none: a batch
    writes thousands of files into folders that exist)."""
    for _ in range(100):
        tmp = os.path.join(path.parent, _temporary_name(path.name, secrets.token_hex(4)))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
    raise FileExistsError(f"no free temporary name beside {path}")


def remove_stale_temporaries(targets: Iterable[str | os.PathLike]) -> int:
    """Delete temporary files that killed writers of ``targets`` left behind; return how many."""
    by_folder: dict[str, set[str]] = {}
    for target in targets:
        folder, name = os.path.split(os.fspath(target))
        by_folder.setdefault(folder or ".", set()).add(name)
    removed = 0
    for folder, names in by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = entry.name
            if _temporary_owner(name) in names:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


