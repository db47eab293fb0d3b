import multiprocessing
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from facefill import batch
from facefill.errors import InvalidParameterError, OutputPathError
from facefill.fill import METHODS, Method
from facefill.formats import read_depth, write_depth

from .conftest import with_hole


@pytest.fixture()
def model(model8):
    return model8


def test_plan_keeps_relative_paths(tmp_path):
    write_depth(tmp_path / "in" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    pairs = batch.plan_outputs(tmp_path / "in", tmp_path / "out")
    assert pairs == [(tmp_path / "in" / "a" / "x.png", tmp_path / "out" / "a" / "x.png")]


def test_plan_single_file_into_folder_or_onto_file(tmp_path):
    source = tmp_path / "x.png"
    write_depth(source, np.zeros((4, 4), np.uint8))
    assert batch.plan_outputs(source, tmp_path / "out") == [(source, tmp_path / "out" / "x.png")]
    assert batch.plan_outputs(source, tmp_path / "y.png") == [(source, tmp_path / "y.png")]


@pytest.mark.parametrize("out", [".", "sub"])
def test_plan_refuses_output_equal_to_or_inside_input(tmp_path, out):
    write_depth(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    with pytest.raises(OutputPathError, match="output folder .* (is|lies inside) the input .*never writes over or into its inputs"):
        batch.plan_outputs(tmp_path, tmp_path / out)


def test_plan_refuses_overwriting_the_input_file(tmp_path):
    source = tmp_path / "x.png"
    write_depth(source, np.zeros((4, 4), np.uint8))
    with pytest.raises(OutputPathError, match="output .*x.png is the input .*x.png"):
        batch.plan_outputs(source, source)


def test_one_bad_file_does_not_stop_the_batch(tmp_path, model, faces8):
    write_depth(tmp_path / "in" / "a.png", with_hole(faces8[0], slice(50, 60), slice(30, 50), 255))
    (tmp_path / "in" / "b.png").write_text("not an image")
    write_depth(tmp_path / "in" / "c.png", with_hole(faces8[1], slice(50, 60), slice(30, 50), 255))
    summary = batch.reconstruct_files(model, batch.plan_outputs(tmp_path / "in", tmp_path / "out"))
    assert [o.status for o in summary.outcomes] == ["done", "failed", "done"]
    assert "b.png: not an image" in summary.failed[0].message
    assert summary.line("reconstructed") == "reconstructed 2, skipped 0, failed 1"
    assert read_depth(tmp_path / "out" / "c.png").dtype == np.uint8
    assert not (tmp_path / "out" / "b.png").exists()


def test_a_stray_first_file_does_not_decide_the_training_sets_kind(tmp_path, faces8):
    write_depth(tmp_path / "aaa.png", faces8[0].astype(np.uint16))  # first in the order, 16-bit
    for i, face in enumerate(faces8[1:6]):
        write_depth(tmp_path / f"face{i}.png", face)
    files, summary = batch.scan_training_files(sorted(tmp_path.iterdir()))
    assert len(files) == 5 and [o.source.name for o in summary.failed] == ["aaa.png"]
    assert "aaa.png: dtype uint16 differs from" in summary.failed[0].message


def test_training_images_that_differ_are_reported_not_fatal(tmp_path, faces8, faces16):
    write_depth(tmp_path / "a.png", faces8[0])
    write_depth(tmp_path / "b.png", faces16[0])
    write_depth(tmp_path / "c.png", faces8[1])
    (tmp_path / "d.png").write_bytes(b"\x89PNG broken")
    images, summary = batch.load_training_images(sorted(tmp_path.iterdir()))
    assert len(images) == 2
    messages = [o.message for o in summary.failed]
    assert "b.png: size 160x200 differs from" in messages[0] and "a.png's (most files') 116x120" in messages[0]
    assert "d.png" in messages[1]


# ------------------------------------------------------------ workers
def _holed_inputs(folder, faces, count):
    """``count`` holed faces in two subfolders, one unreadable file among them."""
    for i in range(count):
        face = with_hole(faces[i % len(faces)], slice(40 + i % 7, 70), slice(25 + i % 5, 60), 255)
        write_depth(folder / f"part{i % 2}" / f"face-{i:03d}.png", face)
    (folder / "part0" / "face-bad.png").write_text("not an image")


def _tree(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_workers_write_the_same_bytes_and_summary_as_one_process(tmp_path, model, faces8):
    _holed_inputs(tmp_path / "in", faces8, 20)
    serial = batch.reconstruct_files(model, batch.plan_outputs(tmp_path / "in", tmp_path / "serial"))
    seen = []
    parallel = batch.reconstruct_files(
        model, batch.plan_outputs(tmp_path / "in", tmp_path / "parallel"), workers=2, on_outcome=seen.append
    )
    assert _tree(tmp_path / "parallel") == _tree(tmp_path / "serial")
    assert len(_tree(tmp_path / "serial")) == 20
    assert [(o.source, o.status, o.message) for o in parallel.outcomes] == [
        (o.source, o.status, o.message) for o in serial.outcomes
    ]
    assert parallel.line("reconstructed") == "reconstructed 20, skipped 0, failed 1"
    assert sorted(o.source for o in seen) == sorted(o.source for o in serial.outcomes)


def test_workers_write_confidence_maps_like_one_process(tmp_path, model, faces8):
    _holed_inputs(tmp_path / "in", faces8, 6)
    for name, workers in (("serial", 1), ("parallel", 2)):
        pairs = batch.plan_outputs(tmp_path / "in", tmp_path / name)
        targets = {s: batch.companion_path(t, tmp_path / name, tmp_path / f"{name}-conf", ".tif") for s, t in pairs}
        batch.reconstruct_files(model, pairs, confidence_targets=targets, workers=workers)
    assert _tree(tmp_path / "parallel-conf") == _tree(tmp_path / "serial-conf")


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_workers_must_be_a_whole_number_of_at_least_one(tmp_path, model, workers):
    with pytest.raises(InvalidParameterError, match=f"workers {workers!r} is not valid; expected a whole number >= 1"):
        batch.reconstruct_files(model, [], workers=workers)


def _die_on_marked_faces(depth, unknown, frame, prior):
    """A method that kills its process on faces whose corner pixel is 7, as a crashing decoder would."""
    if depth[0, 0] == 7:
        os._exit(3)
    return METHODS["seed"].fill(depth, unknown, frame, prior)


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="the test's method reaches workers by fork")
def test_a_worker_that_dies_fails_only_its_file(tmp_path, model, faces8):
    die = Method("die", "kills its worker on marked faces", _die_on_marked_faces)
    _holed_inputs(tmp_path / "in", faces8, 20)
    marked = with_hole(faces8[0], slice(40, 70), slice(25, 60), 255)
    marked[0, 0] = 7
    write_depth(tmp_path / "in" / "part1" / "face-marked.png", marked)
    summary = batch.reconstruct_files(model, batch.plan_outputs(tmp_path / "in", tmp_path / "out"), die, workers=2)
    failed = {o.source.name: o.message for o in summary.failed}
    assert set(failed) == {"face-bad.png", "face-marked.png"}
    assert "the worker process died while reconstructing it" in failed["face-marked.png"]
    # files the dead worker wrote before it died are this run's work, not skipped
    assert summary.count("skipped") == 0 and summary.count("done") == 20
    assert len(_tree(tmp_path / "out")) == 20
    for outcome in summary.outcomes:
        if outcome.status == "done":
            expected = model.reconstruct(read_depth(outcome.source), "seed")
            np.testing.assert_array_equal(read_depth(outcome.target), expected)


def test_temporaries_left_by_a_killed_writer_are_removed_and_a_live_ones_kept(tmp_path, model, faces8):
    from facefill.atomic import _HOST

    _holed_inputs(tmp_path / "in", faces8, 2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "out" / "part0"
    folder.mkdir(parents=True)
    stale = folder / f".face-000.png.{_HOST}-{dead.pid}-k3j4x9a0.facefill-tmp"
    live = folder / f".face-001.png.{_HOST}-{os.getppid()}-00ff00ff.facefill-tmp"  # another run, still writing
    other = folder / ".notes.facefill-tmp"  # not one of this batch's outputs
    for path in (stale, live, other):
        path.write_bytes(b"half a png")
    batch.reconstruct_files(model, batch.plan_outputs(tmp_path / "in", tmp_path / "out"))
    assert not stale.exists() and live.exists() and other.exists()
    assert (folder / "face-000.png").is_file()


def test_an_input_with_the_longest_name_a_file_system_takes_is_reconstructed(tmp_path, model, faces8):
    name = "f" * 251 + ".png"  # 255 bytes: the temporary file's name cannot add to it
    write_depth(tmp_path / "in" / name, with_hole(faces8[0], slice(40, 60), slice(30, 50), 255))
    summary = batch.reconstruct_files(model, batch.plan_outputs(tmp_path / "in", tmp_path / "out"))
    assert summary.line("reconstructed") == "reconstructed 1, skipped 0, failed 0"
    assert (tmp_path / "out" / name).is_file()


# ------------------------------------------------------- interruption
def _visible_outputs(folder):
    return sorted(p for p in folder.rglob("*.png") if not p.name.startswith("."))


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "killed"])
def test_an_interrupted_batch_leaves_complete_files_and_a_rerun_finishes_it(tmp_path, model, faces8, stop):
    count = 240  # enough that the batch is still running when the signal comes, on a busy machine too
    _holed_inputs(tmp_path / "in", faces8, count)
    model.save(tmp_path / "m.npz")
    command = [sys.executable, "-m", "facefill", "reconstruct", tmp_path / "in", "--out", tmp_path / "out"]
    command += ["--model", tmp_path / "m.npz", "--workers", "2"]
    # its own process group, as a terminal's Ctrl-C reaches every process of the foreground job; and
    # Ctrl-C not ignored, as it is in a job started in the background (``nohup``, ``&``), whose
    # Python then never sees a KeyboardInterrupt and finishes the batch
    process = subprocess.Popen(
        command, start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while len(_visible_outputs(tmp_path / "out")) < 10 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(process.pid, stop)
    _, stderr = process.communicate(timeout=60)
    if stop == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert "interrupted; outputs written so far are complete; run the same command again to finish" in stderr
    done = _visible_outputs(tmp_path / "out")
    assert 10 <= len(done) < count
    for target in done:  # every file there is whole and right
        source = tmp_path / "in" / target.relative_to(tmp_path / "out")
        np.testing.assert_array_equal(read_depth(target), model.reconstruct(read_depth(source)))

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 1  # the unreadable file still fails
    assert f"reconstructed {count - len(done)}, skipped {len(done)}, failed 1" in rerun.stdout
    assert len(_visible_outputs(tmp_path / "out")) == count
    assert not list((tmp_path / "out").rglob("*.facefill-tmp"))


def test_masks_are_found_at_the_inputs_relative_paths_of_any_image_type(tmp_path):
    for name in ("a/x.png", "a/y.png", "z.png"):
        write_depth(tmp_path / "in" / name, np.zeros((4, 4), np.uint8))
    write_depth(tmp_path / "m" / "a" / "x.png", np.zeros((4, 4), np.uint8))
    write_depth(tmp_path / "m" / "a" / "y.tif", np.zeros((4, 4), np.uint8))
    pairs = batch.plan_outputs(tmp_path / "in", tmp_path / "out")
    masks = batch.mask_paths(tmp_path / "in", pairs, tmp_path / "m")
    assert masks == {
        tmp_path / "in/a/x.png": tmp_path / "m/a/x.png",
        tmp_path / "in/a/y.png": tmp_path / "m/a/y.tif",
        tmp_path / "in/z.png": tmp_path / "m/z.png",  # not there: its file's error, when it comes
    }


def test_a_single_input_takes_a_mask_file_or_its_name_in_a_folder(tmp_path):
    write_depth(tmp_path / "x.png", np.zeros((4, 4), np.uint8))
    pairs = batch.plan_outputs(tmp_path / "x.png", tmp_path / "out")
    assert batch.mask_paths(tmp_path / "x.png", pairs, tmp_path / "m.png") == {tmp_path / "x.png": tmp_path / "m.png"}
    (tmp_path / "masks").mkdir()
    assert batch.mask_paths(tmp_path / "x.png", pairs, tmp_path / "masks") == {tmp_path / "x.png": tmp_path / "masks/x.png"}


def test_a_folder_of_inputs_needs_a_folder_of_masks(tmp_path):
    write_depth(tmp_path / "in" / "x.png", np.zeros((4, 4), np.uint8))
    write_depth(tmp_path / "m.png", np.zeros((4, 4), np.uint8))
    pairs = batch.plan_outputs(tmp_path / "in", tmp_path / "out")
    with pytest.raises(InvalidParameterError, match="--mask .*m.png: not a folder; for the folder .*in, give a folder of masks"):
        batch.mask_paths(tmp_path / "in", pairs, tmp_path / "m.png")


def test_masks_reach_the_workers(tmp_path, model, faces8):
    for i in range(3):
        write_depth(tmp_path / "in" / f"f{i}.png", faces8[i])
        mask = np.zeros((120, 116), np.uint8)
        mask[40 + 5 * i : 60, 30:50] = 1
        write_depth(tmp_path / "m" / f"f{i}.png", mask)
    pairs = batch.plan_outputs(tmp_path / "in", tmp_path / "out")
    masks = batch.mask_paths(tmp_path / "in", pairs, tmp_path / "m")
    summary = batch.reconstruct_files(model, pairs, masks=masks, workers=2)
    assert summary.count("done") == 3
    for i in range(3):
        expected = model.reconstruct(faces8[i], mask=read_depth(tmp_path / "m" / f"f{i}.png") > 0)
        np.testing.assert_array_equal(read_depth(tmp_path / "out" / f"f{i}.png"), expected)
