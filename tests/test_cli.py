"""The command line, in-process: exit codes, messages, files written."""

import re

import numpy as np
import pytest
from typer.testing import CliRunner

from facefill.cli import app
from facefill.formats import read_depth, write_depth
from facefill.model import FaceModel
from facefill.tuning import RENDER_SHARE_GRID

from .conftest import with_hole


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="session")
def trained(tmp_path_factory, faces8):
    """A model trained once by ``facefill train`` on faces8[2:] (read only by the tests)."""
    folder = tmp_path_factory.mktemp("trained")
    for i, face in enumerate(faces8[2:]):
        write_depth(folder / "train" / f"p{i}" / "face.png", face)
    result = run("train", folder / "train", "--model", folder / "m.npz")
    assert result.exit_code == 0, result.stderr
    return folder / "m.npz"


def _holed_folder(folder, faces, missing_value):
    for i, face in enumerate(faces):
        write_depth(folder / f"p{i}" / "face.png", with_hole(face, slice(40, 70), slice(30, 60), missing_value))


def test_train_writes_model_and_average_picture(trained):
    assert FaceModel.load(trained).n_images_ == 10
    assert trained.with_suffix(".png").is_file()


def test_train_then_test_on_sample_data(tmp_path, dataset):
    assert run("train", dataset / "train", "--model", tmp_path / "m.npz").exit_code == 0
    result = run("test", dataset / "test", "--out", tmp_path / "out", "--model", tmp_path / "m.npz")
    assert result.exit_code == 0, result.stderr
    assert "reconstructed 4, skipped 0, failed 0" in result.stdout
    for given_path in sorted((dataset / "test").glob("*/*.png")):
        given = read_depth(given_path)
        filled = read_depth(tmp_path / "out" / given_path.relative_to(dataset / "test"))
        assert filled.shape == given.shape and filled.dtype == given.dtype
        observed = given != 255
        np.testing.assert_array_equal(filled[observed], given[observed])


def test_sixteen_bit_faces_of_another_size(tmp_path, faces16):
    for i, face in enumerate(faces16[2:7]):
        write_depth(tmp_path / "train" / f"{i}.png", face)
    for i, face in enumerate(faces16[:2]):
        write_depth(tmp_path / "test" / f"p{i}" / "face.png", with_hole(face, slice(70, 100), slice(50, 90), 0))
    assert run("train", tmp_path / "train", "--model", tmp_path / "m.npz").exit_code == 0
    result = run("reconstruct", tmp_path / "test", "--out", tmp_path / "out", "--model", tmp_path / "m.npz")
    assert result.exit_code == 0, result.stderr
    filled = read_depth(tmp_path / "out" / "p0" / "face.png")
    assert filled.dtype == np.uint16 and filled.shape == (200, 160)
    assert (filled[70:100, 50:90] != 0).all()


def test_reconstruct_single_file(tmp_path, trained, faces8):
    source = tmp_path / "one.png"
    write_depth(source, with_hole(faces8[0], slice(40, 70), slice(30, 60), 255))
    result = run("reconstruct", source, "--out", tmp_path / "filled.png", "--model", trained, "--method", "seed")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"reconstructed 1, skipped 0, failed 0 -> {tmp_path / 'filled.png'}\n"
    expected = FaceModel.load(trained).reconstruct(read_depth(source), "seed")
    np.testing.assert_array_equal(read_depth(tmp_path / "filled.png"), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["filled.png", "one.png"]  # nothing else written


def test_bad_file_fails_alone_and_exit_code_is_1(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:2], 255)
    (tmp_path / "in" / "zz.png").write_text("oops")
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--model", trained)
    assert result.exit_code == 1
    assert "reconstructed 2, skipped 0, failed 1" in result.stdout
    assert "Error: " in result.stderr and "zz.png: not an image file" in result.stderr
    assert "Traceback" not in result.stderr


