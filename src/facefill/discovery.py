"""Finding the depth images below a folder."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import NoImagesError
from .formats import SUPPORTED_SUFFIXES


def find_images(root: str | os.PathLike) -> list[Path]:
    """Every depth image below ``root`` (recursively), sorted by path; ``root`` itself if a file.

    Hidden files (such as temporary files of an interrupted write) are ignored;
    linked folders are followed, once.
    """
    root = Path(root)
    if root.is_file():
        return [root]
    return [root.joinpath(*parts) for parts in image_parts(root)]


def image_parts(root: Path) -> list[tuple[str, ...]]:
    """The path parts, relative to the folder ``root``, of every depth image below it, sorted."""
    if not root.is_dir():
        raise NoImagesError(f"{root}: no such file or folder")
    # os.walk and strings: Path.rglob, a stat per file and sorting Paths cost 0.08 s per 2000 files
    found = []
    visited: set[str] = set()
    for folder, folders, names in os.walk(root, followlinks=True):
        real = os.path.realpath(folder)
        if real in visited:  # a link back up the tree: do not loop
            folders[:] = []
            continue
        visited.add(real)
        relative = os.path.relpath(folder, root)
        prefix = () if relative == os.curdir else tuple(Path(relative).parts)
        found.extend(
            prefix + (name,)
            for name in names
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in SUPPORTED_SUFFIXES
        )
    if not found:
        raise NoImagesError(
            f"{root}: no depth images found (looked recursively for {', '.join(SUPPORTED_SUFFIXES)} files)"
        )
    return sorted(found)
