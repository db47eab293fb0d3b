"""Fuzzing the image reader and the model loader: any bytes give an image or one of facefill's
own errors; never another exception, a hang or a crash."""

import io
from datetime import timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facefill.errors import FacefillError
from facefill.formats import read_depth, write_depth
from facefill.model import FaceModel
from facefill.synth import make_faces

FUZZ_SETTINGS = settings(
    max_examples=150,
    deadline=timedelta(seconds=5),  # "no hang": an input that takes seconds fails the test
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def _valid_files() -> dict[str, bytes]:
    face = make_faces(1, shape=(24, 20), seed=3)[0]
    files = {}
    for suffix, image in ((".png", face), (".tif", face), (".npy", face), (".tif", face.astype(np.float32))):
        buffer = io.BytesIO()
        if suffix == ".npy":
            np.save(buffer, image)
        else:
            from PIL import Image

            Image.fromarray(image).save(buffer, format="PNG" if suffix == ".png" else "TIFF")
        files.setdefault(suffix, buffer.getvalue())
    return files


VALID = _valid_files()


@st.composite
def mutated(draw, originals: dict[str, bytes]):
    """A valid file with bytes flipped, cut short or spliced: deep paths through the decoders."""
    suffix = draw(st.sampled_from(sorted(originals)))
    data = bytearray(originals[suffix])
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return suffix, bytes(data)


def _read(tmp_path, suffix, data):
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    try:
        image = read_depth(path)
    except FacefillError as exc:
        assert str(path) in str(exc)  # the message names the file
        return None
    assert image.ndim == 2 and image.size > 0
    return image


@FUZZ_SETTINGS
@given(st.sampled_from([".png", ".tif", ".npy"]), st.binary(max_size=2048))
def test_reader_on_arbitrary_bytes(tmp_path, suffix, data):
    _read(tmp_path, suffix, data)


@FUZZ_SETTINGS
@given(mutated(VALID))
def test_reader_on_damaged_images(tmp_path, case):
    _read(tmp_path, *case)


@pytest.fixture(scope="module")
def model_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.npz"
    FaceModel(n_components=2, noise=1.0, mirror_weight=0.5).fit(make_faces(4, shape=(24, 20), seed=4)).save(path)
    return path.read_bytes()


def _load(tmp_path, data):
    path = tmp_path / "fuzz.npz"
    path.write_bytes(data)
    try:
        model = FaceModel.load(path)
    except FacefillError as exc:
        assert str(path) in str(exc)
        return
    face = make_faces(1, shape=(24, 20), seed=5)[0]
    face[8:16, 5:12] = 255
    try:  # a model that loads either fills or says why not in its own words
        model.reconstruct(face)
    except FacefillError:
        pass


@FUZZ_SETTINGS
@given(st.binary(max_size=4096))
def test_model_loader_on_arbitrary_bytes(tmp_path, data):
    _load(tmp_path, data)


@FUZZ_SETTINGS
@given(data=st.data())
def test_model_loader_on_damaged_models(tmp_path, model_bytes, data):
    _, damaged = data.draw(mutated({".npz": model_bytes}))
    _load(tmp_path, damaged)


REPLACEMENTS = {
    "scalar": lambda a: np.array(3),
    "negative": lambda a: np.full(np.shape(a), -1.5),
    "nan": lambda a: np.full(np.shape(a), np.nan),
    "huge": lambda a: np.full(np.shape(a), 1e300),
    "wrong shape": lambda a: np.zeros((3, 5)),
    "text": lambda a: np.array("x"),
    "empty": lambda a: np.zeros(0),
}


@FUZZ_SETTINGS
@given(data=st.data())
def test_model_loader_on_models_with_wrong_fields(tmp_path, model_bytes, data):
    with np.load(io.BytesIO(model_bytes)) as npz:
        fields = {key: npz[key] for key in npz.files}
    for _ in range(data.draw(st.integers(1, 3))):
        name = data.draw(st.sampled_from(sorted(fields)))
        fields[name] = REPLACEMENTS[data.draw(st.sampled_from(sorted(REPLACEMENTS)))](fields[name])
    buffer = io.BytesIO()
    np.savez(buffer, **fields)
    _load(tmp_path, buffer.getvalue())


def test_written_files_survive_the_fuzz_helpers(tmp_path):
    # the fuzzers start from files facefill itself reads back
    for suffix, data in VALID.items():
        assert _read(tmp_path, suffix, data) is not None
    write_depth(tmp_path / "x.png", make_faces(1, shape=(24, 20), seed=3)[0])