def test_existing_outputs_are_skipped_then_overwritten(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:2], 255)
    args = ("reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--model", trained)
    assert run(*args).exit_code == 0
    again = run(*args)
    assert again.exit_code == 0 and "reconstructed 0, skipped 2, failed 0" in again.stdout
    assert "reconstructed 2, skipped 0" in run(*args, "--overwrite").stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("train", "{tmp}/empty", "--model", "{tmp}/m.npz"), "no depth images found"),
        (("train", "{tmp}/nowhere", "--model", "{tmp}/m.npz"), "no such file or folder"),
        (("train", "{tmp}/junk", "--model", "{tmp}/m.npz"), "none of the 1 files could be read"),
        (("train", "{tmp}/good", "--model", "{tmp}/m.npz", "--average", "median"), "average 'median' is not known"),
        (("train", "{tmp}/good", "--model", "{tmp}/m.npz", "--missing-value", "abc"), "--missing-value 'abc'"),
        (("train", "{tmp}/good", "--model", "{tmp}/m.npz", "--missing-value", "999"), "missing value 999"),
        (("train", "{tmp}/good", "--model", "{tmp}/m.npz", "--tolerance", "wide"), "--tolerance 'wide' is not valid"),
        (("train", "{tmp}/good", "--model", "{tmp}/m.npz", "--tolerance", "0"), "tolerance 0.0 is not valid"),
        (("test", "{tmp}/good", "--out", "{tmp}/o", "--model", "{tmp}/none.npz"), "no such model file"),
        (("test", "{tmp}/good", "--out", "{tmp}/o", "--model", "{tmp}/junk/x.png"), "not a facefill model"),
        (("test", "{tmp}/good", "--out", "{tmp}/good", "--model", "{model}"), "is the input"),
        (("test", "{tmp}/good", "--out", "{tmp}/good/o", "--model", "{model}"), "lies inside the input"),
        (("test", "{tmp}/good", "--out", "{tmp}/o", "--model", "{model}", "--method", "x"), "method 'x' is not known"),
        (("test", "{tmp}/empty", "--out", "{tmp}/o", "--model", "{model}"), "no depth images found"),
        (("test", "{tmp}/good", "--out", "{tmp}/o", "--model", "{model}", "--workers", "0"), "--workers 0 is not valid"),
    ],
)
def test_user_errors_are_one_error_line_and_exit_1(tmp_path, trained, faces8, args, message):
    (tmp_path / "empty").mkdir()
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "x.png").write_text("junk")
    write_depth(tmp_path / "good" / "a.png", faces8[0])
    result = run(*(a.format(tmp=tmp_path, model=trained) for a in args))
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_rgb_and_mismatched_files_fail_with_clear_messages(tmp_path, trained, faces16):
    from PIL import Image

    (tmp_path / "in").mkdir()
    Image.new("RGB", (116, 120)).save(tmp_path / "in" / "colour.png")
    write_depth(tmp_path / "in" / "big.png", faces16[0])
    write_depth(tmp_path / "in" / "blank.png", np.full((120, 116), 255, np.uint8))
    result = run("test", tmp_path / "in", "--out", tmp_path / "out", "--model", trained)
    assert result.exit_code == 1
    assert "colour.png: image mode RGB" in result.stderr
    assert "big.png: size 160x200 differs from the model's 116x120" in result.stderr
    assert "blank.png: every pixel is missing; there is no face to fill" in result.stderr
    assert "failed 3" in result.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.png"))


def test_workers_write_what_one_process_writes(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:6], 255)
    for workers in (1, 2):
        result = run("reconstruct", tmp_path / "in", "--out", tmp_path / f"w{workers}", "--model", trained, "--workers", workers)
        assert result.exit_code == 0 and "reconstructed 6, skipped 0, failed 0" in result.stdout
    for one in sorted((tmp_path / "w1").rglob("*.png")):
        assert one.read_bytes() == (tmp_path / "w2" / one.relative_to(tmp_path / "w1")).read_bytes()


def test_unreachable_scheduler_is_one_error_line(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:1], 255)
    result = run(
        "reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained,
        "--scheduler", "tcp://127.0.0.1:9", "--connect-timeout", "0.2",
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --scheduler 'tcp://127.0.0.1:9': cannot reach a Dask scheduler there")
    assert "Traceback" not in result.stderr


def test_ctrl_c_during_training_is_one_line_and_exit_130(tmp_path, faces8, monkeypatch):
    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(FaceModel, "fit", interrupted)
    write_depth(tmp_path / "train" / "a.png", faces8[0])
    result = run("train", tmp_path / "train", "--model", tmp_path / "m.npz")
    assert result.exit_code == 130
    assert result.stderr.splitlines()[-1] == "Error: interrupted" and "Traceback" not in result.stderr
    assert not (tmp_path / "m.npz").exists()


def test_usage_error_exits_2():
    assert run("train").exit_code == 2


def test_demo_runs_with_no_data(tmp_path):
    result = run("demo", "--out", tmp_path / "demo", "--faces", "8")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"Demo written to {tmp_path / 'demo'}: comparison picture")
    assert (tmp_path / "demo" / "comparison.png").is_file()  # what it shows: tests/test_demo.py
    assert len(list((tmp_path / "demo" / "train").glob("*.png"))) == 8
    steps = result.stderr.splitlines()
    assert [line.split(" ")[1] for line in steps] == ["rendering", "training", "filling"]  # it says what it does


def test_python_dash_m_entry_point(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "facefill", "--help"], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and "reconstruct" in result.stdout


def test_evaluate_prints_tables_and_writes_report(tmp_path):
    from facefill.synth import make_faces

    for i, face in enumerate(make_faces(3, shape=(60, 58), seed=3)):
        write_depth(tmp_path / "data" / f"{i}.png", face)
    result = run(
        "evaluate", tmp_path / "data", "--methods", "auto,seed,telea", "--families", "band,half",
        "--masks-per-face", "1", "--report", tmp_path / "rep",
    )
    assert result.exit_code == 0, result.stderr
    for word in ("band", "half", "overall", "auto", "telea", "fill IoU", "changed"):
        assert word in result.stdout
    assert (tmp_path / "rep" / "report.html").is_file() and (tmp_path / "rep" / "results.json").is_file()


