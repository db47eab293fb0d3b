"""The shipped morphable face model, its renderer and the fit of a view to depth images."""

import importlib.util
from dataclasses import replace
from importlib import resources

import numpy as np
import pytest

from facefill.errors import InvalidParameterError
from facefill.morphable.fit import fit_view
from facefill.morphable.mesh import DATA_FILE, load_mesh
from facefill.morphable import render
from facefill.morphable.render import View, grazing_angle, rasterize, render_depth

from .conftest import REPO

ICT_FACEKIT = REPO.parent / "shared" / "ict-facekit"


def test_the_shipped_data_is_what_the_script_derives_and_carries_the_mit_notice():
    if not (ICT_FACEKIT / "ict_face_model_light.npz").is_file():
        pytest.skip(f"the ICT Face Model Light is not at {ICT_FACEKIT}")
    spec = importlib.util.spec_from_file_location("derive", REPO / "scripts" / "derive_face_model.py")
    derive = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(derive)
    expected = derive.derive(ICT_FACEKIT)
    package = resources.files("facefill.morphable")
    with package.joinpath(DATA_FILE).open("rb") as handle, np.load(handle) as shipped:
        assert sorted(shipped.files) == sorted(expected)
        for key, value in expected.items():
            np.testing.assert_array_equal(shipped[key], value, err_msg=key)
            assert shipped[key].dtype == value.dtype
    assert "MIT License" in package.joinpath("LICENSE").read_text()
    assert package.joinpath("LICENSE").read_text() == (ICT_FACEKIT / "LICENSE").read_text()
    assert package.joinpath("CREDITS.md").read_text() == (ICT_FACEKIT / "CREDITS.md").read_text()


def _grid_mesh(size: int, height):
    """A square grid of vertices over [0, size]^2 with nearness ``height(x, y)``, as triangles."""
    ys, xs = np.mgrid[0 : size + 1, 0 : size + 1].astype(float)
    points = np.column_stack([xs.ravel(), ys.ravel(), height(xs, ys).ravel()])
    index = np.arange((size + 1) ** 2).reshape(size + 1, size + 1)
    a, b, c, d = index[:-1, :-1].ravel(), index[:-1, 1:].ravel(), index[1:, :-1].ravel(), index[1:, 1:].ravel()
    return points, np.concatenate([np.column_stack([a, b, d]), np.column_stack([a, d, c])])


def test_a_plane_renders_exactly_with_no_crack_between_triangles():
    points, triangles = _grid_mesh(10, lambda x, y: 2.0 * x - 0.5 * y + 7.0)
    points[:, :2] = points[:, :2] * 1.7 + 1.3  # triangle corners off the pixel centres
    image = rasterize(points, triangles, (24, 24))
    ys, xs = np.mgrid[0:24, 0:24].astype(float)
    inside = (xs >= 1.3) & (xs <= 18.3) & (ys >= 1.3) & (ys <= 18.3)
    np.testing.assert_array_equal(np.isfinite(image), inside)
    expected = 2.0 * (xs - 1.3) / 1.7 - 0.5 * (ys - 1.3) / 1.7 + 7.0
    np.testing.assert_allclose(image[inside], expected[inside], atol=1e-9)


def test_a_large_mesh_renders_the_same_whatever_the_chunk_of_pixels_tested_at_a_time(monkeypatch):
    # triangles of very different sizes, one larger than a chunk: each must be drawn whole
    points, triangles = _grid_mesh(12, lambda x, y: np.sin(x) + np.cos(y))
    points[:, :2] = points[:, :2] ** 1.4
    whole = rasterize(points, triangles, (40, 40))
    monkeypatch.setattr(render, "PAIRS_PER_CHUNK", 7)
    np.testing.assert_array_equal(rasterize(points, triangles, (40, 40)), whole)
    assert np.isfinite(whole).sum() > 900


def test_the_nearest_surface_hides_the_one_behind():
    near, triangles = _grid_mesh(8, lambda x, y: np.full_like(x, 5.0))
    far = near.copy()
    far[:, 2] = 1.0
    points = np.concatenate([far, near])
    both = np.concatenate([triangles, triangles + len(far)])
    assert np.nanmax(rasterize(points, both, (10, 10))) == 5.0
    assert np.all(rasterize(points, both, (10, 10))[:9, :9] == 5.0)


def test_a_sphere_cap_renders_its_height_within_the_mesh_resolution():
    radius = 30.0
    points, triangles = _grid_mesh(60, lambda x, y: np.sqrt(np.clip(radius**2 - (x - 30) ** 2 - (y - 30) ** 2, 0, None)))
    image = rasterize(points, triangles, (61, 61))
    ys, xs = np.mgrid[0:61, 0:61].astype(float)
    r2 = (xs - 30) ** 2 + (ys - 30) ** 2
    cap = r2 < (0.8 * radius) ** 2
    np.testing.assert_allclose(image[cap], np.sqrt(radius**2 - r2[cap]), atol=0.2)


