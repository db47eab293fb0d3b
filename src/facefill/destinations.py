"""Where a command may write: the one place that decides it.

A command names what it reads (input files and folders) and then claims each
path it will write (outputs, confidence maps, models, previews, reports)
before it writes anything. A claim is refused, with an ``OutputPathError``
naming both paths, when the path, with every link in it followed, is an input
file, lies inside an input folder (a linked output folder that leads into the
input included), or is already claimed by another output of the same run.
"""

from __future__ import annotations

import os
from pathlib import Path

from .errors import OutputPathError


def _real(path: str | os.PathLike) -> Path:
    """The path with every link in it followed (whether or not it exists yet)."""
    return Path(os.path.realpath(path))


class Destinations:
    """The inputs of one command and the outputs it has claimed so far."""

    def __init__(self, *inputs: str | os.PathLike):
        self._inputs = [(Path(path), _real(path)) for path in inputs]
        self._claimed: dict[Path, tuple[Path, str]] = {}

    def claim(self, path: str | os.PathLike, what: str = "output") -> Path:
        """Return ``path`` if this command may write there, else raise ``OutputPathError``."""
        path = Path(path)
        real = _real(path)
        for given, real_input in self._inputs:
            if real == real_input or real_input in real.parents:
                where = "is the input" if real == real_input else "lies inside the input"
                raise OutputPathError(
                    f"{what} {path} {where} {given}"
                    + (f" (through links: {real})" if real != path.absolute() else "")
                    + "; facefill never writes over or into its inputs: choose another path"
                )
        if real in self._claimed:
            other, other_what = self._claimed[real]
            raise OutputPathError(
                f"{what} {path} is the same file as the {other_what} {other}; one would be lost: choose other paths"
            )
        self._claimed[real] = (path, what)
        return path