def test_evaluate_scores_occluder_detection_in_the_terminal_and_the_report(tmp_path):
    from facefill.synth import make_faces

    for i, face in enumerate(make_faces(3, shape=(60, 58), seed=3)):
        write_depth(tmp_path / "data" / f"{i}.png", face)
    result = run("evaluate", tmp_path / "data", "--methods", "auto", "--families", "occluders", "--report", tmp_path / "rep")
    assert result.exit_code == 0, result.stderr
    for word in ("occluders found by auto", "hand", "glasses", "hair", "precision", "MAE given missing", "faces as they are"):
        assert word in result.stdout
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<h2>Occluders found</h2>" in page and "<td>glasses</td>" in page and "cases/occluders-found-" in page


def test_evaluate_unknown_family_is_an_error(tmp_path, faces8):
    write_depth(tmp_path / "a.png", faces8[0])
    write_depth(tmp_path / "b.png", faces8[1])
    result = run("evaluate", tmp_path, "--families", "hat")
    assert result.exit_code == 1 and "Error: mask family 'hat' is not known" in result.stderr


def test_reconstruct_report_page(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:2], 255)
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--model", trained, "--report", tmp_path / "r")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.endswith(f"Report: {tmp_path / 'r' / 'report.html'}\n")
    html = (tmp_path / "r" / "report.html").read_text()
    # one figure per image, each naming its file and how many pixels were filled
    filled = [int(n) for n in re.findall(r"(\d+) pixels filled", html)]
    assert len(filled) == 2 and all(n >= 30 * 30 for n in filled)
    for name in ("p0", "p1"):
        assert str(tmp_path / "in" / name / "face.png") in html


def test_confidence_maps_are_written_beside_the_outputs_layout(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:2], 255)
    result = run(
        "reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--model", trained, "--confidence", tmp_path / "conf"
    )
    assert result.exit_code == 0, result.stderr
    confidence = read_depth(tmp_path / "conf" / "p0" / "face.tif")
    assert confidence.dtype == np.float32 and confidence.min() >= 0 and confidence.max() == 1
    tolerance = FaceModel.load(trained).calibration_.tolerance
    assert f"note: confidence: the chance that a filled pixel is within {tolerance:g} levels of the truth" in result.stderr


def test_confidence_from_a_model_that_cannot_give_it_fails_before_any_work(tmp_path, trained, faces8):
    fields = dict(np.load(trained))
    del fields["calibration"]  # as written by a facefill before calibrated confidences
    np.savez(tmp_path / "old.npz", **fields)
    _holed_folder(tmp_path / "in", faces8[:2], 255)
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--model", tmp_path / "old.npz", "--confidence", tmp_path / "c")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: this model has no calibrated confidence") and "train it again" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "c").exists()


def test_synth_says_how_far_it_is_unless_quiet(tmp_path):
    result = run("synth", tmp_path / "s", "-n", "6", "--size", "40x48")
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "writing faces: 0/6" and lines[-1] == "writing faces: 6/6 done"
    assert run("synth", tmp_path / "q", "-n", "6", "--size", "40x48", "--quiet").stderr == ""


def test_synth_writes_sixteen_bit_faces(tmp_path):
    result = run("synth", tmp_path / "s", "-n", "3", "--size", "160x200", "--dtype", "uint16")
    assert result.exit_code == 0, result.stderr
    faces = sorted((tmp_path / "s").glob("*.png"))
    assert len(faces) == 3
    image = read_depth(faces[0])
    assert image.dtype == np.uint16 and image.shape == (200, 160)


def test_synth_draws_the_librarys_default_faces(tmp_path):
    # the command's defaults (pose jitter, expression, noise) are make_faces's own
    from facefill.synth import make_faces

    result = run("synth", tmp_path / "s", "-n", "2", "--size", "40x48")
    assert result.exit_code == 0, result.stderr
    written = np.stack([read_depth(path) for path in sorted((tmp_path / "s").glob("*.png"))])
    np.testing.assert_array_equal(written, make_faces(2, shape=(48, 40)))


