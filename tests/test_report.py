import re

import numpy as np
import pytest

from facefill import report
from facefill.evaluate import evaluate
from facefill.masks import EVALUATED_FAMILIES
from facefill.synth import make_faces


def test_turbo_runs_from_blue_to_red():
    low, high = report.turbo(np.array([0.15, 0.9]))
    assert low[2] > low[0] and high[0] > high[2]


def test_colorize_shows_missing_white_and_separates_close_depths():
    depth = np.array([[50.0, 51.0, np.nan]])
    rgb = report.colorize(depth, 50, 60)
    assert (rgb[0, 2] == 255).all()
    assert (rgb[0, 0] != rgb[0, 1]).any()


def _references(html: str) -> list[str]:
    return re.findall(r"(?:src|href)='([^']+)'", html)


@pytest.fixture(scope="module")
def evaluation():
    return evaluate(make_faces(3, shape=(60, 58), seed=6), masks_per_face=1, examples_per_family=1)


def test_evaluation_report_references_only_files_that_exist(tmp_path, evaluation):
    page = report.write_evaluation_report(evaluation, tmp_path / "rep")
    html = page.read_text()
    references = _references(html)
    assert "mae.png" in references and "results.json" in references
    # a case per family, occluders included, and auto finding the first face's occluder
    assert sum(r.startswith("cases/") for r in references) == len(EVALUATED_FAMILIES) + 1
    for reference in references:
        assert (tmp_path / "rep" / reference).is_file(), reference
    assert "<table>" in html and "biharmonic" in html


def test_reconstruction_report(tmp_path):
    faces = make_faces(1, seed=0)
    given = faces[0].copy()
    given[40:50, 40:50] = 255
    page = report.write_reconstruction_report([("a.png", given, faces[0])], 255, tmp_path / "r")
    html = page.read_text()
    assert "100 pixels filled" in html
    for reference in _references(html):
        assert (tmp_path / "r" / reference).is_file()


def test_model_preview_never_overwrites_a_png_named_model(tmp_path):
    from facefill.model import FaceModel

    model = FaceModel(n_components=1, noise=1.0, mirror_weight=0.5).fit(make_faces(2, seed=0))
    assert report.save_model_preview(model, tmp_path / "m.npz") == tmp_path / "m.png"
    assert report.save_model_preview(model, tmp_path / "m.png") == tmp_path / "m.average.png"


def test_a_depth_sheet_takes_float_maps_in_zero_to_one_for_confidence():
    depth = np.full((20, 16), 255, np.uint8)
    depth[4:16, 3:13] = 60
    confidence = np.where(depth == 255, 0.0, 0.7).astype(np.float32)
    both = np.asarray(report.depth_sheet([("d.png", depth), ("c.tif", confidence)]))
    alone = np.asarray(report.depth_sheet([("d.png", depth)]))
    assert both.shape[1] > alone.shape[1]  # a panel and its colour bar more


def test_the_reconstruction_report_shows_the_confidence_map_when_given(tmp_path):
    face = make_faces(1, seed=0)[0]
    given = face.copy()
    given[50:60, 40:60] = 255
    confidence = np.where(given == 255, 0.0, 1.0).astype(np.float32)
    confidence[50:60, 40:60] = 0.3
    plain = report.write_reconstruction_report([("a", given, face)], 255, tmp_path / "plain")
    with_confidence = report.write_reconstruction_report([("a", given, face, confidence)], 255, tmp_path / "conf")
    from PIL import Image

    with Image.open(plain.parent / "images/0000.png") as one, Image.open(with_confidence.parent / "images/0000.png") as two:
        assert two.width > one.width  # a fourth panel
