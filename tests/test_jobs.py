import numpy as np

from facefill.formats import read_depth, write_depth
from facefill.jobs import Job, Task, reconstruct_job

from .conftest import with_hole


def test_existing_output_is_skipped_unless_overwrite(tmp_path, model8, faces8):
    source, target = tmp_path / "a.png", tmp_path / "out" / "a.png"
    write_depth(source, with_hole(faces8[0], slice(50, 60), slice(30, 50), 255))
    write_depth(target, np.zeros((3, 3), np.uint8))
    skipped = reconstruct_job(Task(model8, "auto", False), Job(source, target))
    assert skipped.status == "skipped" and "use --overwrite" in skipped.message
    assert read_depth(target).shape == (3, 3)
    assert reconstruct_job(Task(model8, "auto", True), Job(source, target)).status == "done"
    assert read_depth(target).shape == (120, 116)


def test_size_mismatch_names_the_file_and_both_sizes(tmp_path, model8, faces16):
    source = tmp_path / "big.png"
    write_depth(source, faces16[0])
    outcome = reconstruct_job(Task(model8, "auto", False), Job(source, tmp_path / "o.png"))
    assert outcome.status == "failed"
    assert "big.png: size 160x200 differs from the model's 116x120" in outcome.message


def test_all_missing_image_fails_with_its_name(tmp_path, model8):
    source = tmp_path / "blank.png"
    write_depth(source, np.full((120, 116), 255, np.uint8))
    outcome = reconstruct_job(Task(model8, "auto", False), Job(source, tmp_path / "o.png"))
    assert outcome.status == "failed" and outcome.message.startswith(f"{source}: every pixel")


def test_nothing_missing_is_done_with_a_note(tmp_path, model8, faces8):
    source = tmp_path / "full.png"
    write_depth(source, np.full((120, 116), 40, np.uint8))
    outcome = reconstruct_job(Task(model8, "auto", False), Job(source, tmp_path / "o.png"))
    assert outcome.status == "done" and "nothing missing" in outcome.message
    assert (read_depth(tmp_path / "o.png") == 40).all()


def test_a_jobs_mask_is_read_and_replaces_its_pixels(tmp_path, model8, faces8):
    source, mask_file = tmp_path / "a.png", tmp_path / "m" / "a.png"
    write_depth(source, faces8[0])
    mask = np.zeros((120, 116), np.uint8)
    mask[50:60, 40:50] = 255
    write_depth(mask_file, mask)
    outcome = reconstruct_job(Task(model8, "auto", False), Job(source, tmp_path / "o.png", mask=mask_file))
    assert outcome.status == "done"
    np.testing.assert_array_equal(read_depth(tmp_path / "o.png"), model8.reconstruct(faces8[0], mask=mask > 0))


def test_a_missing_mask_fails_its_file_naming_both(tmp_path, model8, faces8):
    source = tmp_path / "a.png"
    write_depth(source, faces8[0])
    outcome = reconstruct_job(Task(model8, "auto", False), Job(source, tmp_path / "o.png", mask=tmp_path / "m.png"))
    assert outcome.status == "failed" and outcome.message == f"{source}: its mask {tmp_path / 'm.png'} does not exist (--mask: a mask per input, at its relative path)"
    assert not (tmp_path / "o.png").exists()


def test_a_mask_of_another_size_fails_its_file_naming_both_sizes(tmp_path, model8, faces8):
    source = tmp_path / "a.png"
    write_depth(source, faces8[0])
    write_depth(tmp_path / "m.png", np.zeros((5, 6), np.uint8))
    outcome = reconstruct_job(Task(model8, "auto", False), Job(source, tmp_path / "o.png", mask=tmp_path / "m.png"))
    assert outcome.status == "failed" and "its mask" in outcome.message and "is 6x5; expected the image's size 116x120" in outcome.message


def test_an_unreadable_mask_fails_its_file(tmp_path, model8, faces8):
    source = tmp_path / "a.png"
    write_depth(source, faces8[0])
    (tmp_path / "m.png").write_bytes(b"not an image")
    outcome = reconstruct_job(Task(model8, "auto", False), Job(source, tmp_path / "o.png", mask=tmp_path / "m.png"))
    assert outcome.status == "failed" and outcome.message.startswith(f"{source}: its mask: ") and "not an image file" in outcome.message