def test_synth_writes_holed_copies_and_masks_beside_the_truths(tmp_path):
    from facefill.masks import make_mask, mask_rng

    result = run("synth", tmp_path / "s", "-n", "2", "--holes", "blobs,chin", "--face-width", "70", "--pose", "0,0,0")
    assert result.exit_code == 0, result.stderr
    assert "with holed copies and masks for blobs, chin" in result.stdout
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == ["holed", "masks", "truth"]
    for i in range(2):
        truth = read_depth(tmp_path / "s" / "truth" / f"face-000{i}.png")
        assert abs(np.ptp(np.nonzero((truth != 255).any(axis=0))[0]) + 1 - 70) <= 2
        for family in ("blobs", "chin"):
            holed = read_depth(tmp_path / "s" / "holed" / family / f"face-000{i}.png")
            mask = read_depth(tmp_path / "s" / "masks" / family / f"face-000{i}.png") == 255
            # the masks are evaluate's, and only the masked pixels are missing in the holed copy
            np.testing.assert_array_equal(mask, make_mask(family, truth != 255, mask_rng(0, i, family, 0)))
            np.testing.assert_array_equal(holed, np.where(mask, 255, truth))
            assert (mask & (truth != 255)).sum() > 20


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--pose", "1,2"), "Error: --pose '1,2' is not valid; expected 3 comma-separated numbers"),
        (("--pose", "1,nan,2"), "Error: --pose '1,nan,2' is not valid; expected 3 comma-separated numbers"),
        (("--holes", "blobs,hat"), "Error: mask family 'hat' is not known"),
        (("--noise", "-1"), "Error: noise -1.0 is not valid; expected a standard deviation >= 0"),
        (("--expression", "2"), "Error: expression 2.0 is not valid; expected a weight in [0, 1]"),
        (("--dropout", "95"), "Error: dropout angle 95.0 is not valid"),
        (("--face-width", "1"), "Error: face width 1.0 is not valid"),
    ],
)
def test_synth_refuses_bad_render_options_before_writing(tmp_path, args, message):
    result = run("synth", tmp_path / "s", "-n", "2", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert not (tmp_path / "s").exists()


def test_synth_rejects_a_bad_size(tmp_path):
    result = run("synth", tmp_path / "s", "--size", "big")
    assert result.exit_code == 1 and "Error: --size 'big' is not valid; expected WIDTHxHEIGHT" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--size", "100000x100000"), "at most 40000000 pixels"),
        (("--count", "0"), "--count 0 is not valid"),
        (("--dtype", "int8"), "dtype 'int8' is not valid"),
    ],
)
def test_synth_refuses_absurd_settings_before_writing(tmp_path, args, message):
    result = run("synth", tmp_path / "s", *args)
    assert result.exit_code == 1 and message in result.stderr
    assert not (tmp_path / "s").exists()


def test_synth_in_chunks_starts_with_the_same_faces(tmp_path):
    from facefill.synth import make_faces, write_faces

    paths = write_faces(tmp_path / "s", 5, shape=(40, 40), chunk=2)
    written = [read_depth(p) for p in sorted((tmp_path / "s").glob("*.png"))]
    assert len(written) == 5 and [p.name for p in paths] == [f"face-{i:04d}.png" for i in range(5)]
    np.testing.assert_array_equal(np.stack(written[:2]), make_faces(2, shape=(40, 40), seed=0))
    assert len({w.tobytes() for w in written}) == 5  # later chunks are other faces


# ------------------------------------------- adversarial names and options
def _hashes(folder):
    import hashlib

    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("command", "exit_code", "expected"),
    [
        (["train", "{inputs}", "--model", "{tmp}/m.npz", "--missing-value", "inf"], 1, "Error: --missing-value 'inf' is not a number"),
        (["train", "{inputs}", "--model", "{tmp}/m.npz", "--missing-value", "-1e400"], 1, "Error: --missing-value '-1e400' is not a number"),
        (["evaluate", "{inputs}", "--seed", "-5"], 1, "Error: --seed -5 is not valid; expected a whole number >= 0"),
        (["synth", "{tmp}/s", "--seed", "-1"], 1, "Error: --seed -1 is not valid; expected a whole number >= 0"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--workers", "1000000000"], 0, "note: --workers 1000000000 is more than the"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--workers", "3000000000"], 0, "note: --workers 3000000000 is more than the"),
        (["reconstruct", "{inputs}/p0/face.png", "--out", "{tmp}/f.png", "--model", "{model}", "--confidence", "{tmp}/c"], 0, ""),
    ],
)
def test_adversarial_options_end_cleanly_and_leave_inputs_alone(tmp_path, trained, faces8, command, exit_code, expected):
    inputs = tmp_path / "in"
    _holed_folder(inputs, faces8[:3], 255)
    before = _hashes(inputs)
    args = [a.format(inputs=inputs, tmp=tmp_path, model=trained) for a in command]
    result = run(*args)
    assert result.exit_code == exit_code, result.stderr
    assert expected in result.stderr and "Traceback" not in result.stderr + result.stdout
    assert _hashes(inputs) == before


def test_a_huge_worker_count_starts_no_more_processes_than_cores_and_chunks():
    from facefill import batch

    assert batch.usable_workers(10**9, 4) == 1  # 4 files: one chunk
    assert batch.usable_workers(10**9, 10**6) == batch.default_workers()


def test_a_single_file_with_an_explicit_output_name_gets_its_confidence_map(tmp_path, trained, faces8):
    write_depth(tmp_path / "one.png", with_hole(faces8[0], slice(40, 70), slice(30, 60), 255))
    result = run("reconstruct", tmp_path / "one.png", "--out", tmp_path / "filled.png", "--model", trained, "--confidence", tmp_path / "c")
    assert result.exit_code == 0, result.stderr
    assert read_depth(tmp_path / "c" / "filled.tif").dtype == np.float32


@pytest.mark.parametrize("name", ["bad\nError: all fine.png", "\x1b[2Jclear.png", "tab\there.png"])
def test_names_are_printed_escaped_so_they_cannot_forge_lines_or_move_the_terminal(tmp_path, trained, name):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / name).write_text("not an image")
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and repr(name)[1:-1] in lines[0]
    assert "\x1b" not in result.stderr + result.stdout and "\t" not in result.stderr


