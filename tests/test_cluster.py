"""Batches on a Dask cluster: a LocalCluster writes what one process writes."""

import contextlib
import socket
import subprocess
import sys

import pytest

from facefill import batch
from facefill.errors import MissingDependencyError, SchedulerError
from facefill.formats import write_depth

from .conftest import with_hole

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def local_cluster():
    # Dask's default dashboard port, held busy here: the cluster must not need it (with
    # dashboard_address=None it warned "Port 8787 is already in use", an error under pytest's settings)
    busy = socket.socket()
    with contextlib.suppress(OSError):  # in use already: busy all the same
        busy.bind(("", 8787))
        busy.listen()
    try:
        with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as running:
            yield running
    finally:
        busy.close()


@pytest.fixture()
def model(model8):
    return model8


def _tree(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_cluster_writes_the_same_bytes_and_summary_as_one_process(tmp_path, model, faces8, local_cluster):
    for i in range(12):
        write_depth(tmp_path / "in" / f"p{i % 3}" / f"{i}.png", with_hole(faces8[i % 8], slice(45, 70), slice(20 + i, 60), 255))
    (tmp_path / "in" / "p0" / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    serial = batch.reconstruct_files(model, batch.plan_outputs(tmp_path / "in", tmp_path / "serial"))
    on_cluster = batch.reconstruct_files(
        model, batch.plan_outputs(tmp_path / "in", tmp_path / "cluster"), scheduler=local_cluster.scheduler_address
    )
    assert _tree(tmp_path / "cluster") == _tree(tmp_path / "serial")
    assert len(_tree(tmp_path / "serial")) == 12
    assert [(o.source, o.status, o.message) for o in on_cluster.outcomes] == [
        (o.source, o.status, o.message) for o in serial.outcomes
    ]


def test_an_address_without_a_scheduler_is_a_clear_error(tmp_path, model):
    with pytest.raises(SchedulerError, match="--scheduler 'tcp://127.0.0.1:9': cannot reach a Dask scheduler there"):
        batch.reconstruct_files(
            model, [(tmp_path / "a.png", tmp_path / "b.png")], scheduler="tcp://127.0.0.1:9", connect_timeout=0.2
        )


def test_without_dask_the_error_names_the_extra(tmp_path, model, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(MissingDependencyError, match=r"pip install 'facefill\[dask\]'"):
        batch.reconstruct_files(model, [], scheduler="tcp://127.0.0.1:9")


def test_cli_scheduler_option_runs_the_batch_on_the_cluster(tmp_path, model, faces8, local_cluster):
    from typer.testing import CliRunner

    from facefill.cli import app

    model.save(tmp_path / "m.npz")
    for i in range(3):
        write_depth(tmp_path / "in" / f"{i}.png", with_hole(faces8[i], slice(45, 70), slice(20, 60), 255))
    args = ["reconstruct", str(tmp_path / "in"), "--model", str(tmp_path / "m.npz")]
    serial = CliRunner().invoke(app, args + ["--out", str(tmp_path / "serial"), "--workers", "1"])
    result = CliRunner().invoke(app, args + ["--out", str(tmp_path / "cluster"), "--scheduler", local_cluster.scheduler_address])
    assert serial.exit_code == 0 and result.exit_code == 0, result.stderr
    assert "reconstructed 3, skipped 0, failed 0" in result.stdout
    assert _tree(tmp_path / "cluster") == _tree(tmp_path / "serial")


def test_a_malformed_scheduler_address_is_one_error_line_at_once(tmp_path, model, faces8):
    write_depth(tmp_path / "in" / "a.png", with_hole(faces8[0], slice(45, 70), slice(20, 60), 255))
    model.save(tmp_path / "m.npz")
    command = [sys.executable, "-m", "facefill", "reconstruct", tmp_path / "in", "--out", tmp_path / "o"]
    command += ["--model", tmp_path / "m.npz", "--scheduler", "not a url"]
    # a client left behind by the failed address stalled the exit for 40 s with a traceback
    result = subprocess.run(list(map(str, command)), capture_output=True, text=True, timeout=20, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: --scheduler 'not a url': cannot reach a Dask scheduler there")
    assert len(result.stderr.splitlines()) == 1
