"""Batches on a Dask distributed cluster (the ``dask`` extra).

The workers read and write the files themselves, so every worker must see the
input and output paths (a shared file system); the model is sent to each worker
once and the tasks carry only paths.
"""

from __future__ import annotations

from typing import Callable

from .batch import FAILED, Job, Outcome, chunks, reconstruct_chunk
from .errors import MissingDependencyError, SchedulerError
from .model import FaceModel

#: Seconds to wait for the scheduler to answer before giving up on it.
CONNECT_TIMEOUT = 20


def run_on_cluster(
    address: str,
    model: FaceModel,
    jobs: list[Job],
    method: str,
    overwrite: bool,
    record: Callable[[int, Outcome], None],
) -> None:
    """Reconstruct ``jobs`` on the Dask cluster at ``address``, passing each file's outcome to ``record``."""
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise MissingDependencyError(
            "--scheduler needs Dask distributed; install it with: pip install 'facefill[dask]'"
        ) from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise SchedulerError(
            f"--scheduler {address!r}: cannot reach a Dask scheduler there ({type(exc).__name__}: {exc}); "
            "expected the address it prints at start, e.g. tcp://10.0.0.5:8786"
        ) from None
    with client:
        shared_model = client.scatter(model, broadcast=True)
        parts = chunks(len(jobs))
        futures = {
            client.submit(reconstruct_chunk, shared_model, [jobs[i] for i in part], method, overwrite, pure=False): part
            for part in parts
        }
        for future in as_completed(futures, loop=client.loop):
            part = futures[future]
            try:
                outcomes = future.result()
            except Exception as exc:  # noqa: BLE001 - a worker lost or a task failed outside facefill: fail its files only
                outcomes = [
                    Outcome(jobs[i].source, FAILED, f"{jobs[i].source}: the cluster could not run it ({type(exc).__name__}: {exc})", jobs[i].target)
                    for i in part
                ]
            for index, outcome in zip(part, outcomes):
                record(index, outcome)