def test_names_are_escaped_in_the_html_report(tmp_path, trained, faces8):
    name = "<img src=x onerror=alert(1)>'.png"
    write_depth(tmp_path / "in" / name, with_hole(faces8[0], slice(40, 70), slice(30, 60), 255))
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained, "--report", tmp_path / "r")
    assert result.exit_code == 0, result.stderr
    html = (tmp_path / "r" / "report.html").read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;&#x27;.png" in html


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        # train: the model and its picture may not land in the training folder, nor overwrite an image
        (["train", "{inputs}", "--model", "{inputs}/p0/face.png"], "a model file's name must end in .npz"),
        (["train", "{inputs}", "--model", "{inputs}/p0/face.npz"], "lies inside the input"),
        (["train", "{inputs}", "--model", "{inputs}/m.npz"], "lies inside the input"),
        # reconstruct: confidence maps and reports may not land in the input, nor on another output
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--confidence", "{inputs}"], "confidence map"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--report", "{inputs}/r"], "report file"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--confidence", "{tmp}/o"], "same file as the output"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--confidence", "{tmp}/c"], "same file as the confidence map"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/linked", "--model", "{model}", "--overwrite"], "through links"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/m/o", "--model", "{model}", "--mask", "{tmp}/m"], "lies inside the input {tmp}/m"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--occluders", "--occluder-masks", "{inputs}"], "occluder mask"),
        (["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--occluders", "--occluder-masks", "{tmp}/o"], "same file as the output"),
        (["evaluate", "{inputs}", "--report", "{inputs}/rep"], "report folder"),
        (["synth", "{inputs}/p0", "-n", "1"], "synth never overwrites a file"),
    ],
)
def test_no_command_writes_over_or_into_its_inputs(tmp_path, trained, faces8, command, expected):
    inputs = tmp_path / "in"
    _holed_folder(inputs, faces8[:3], 255)
    write_depth(inputs / "p0" / "face-0000.png", faces8[3])  # what synth would write first
    write_depth(inputs / "p1" / "face.tif", faces8[4])  # beside p1/face.png: both confidence maps are p1/face.tif
    (tmp_path / "linked").mkdir()
    (tmp_path / "linked" / "p2").symlink_to(inputs / "p2")  # an output folder that leads into the input
    before = _hashes(inputs)
    args = [a.format(inputs=inputs, tmp=tmp_path, model=trained) for a in command]
    result = run(*args)
    assert result.exit_code == 1, result.stdout
    expected = expected.format(tmp=tmp_path)
    assert result.stderr.startswith("Error: ") and expected in result.stderr and "Traceback" not in result.stderr
    assert _hashes(inputs) == before
    assert not (tmp_path / "o").exists()  # refused before anything was written


@pytest.mark.parametrize(
    "command",
    [
        ["train", "{inputs}", "--model", "{tmp}/adir.npz"],
        ["train", "{inputs}", "--model", "{tmp}/afile/m.npz"],
        ["reconstruct", "{inputs}", "--out", "{tmp}/o", "--model", "{model}", "--report", "{tmp}/afile"],
        ["reconstruct", "{inputs}", "--out", "{tmp}/afile", "--model", "{model}"],
    ],
    ids=["model is a folder", "model under a file", "report is a file", "out is a file"],
)
def test_a_write_the_file_system_refuses_is_one_error_line(tmp_path, trained, faces8, command):
    inputs = tmp_path / "in"
    _holed_folder(inputs, faces8[:2], 255)
    (tmp_path / "adir.npz").mkdir()
    (tmp_path / "afile").write_text("not a folder")
    before = _hashes(inputs)
    result = run(*[a.format(inputs=inputs, tmp=tmp_path, model=trained) for a in command])
    assert result.exit_code == 1
    assert "could not write" in result.stderr and "Traceback" not in result.stderr
    assert all(
        line.startswith(("Error: ", "note: ")) or re.fullmatch(r"[^:]+(: [^:]+)?: \d+/\d+( done)?", line)  # or progress
        for line in result.stderr.splitlines()
    )
    assert _hashes(inputs) == before and (tmp_path / "afile").read_text() == "not a folder"


def test_a_reader_that_goes_away_does_not_stop_the_batch(tmp_path, trained, faces8):
    import os
    import subprocess
    import sys

    _holed_folder(tmp_path / "in", faces8[:5], 255)
    (tmp_path / "in" / "a-bad.png").write_text("not an image")  # its error line is the first thing printed
    command = [sys.executable, "-m", "facefill", "reconstruct", tmp_path / "in", "--out", tmp_path / "out"]
    command += ["--model", trained, "--workers", "1"]
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone before the first line, as `| head -0` would
    try:
        process = subprocess.run(list(map(str, command)), stdout=writer, stderr=writer, timeout=60, check=False)
    finally:
        os.close(writer)
    assert process.returncode == 1  # the bad file still fails
    assert len(list((tmp_path / "out").rglob("face.png"))) == 5


