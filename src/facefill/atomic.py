"""Atomic outputs: a file appears complete or not at all.

Outputs are written to a hidden temporary file beside their path and renamed
onto it; a killed writer leaves only the temporary file, which the next run
clears (:func:`remove_stale_temporaries`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket
from pathlib import Path
from typing import IO, Iterable, Iterator

from .errors import WriteError

#: Ends the names of the temporary files that outputs are written to before their rename.
TEMPORARY_SUFFIX = ".facefill-tmp"
#: Longest file name most file systems take (bytes).
MAX_NAME_BYTES = 255
#: This machine, in the temporary names (a shared folder may see writers of several machines).
_HOST = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:6]


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, mode: str = "wb", durable: bool = True) -> Iterator[IO]:
    """Open a temporary file beside ``path`` (creating missing folders); on success rename it to ``path``.

    An exception or an interruption leaves ``path`` as it was and removes the
    temporary file; a killed process can leave only a hidden temporary file
    (``.NAME.HOST-PID-TOKEN.facefill-tmp``), never a partial ``path``, and
    :func:`remove_stale_temporaries` clears those. ``durable`` also flushes the
    file to the disk before the rename (against power loss), which costs about
    as much as writing a small image. A file system's refusal (no space, a
    folder in the way, no permission) is a ``WriteError`` naming ``path``.
    """
    path = Path(path)
    tmp = None
    try:
        fd, tmp = _create_temporary(path)
        with os.fdopen(fd, mode) as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        if isinstance(exc, OSError):
            raise WriteError(f"{path}: could not write ({exc.strerror or exc})") from exc
        raise


def _stem(name: str) -> str:
    """The part of a temporary file's name that says whose it is: the output's name, or a digest
    of it where the name is too long to grow by the temporary's additions."""
    if len(f".{name}.{_HOST}-4194304-00000000{TEMPORARY_SUFFIX}".encode()) <= MAX_NAME_BYTES:
        return name
    return "long-" + hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()


def _temporary_name(name: str, token: str) -> str:
    """The hidden temporary file an output called ``name`` is written to."""
    return f".{_stem(name)}.{_HOST}-{os.getpid()}-{token}{TEMPORARY_SUFFIX}"


def _temporary_owner(entry: str) -> tuple[str, str, int] | None:
    """The (stem, host, process id) of the temporary file ``entry``, or None if it is none."""
    if not (entry.startswith(".") and entry.endswith(TEMPORARY_SUFFIX)):
        return None
    stem, _, writer = entry[1 : -len(TEMPORARY_SUFFIX)].rpartition(".")
    host, _, rest = writer.partition("-")
    pid = rest.partition("-")[0]
    return (stem, host, int(pid)) if pid.isdigit() else None


def _alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs (a zombie, killed but not yet reaped, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rpartition(b")")[2].split()[0] != b"Z"
    except (OSError, IndexError):  # no /proc (not Linux), or it ended meanwhile
        return True


def _create_temporary(path: Path) -> tuple[int, str]:
    """Create a new hidden file beside ``path`` (see :func:`_temporary_name`), with the
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
    """Delete the temporary files of ``targets`` that writers killed on this machine left behind
    (a live process's, another run's say, and another machine's are kept); return how many."""
    by_folder: dict[str, set[str]] = {}
    for target in targets:
        folder, name = os.path.split(os.fspath(target))
        by_folder.setdefault(folder or ".", set()).add(_stem(name))
    removed = 0
    for folder, stems in by_folder.items():
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            owner = _temporary_owner(entry.name)
            if owner is not None and owner[0] in stems and owner[1] == _HOST and not _alive(owner[2]):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed
