"""Batches on a Dask distributed cluster (the ``dask`` extra).

The workers read and write the files themselves, so every worker must see the
input and output paths (a shared file system); the model is sent to each worker
once and the tasks carry only paths.
"""

from __future__ import annotations

from .errors import MissingDependencyError, SchedulerError
from .jobs import FAILED, Job, Outcome, Task, reconstruct_jobs
from .runners import Record, chunks

#: Seconds to wait for the scheduler to answer before giving up on it.
CONNECT_TIMEOUT = 20


class DaskRunner:
    """Runs jobs on the Dask cluster whose scheduler is at ``address``."""

    def __init__(self, address: str, timeout: float = CONNECT_TIMEOUT):
        self.address = address
        self.timeout = timeout

    def run(self, task: Task, jobs: list[Job], record: Record) -> bool:
        try:
            from distributed import Client, as_completed
        except ImportError:
            raise MissingDependencyError(
                "--scheduler needs Dask distributed; install it with: pip install 'facefill[dask]'"
            ) from None
        from distributed.comm import resolve_address

        try:
            # a malformed address is refused before a client exists: a client that fails on one
            # is left behind and stalls the interpreter's exit for 40 s with a traceback
            resolve_address(self.address)
            client = Client(self.address, timeout=self.timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError, TypeError) as exc:
            raise SchedulerError(
                f"--scheduler {self.address!r}: cannot reach a Dask scheduler there ({type(exc).__name__}: {exc}); "
                "expected the address it prints at start, e.g. tcp://10.0.0.5:8786"
            ) from None
        with client:
            # the model goes as an argument of its own: Dask hands a scattered model to a task only there
            model = client.scatter(task.model, broadcast=True)
            futures = {
                client.submit(_run_chunk, model, task.method, task.overwrite, [jobs[i] for i in part], pure=False): part
                for part in chunks(len(jobs))
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
        return False


def _run_chunk(model, method: str, overwrite: bool, jobs: list[Job]) -> list[Outcome]:
    return reconstruct_jobs(Task(model, method, overwrite), jobs)