# ------------------------------------------------------- no model at all
def test_reconstruct_without_a_model_trains_on_faces_rendered_in_the_inputs_frame(tmp_path, monkeypatch):
    import facefill.pretrained
    from facefill.synth import make_faces

    monkeypatch.setattr(facefill.pretrained, "PRETRAINED_FACES", 12)
    faces = make_faces(2, shape=(80, 70), dtype="uint16", seed=6)
    for i, face in enumerate(faces):
        write_depth(tmp_path / "in" / f"{i}.png", with_hole(face, slice(30, 45), slice(25, 45), 0))
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--workers", "1", "--confidence", tmp_path / "c")
    assert result.exit_code == 0, result.stderr
    assert "note: no --model: training on faces rendered in the inputs' frame" in result.stderr
    assert "mm of the truth (learned on held-out rendered faces, not yours)" in result.stderr
    assert "a model of 12 faces rendered from the ICT Face Model Light" in result.stderr
    assert "depth in millimetres, nearer is smaller" in result.stderr
    for i, face in enumerate(faces):
        given = with_hole(face, slice(30, 45), slice(25, 45), 0)
        filled = read_depth(tmp_path / "out" / f"{i}.png")
        np.testing.assert_array_equal(filled[given != 0], given[given != 0])
        assert (filled[30:45, 25:45] != 0).all()
        assert np.abs(filled[30:45, 25:45].astype(float) - face[30:45, 25:45]).mean() < 3.0  # mm


def test_reconstruct_without_a_model_needs_a_readable_input(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "broken.png").write_bytes(b"not an image")
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "out")
    assert result.exit_code == 1
    assert "Error: no --model given and none of the inputs could be read to fit one:" in result.stderr
    assert "broken.png" in result.stderr


def test_evaluate_scores_a_given_model_on_held_out_faces(tmp_path, trained, faces8):
    for i, face in enumerate(faces8[:2]):
        write_depth(tmp_path / "held" / f"{i}.png", face)
    result = run("evaluate", tmp_path / "held", "--model", trained, "--methods", "auto,seed", "--families", "blobs")
    assert result.exit_code == 0, result.stderr
    assert "auto" in result.stdout and "seed" in result.stdout


def test_train_with_renders_says_so_and_lends_the_prior_their_variation(tmp_path, faces8):
    for i, face in enumerate(faces8[2:6]):
        write_depth(tmp_path / "train" / f"{i}.png", face)
    result = run("train", tmp_path / "train", "--model", tmp_path / "m.npz", "--renders", "6")
    assert result.exit_code == 0, result.stderr
    assert "Trained on 4 faces and 6 rendered like them of 116x120 uint8" in result.stdout
    model = FaceModel.load(tmp_path / "m.npz")
    assert model.n_images_ == 4  # the renders lend the prior their variation; they are not training faces
    assert model.prior_.render_share in RENDER_SHARE_GRID
    bad = run("train", tmp_path / "train", "--model", tmp_path / "n.npz", "--renders", "-1")
    assert bad.exit_code == 1 and "Error: --renders -1 is not valid; expected a whole number >= 0" in bad.stderr


def test_reconstruct_with_masks_replaces_the_masked_pixels_and_a_bad_mask_fails_its_file_alone(tmp_path, trained, faces8):
    model = FaceModel.load(trained)
    masks = {}
    for i in range(3):
        write_depth(tmp_path / "in" / f"p{i}" / "face.png", faces8[i])
        masks[i] = np.zeros((120, 116), np.uint8)
        masks[i][45 + 3 * i : 65, 35:55] = 255
    write_depth(tmp_path / "m" / "p0" / "face.png", masks[0])
    write_depth(tmp_path / "m" / "p1" / "face.png", masks[1][:60])  # another size
    # p2 has no mask
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--model", trained, "--mask", tmp_path / "m", "--workers", 1)
    assert result.exit_code == 1
    errors = result.stderr.splitlines()
    assert errors == [
        f"Error: {tmp_path / 'in/p1/face.png'}: its mask {tmp_path / 'm/p1/face.png'} is 116x60; expected the image's size 116x120 (width x height)",
        f"Error: {tmp_path / 'in/p2/face.png'}: its mask {tmp_path / 'm/p2/face.png'} does not exist (--mask: a mask per input, at its relative path)",
    ]
    assert "reconstructed 1, skipped 0, failed 2" in result.stdout
    np.testing.assert_array_equal(read_depth(tmp_path / "out/p0/face.png"), model.reconstruct(faces8[0], mask=masks[0] > 0))
    assert not (tmp_path / "out/p1/face.png").exists() and not (tmp_path / "out/p2/face.png").exists()


def test_reconstruct_one_file_with_a_mask_file(tmp_path, trained, faces8):
    write_depth(tmp_path / "face.png", faces8[0])
    mask = np.zeros((120, 116), np.uint8)
    mask[50:60, 40:50] = 1
    write_depth(tmp_path / "mask.png", mask)
    result = run("reconstruct", tmp_path / "face.png", "--out", tmp_path / "o.png", "--model", trained, "--mask", tmp_path / "mask.png")
    assert result.exit_code == 0, result.stderr
    expected = FaceModel.load(trained).reconstruct(faces8[0], mask=mask > 0)
    np.testing.assert_array_equal(read_depth(tmp_path / "o.png"), expected)


