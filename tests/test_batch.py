import numpy as np
import pytest

from facefill import batch
from facefill.errors import OutputPathError
from facefill.io import read_depth, write_depth
from facefill.model import FaceModel

from .conftest import with_hole


@pytest.fixture()
def model(faces8):
    return FaceModel().fit(faces8[2:])


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
    with pytest.raises(OutputPathError, match="choose a folder outside it"):
        batch.plan_outputs(tmp_path, tmp_path / out)


def test_plan_refuses_overwriting_the_input_file(tmp_path):
    source = tmp_path / "x.png"
    write_depth(source, np.zeros((4, 4), np.uint8))
    with pytest.raises(OutputPathError, match="would overwrite the input file"):
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


def test_existing_output_is_skipped_unless_overwrite(tmp_path, model, faces8):
    source, target = tmp_path / "a.png", tmp_path / "out" / "a.png"
    write_depth(source, with_hole(faces8[0], slice(50, 60), slice(30, 50), 255))
    write_depth(target, np.zeros((3, 3), np.uint8))
    skipped = batch.reconstruct_file(model, source, target, "auto", overwrite=False)
    assert skipped.status == "skipped" and "use --overwrite" in skipped.message
    assert read_depth(target).shape == (3, 3)
    assert batch.reconstruct_file(model, source, target, "auto", overwrite=True).status == "done"
    assert read_depth(target).shape == (120, 116)


def test_size_mismatch_names_the_file_and_both_sizes(tmp_path, model, faces16):
    source = tmp_path / "big.png"
    write_depth(source, faces16[0])
    outcome = batch.reconstruct_file(model, source, tmp_path / "o.png", "auto", overwrite=False)
    assert outcome.status == "failed"
    assert "big.png: size 160x200 differs from the model's 116x120" in outcome.message


def test_all_missing_image_fails_with_its_name(tmp_path, model):
    source = tmp_path / "blank.png"
    write_depth(source, np.full((120, 116), 255, np.uint8))
    outcome = batch.reconstruct_file(model, source, tmp_path / "o.png", "auto", overwrite=False)
    assert outcome.status == "failed" and outcome.message.startswith(f"{source}: every pixel")


def test_nothing_missing_is_done_with_a_note(tmp_path, model, faces8):
    source = tmp_path / "full.png"
    write_depth(source, np.full((120, 116), 40, np.uint8))
    outcome = batch.reconstruct_file(model, source, tmp_path / "o.png", "auto", overwrite=False)
    assert outcome.status == "done" and "nothing missing" in outcome.message
    assert (read_depth(tmp_path / "o.png") == 40).all()


def test_training_images_that_differ_are_reported_not_fatal(tmp_path, faces8, faces16):
    write_depth(tmp_path / "a.png", faces8[0])
    write_depth(tmp_path / "b.png", faces16[0])
    write_depth(tmp_path / "c.png", faces8[1])
    (tmp_path / "d.png").write_bytes(b"\x89PNG broken")
    images, summary = batch.load_training_images(sorted(tmp_path.iterdir()))
    assert len(images) == 2
    messages = [o.message for o in summary.failed]
    assert "b.png: size 160x200 differs from 116x120 of" in messages[0]
    assert "d.png" in messages[1]