def test_the_neutral_face_renders_symmetric_and_pose_and_scale_move_it():
    mesh = load_mesh()
    vertices = mesh.vertices(np.zeros(0), mesh.closed_eyes)
    view = View((120, 116), 0.7, (55.0, 57.5), 0.0, 1.0)
    frontal = render_depth(vertices, mesh.triangles, view)
    face = np.isfinite(frontal)
    assert 0.4 < face.mean() < 0.7
    # symmetric about the centre column (the mesh is symmetric up to float32 rounding)
    assert (face == face[:, ::-1]).mean() > 0.995
    both = face & face[:, ::-1]
    asymmetry = np.abs(frontal - frontal[:, ::-1])[both]
    assert np.percentile(asymmetry, 95) < 0.05 and asymmetry.max() < 1.0  # on steep slopes, float32 rounding
    # the nose tip lands on the view's centre; the nearest point is just below it (3 mm)
    row, col = np.unravel_index(np.nanargmax(frontal), frontal.shape)
    assert 55 <= row <= 58 and abs(col - 57.5) <= 1
    # a turn to the face's left moves the nose tip towards the image's right (x to the subject's left)
    turned = render_depth(vertices, mesh.triangles, view, (20.0, 0.0, 0.0))
    assert np.unravel_index(np.nanargmax(turned), turned.shape)[1] > col + 5
    # twice the scale: twice the width
    wide = render_depth(vertices, mesh.triangles, replace(view, scale=1.4, shape=(240, 232), centre=(110.0, 115.5)))
    width = np.ptp(np.nonzero(face.any(axis=0))[0])
    assert abs(np.ptp(np.nonzero(np.isfinite(wide).any(axis=0))[0]) - 2 * width) <= 3  # each edge within a pixel
    # millimetre distances: nearer is smaller
    distances = render_depth(vertices, mesh.triangles, replace(view, offset=700.0, gain=-1.0))
    assert np.nanmin(distances) == pytest.approx(700.0, abs=0.5) and np.nanmax(distances) < 800


def test_grazing_angles_are_small_on_the_cheeks_and_large_at_the_rim():
    mesh = load_mesh()
    view = View((120, 116), 0.7, (55.0, 57.5), 0.0, 1.0)
    depth = render_depth(mesh.vertices(np.zeros(0), mesh.closed_eyes), mesh.triangles, view)
    angle = grazing_angle(depth, view)
    assert angle[55, 30] < 45  # a cheek, facing the camera
    rim = np.isfinite(depth) & ~np.isfinite(np.roll(depth, 1, axis=1))
    assert np.nanmedian(angle[rim]) > np.nanmedian(angle)


def test_a_fitted_view_recovers_where_the_faces_were_rendered():
    from facefill.synth import make_faces

    truth = View((140, 130), 0.8, (62.0, 66.0), 900.0, -1.0)
    depths = make_faces(6, dtype="float32", seed=3, view=truth, pitch=0.0).astype(float)
    view, pitch = fit_view(depths)
    assert view.scale == pytest.approx(0.8, rel=0.05)
    assert abs(view.centre[0] - 62.0) < 2 and abs(view.centre[1] - 66.0) <= 1.5
    assert view.gain == pytest.approx(-1.0, rel=0.1) and view.offset == pytest.approx(900.0, abs=3)
    assert abs(pitch) <= 4


@pytest.mark.parametrize("family", ["half", "chin", "top"])
def test_holes_even_half_a_face_do_not_move_the_fitted_view(family):
    from facefill.masks import make_mask, mask_rng
    from facefill.synth import make_faces

    faces = make_faces(5, shape=(100, 90), dtype="float32", seed=8).astype(float)
    complete, _ = fit_view(faces)
    holed = np.array([np.where(make_mask(family, np.isfinite(f), mask_rng(0, i, family, 0)), np.nan, f) for i, f in enumerate(faces)])
    view, _ = fit_view(holed)
    assert view.scale == pytest.approx(complete.scale, rel=0.05)
    assert np.hypot(*np.subtract(view.centre, complete.centre)) < 2.5
    assert view.gain == pytest.approx(complete.gain, rel=0.1)


def test_a_view_is_not_fitted_to_images_without_a_face():
    with pytest.raises(InvalidParameterError, match="too few face pixels"):
        fit_view(np.full((2, 30, 30), np.nan))