def test_a_folder_of_inputs_with_a_mask_file_is_one_error_line(tmp_path, trained, faces8):
    write_depth(tmp_path / "in" / "face.png", faces8[0])
    write_depth(tmp_path / "mask.png", np.zeros((120, 116), np.uint8))
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained, "--mask", tmp_path / "mask.png")
    assert result.exit_code == 1
    assert result.stderr == f"Error: --mask {tmp_path / 'mask.png'}: not a folder; for the folder {tmp_path / 'in'}, give a folder of masks at the inputs' relative paths\n"
    assert not (tmp_path / "o").exists()


def test_reconstruct_finds_occluders_and_writes_what_it_found(tmp_path, trained, faces8):
    occluded = faces8[0].copy()
    blob = np.zeros(occluded.shape, bool)
    blob[55:75, 35:60] = True
    blob &= occluded != 255
    occluded[blob] += 20
    write_depth(tmp_path / "in" / "p" / "face.png", occluded)
    result = run(
        "reconstruct", tmp_path / "in", "--out", tmp_path / "out", "--model", trained, "--occluders", "--occluder-masks", tmp_path / "found"
    )
    assert result.exit_code == 0, result.stderr
    found = read_depth(tmp_path / "found" / "p" / "face.png")
    assert found.dtype == np.uint8 and set(np.unique(found)) <= {0, 255}
    assert ((found > 0) & blob).sum() / ((found > 0) | blob).sum() > 0.8
    filled = read_depth(tmp_path / "out" / "p" / "face.png")
    expected = FaceModel.load(trained).reconstruct(occluded, occluders=True)
    np.testing.assert_array_equal(filled, expected)


def test_occluder_masks_without_occluders_is_one_error_line(tmp_path, trained, faces8):
    write_depth(tmp_path / "face.png", faces8[0])
    result = run("reconstruct", tmp_path / "face.png", "--out", tmp_path / "o.png", "--model", trained, "--occluder-masks", tmp_path / "f")
    assert result.exit_code == 1
    assert result.stderr == "Error: --occluder-masks needs --occluders: nothing is looked for without it\n"
    assert not (tmp_path / "o.png").exists()


# ------------------------------------------------------------- the first hour
def test_help_shows_every_default_and_the_arguments_names():
    evaluate_help = run("evaluate", "--help").stdout
    # the help wraps long words: the families' default is checked at its two ends
    assert "[default: blobs,half," in evaluate_help and "midline,occluders]" in evaluate_help
    assert "[default: every facefill method, seed, telea, ns, biharmonic]" in " ".join(evaluate_help.split())
    assert "DATA_DIR" in evaluate_help and "--protocol" in evaluate_help
    reconstruct_help = " ".join(run("reconstruct", "--help").stdout.split())
    assert "[default: every core of this machine]" in reconstruct_help and "INPUT" in reconstruct_help
    assert "[default: 255 for 8-bit, 0 for 16-bit, nan for float]" in " ".join(run("train", "--help").stdout.split())
    assert "TRAIN_DIR" in run("train", "--help").stdout


def test_version():
    from importlib.metadata import version

    result = run("--version")
    assert result.exit_code == 0 and result.stdout == f"facefill {version('facefill')}\n"


def test_the_protocol_ships_with_the_package_and_the_report_links_it():
    result = run("evaluate", "--protocol")
    assert result.exit_code == 0
    assert result.stdout.startswith("# facefill's evaluation protocol\n") and "## Occluders" in result.stdout
    assert "\\n" not in result.stdout  # lines, not escapes


def test_a_rerun_summarises_the_skipped_files_in_one_line_and_verbose_names_them(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:3], 255)
    assert run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained).exit_code == 0
    again = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained)
    assert again.exit_code == 0 and again.stderr == ""
    assert again.stdout == f"reconstructed 0, skipped 3, failed 0 -> {tmp_path / 'o'} (skipped: outputs exist; --overwrite replaces them)\n"
    verbose = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained, "--verbose")
    assert verbose.stderr.count("exists; use --overwrite to replace it") == 3


def test_files_of_other_types_are_named_not_skipped_silently(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", faces8[:1], 255)
    for name in ("a.jpg", "b.pfm", "c.exr", "d.bmp"):
        (tmp_path / "in" / name).write_bytes(b"x")
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained)
    assert result.exit_code == 0
    assert (
        "note: not read: 4 files of types facefill does not read (.bmp, .exr, .jpg, .pfm; it reads .png, .tif, .tiff, .npy): "
        f"{tmp_path / 'in/a.jpg'}, {tmp_path / 'in/b.pfm'}, {tmp_path / 'in/c.exr'} and 1 more"
    ) in result.stderr


def test_a_folder_of_only_other_types_says_which_it_found(tmp_path, trained):
    (tmp_path / "in").mkdir()
    for name in ("a.jpg", "b.jpg", "c.exr"):
        (tmp_path / "in" / name).write_bytes(b"x")
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained)
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1].endswith("no depth images found (looked recursively for .png, .tif, .tiff, .npy files); it holds 3 other files (.exr, .jpg)")


