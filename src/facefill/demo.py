"""The demo: synthetic faces, a model, holes of every family, and a comparison picture."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .depth import missing_mask, to_float
from .formats import write_depth
from .masks import FAMILIES, make_mask
from .model import FaceModel
from .report import (
    colorize,
    depth_range,
    outline_overlay,
    save_model_preview,
    save_picture,
    sheet,
)
from .synth import make_faces

DEMO_METHODS = ("symmetry", "seed", "auto")


def run_demo(out: str | os.PathLike, n_train: int = 40, seed: int = 0, on_step=None) -> dict[str, Path]:
    """Generate faces, train, fill one face per mask family, and picture the results.

    Writes below ``out``: ``train/`` (complete faces), ``test/`` (holed faces),
    ``model.npz`` and its preview ``model.png``, ``filled/`` (the ``auto``
    reconstructions) and ``comparison.png`` (a row per test face: input |
    symmetry | seed | auto | truth).

    ``on_step``, if given, is called with a line saying what comes next (for progress).

    Returns
    -------
    dict of the main paths written: ``model``, ``comparison``, ``filled``.
    """
    step = on_step if on_step is not None else (lambda text: None)
    out = Path(out)
    step(f"rendering {n_train} training faces and {len(FAMILIES)} test faces from the morphable face model")
    rng = np.random.default_rng(seed)
    train = make_faces(n_train, seed=seed)
    truths = make_faces(len(FAMILIES), seed=seed + 1)
    missing_value = 255
    for i, face in enumerate(train):
        write_depth(out / "train" / f"face-{i:03d}.png", face)
    step(f"training on the {n_train} faces (the prior's settings are cross-validated)")
    model = FaceModel().fit(train)
    model.save(out / "model.npz")
    step(f"filling one face per mask family ({', '.join(FAMILIES)}) and picturing them")
    save_model_preview(model, out / "model.npz")
    rows = []
    for family, truth in zip(FAMILIES, truths):
        hidden = make_mask(family, ~missing_mask(truth, missing_value), rng)
        given = truth.copy()
        given[hidden] = missing_value
        write_depth(out / "test" / f"{family}.png", given)
        outputs = {name: model.reconstruct(given, name) for name in DEMO_METHODS}
        write_depth(out / "filled" / f"{family}.png", outputs["auto"])
        rows.append(_row(family, given, outputs, truth, hidden, missing_value))
    save_picture(sheet(rows), out / "comparison.png")
    return {"model": out / "model.npz", "comparison": out / "comparison.png", "filled": out / "filled"}


def _row(family, given, outputs, truth, hidden, missing_value):
    low, high = depth_range([to_float(truth, missing_value)])

    def panel(image):
        return outline_overlay(colorize(to_float(image, missing_value), low, high), hidden)

    return [
        (f"input ({family})", panel(given)),
        *[(name, panel(output)) for name, output in outputs.items()],
        ("truth", colorize(to_float(truth, missing_value), low, high)),
    ]