def test_a_report_without_matplotlib_fails_before_the_work(tmp_path, faces8, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "matplotlib" else real(name, *a))
    write_depth(tmp_path / "d" / "a.png", faces8[0])
    write_depth(tmp_path / "d" / "b.png", faces8[1])
    result = run("evaluate", tmp_path / "d", "--report", tmp_path / "rep")
    assert result.exit_code == 1
    assert result.stderr == "Error: matplotlib is not installed; the report's chart needs it: pip install 'facefill[eval]'\n"
    assert result.stdout == "" and not (tmp_path / "rep").exists()


def test_train_ends_with_what_it_learned(tmp_path, faces8):
    for i, face in enumerate(faces8[:5]):
        write_depth(tmp_path / "t" / f"{i}.png", with_hole(face, slice(50, 60), slice(40, 60), 255) if i == 0 else face)
    result = run("train", tmp_path / "t", "--model", tmp_path / "m.npz")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1] == "read 5, skipped 0, failed 0"
    assert re.match(r"faces: \d+\.\d % of the pixels inside their majority outline are missing", lines[2])
    assert re.match(r"prior: \d+ components, noise [\d.]+, mirror weight [\d.]+, border smoothing [\d.]+ px \(chosen by cross-validation, cross-validated MAE [\d.]+\); residual spread [\d.]+", lines[3])
    assert lines[4] == "confidence: the chance that a filled pixel is within 1 levels of the truth (learned on held-out faces)"
    # piped, each stage is a line as it starts, a few as it goes and one as it ends
    stages: dict[str, list[str]] = {}
    for line in result.stderr.splitlines():
        stages.setdefault(line.split(":")[0], []).append(line)
    assert stages.pop("note") == ["note: learning from 5 faces"]
    assert list(stages) == [
        "reading the files", "pass 1 of 2", "pass 2 of 2", "choosing the prior's settings", "how far faces stray from the prior (for --occluders)",
        "what a confidence means",
    ]
    assert all(lines[0].endswith(": 0/5") and lines[-1].endswith(": 5/5 done") for lines in stages.values())
    assert run("train", tmp_path / "t", "--model", tmp_path / "m2.npz", "--quiet").stderr == ""


def test_terminal_tables_show_a_dash_where_there_is_no_number(tmp_path):
    from facefill.synth import make_faces

    for i, face in enumerate(make_faces(3, shape=(60, 58), seed=3)):
        write_depth(tmp_path / "data" / f"{i}.png", face)
    result = run("evaluate", tmp_path / "data", "--methods", "symmetry", "--families", "chin", "--masks-per-face", "1")
    assert result.exit_code == 0, result.stderr
    assert "–" in result.stdout and "nan" not in result.stdout


def test_progress_is_a_few_plain_lines_when_piped_and_quiet_silences_it(tmp_path, trained, faces8):
    _holed_folder(tmp_path / "in", list(faces8[:6]), 255)
    result = run("reconstruct", tmp_path / "in", "--out", tmp_path / "o", "--model", trained, "--workers", 1)
    assert result.exit_code == 0, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "reconstructing: 0/6" and lines[-1] == "reconstructing: 6/6 done"
    assert all(re.fullmatch(r"reconstructing: \d/6( done)?", line) for line in lines) and len(lines) <= 12
    quiet = run("reconstruct", tmp_path / "in", "--out", tmp_path / "q", "--model", trained, "--quiet")
    assert quiet.exit_code == 0 and quiet.stderr == ""


def test_show_pictures_depth_and_confidence_side_by_side(tmp_path, trained, faces8):
    write_depth(tmp_path / "face.png", with_hole(faces8[0], slice(50, 60), slice(40, 60), 255))
    assert run("reconstruct", tmp_path / "face.png", "--out", tmp_path / "o.png", "--model", trained, "--confidence", tmp_path / "c").exit_code == 0
    result = run("show", tmp_path / "face.png", tmp_path / "o.png", tmp_path / "c" / "o.tif", "--out", tmp_path / "s.png")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"Picture of 3 images: {tmp_path / 's.png'}\n"
    from PIL import Image

    with Image.open(tmp_path / "s.png") as picture:
        assert picture.mode == "RGB" and picture.width > 4 * 116  # three images and two colour bars


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["{tmp}/face.png", "--out", "{tmp}/face.png"], "never writes over or into its inputs"),
        (["{tmp}/face.png", "--out", "{tmp}/s.jpg"], "the picture is a PNG"),
        (["{tmp}/nothere.png", "--out", "{tmp}/s.png"], "nothere.png: no such file"),
    ],
)
def test_show_refuses_with_one_error_line(tmp_path, faces8, args, message):
    write_depth(tmp_path / "face.png", faces8[0])
    result = run("show", *(a.format(tmp=tmp_path) for a in args))
    assert result.exit_code == 1 and result.stderr.startswith("Error: ") and message in result.stderr
    assert read_depth(tmp_path / "face.png").shape == (120, 116)
