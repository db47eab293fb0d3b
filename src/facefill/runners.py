"""Runners: where a batch's jobs run. Each runs a list of jobs and reports each job's outcome,
by its index, as soon as it is known; the files written are the same whichever runs them.

``InProcess`` runs them here, one after the other; ``Processes`` on a pool of
worker processes on this machine; ``cluster.DaskRunner`` on a Dask cluster.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Callable, Protocol

from .jobs import FAILED, Job, Outcome, Task, reconstruct_job, reconstruct_jobs

#: Files per task sent to a worker: large enough to make the cost of sending a task small,
#: small enough to keep all workers busy to the end and the progress bar moving.
CHUNK_FILES = 8
#: Chunks in flight per worker: enough that none waits for its next one.
CHUNKS_IN_FLIGHT = 2

Record = Callable[[int, Outcome], None]


class Runner(Protocol):
    def run(self, task: Task, jobs: list[Job], record: Record) -> bool:
        """Run every job, passing ``record(index, outcome)`` each outcome; return whether a
        worker died on the way (its temporary files may be left)."""


def chunks(count: int, size: int = CHUNK_FILES) -> list[range]:
    """Index ranges of consecutive jobs, ``size`` at a time."""
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def available_cores() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class InProcess:
    """Runs the jobs in this process, in order."""

    def run(self, task: Task, jobs: list[Job], record: Record) -> bool:
        for index, job in enumerate(jobs):
            record(index, reconstruct_job(task, job))
        return False


class Processes:
    """Runs the jobs on ``workers`` processes, a few chunks in flight at a time.

    A worker that dies (killed, or crashed by a file) breaks the pool: the files
    then in flight are retried one at a time in a process of their own, so that
    only a file that kills its process again fails, and the rest go on in a new pool.
    """

    def __init__(self, workers: int):
        self.workers = workers

    def run(self, task: Task, jobs: list[Job], record: Record) -> bool:
        broken = False
        todo = [list(chunk) for chunk in chunks(len(jobs))][::-1]  # popped from the end, in order
        while todo:
            lost = self._run_until_a_worker_dies(task, jobs, todo, record)
            broken |= bool(lost)
            for index in sorted(lost):
                record(index, self._run_alone(task, jobs[index]))
        return broken

    def _run_until_a_worker_dies(self, task: Task, jobs: list[Job], todo: list[list[int]], record: Record) -> list[int]:
        """Run chunks from ``todo`` until it is empty or a worker dies; return the indices then lost."""
        lost: list[int] = []
        with _pool(self.workers, task) as pool:
            in_flight: dict = {}
            try:
                while todo or in_flight:
                    while todo and len(in_flight) < CHUNKS_IN_FLIGHT * self.workers:
                        chunk = todo.pop()
                        in_flight[pool.submit(_chunk_in_worker, [jobs[i] for i in chunk])] = chunk
                    done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in done:
                        chunk = in_flight.pop(future)
                        try:
                            results = future.result()
                        except BrokenProcessPool:
                            lost.extend(chunk)
                            continue
                        for index, outcome in zip(chunk, results):
                            record(index, outcome)
                    if lost:
                        lost.extend(i for chunk in in_flight.values() for i in chunk)
                        return lost
            except BaseException:
                pool.shutdown(wait=False, cancel_futures=True)
                raise
        return lost

    @staticmethod
    def _run_alone(task: Task, job: Job) -> Outcome:
        """One file in a process of its own: a file that kills its process fails alone."""
        with _pool(1, task) as pool:
            try:
                return pool.submit(_chunk_in_worker, [job]).result()[0]
            except BrokenProcessPool:
                return Outcome(job.source, FAILED, f"{job.source}: the worker process died while reconstructing it", job.target)


# A worker process's task, set once by the pool's initializer so that the model crosses to each
# worker once, not with every chunk. Only worker processes set or read it.
_worker_task: Task | None = None


def _start_worker(task: Task) -> None:
    global _worker_task
    _worker_task = task
    # Ctrl-C reaches every process of the terminal's group: the parent alone decides what
    # happens; a worker finishes its file (outputs are atomic) and is then stopped
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _chunk_in_worker(jobs: list[Job]) -> list[Outcome]:
    return reconstruct_jobs(_worker_task, jobs)


def _pool(workers: int, task: Task) -> ProcessPoolExecutor:
    # fork starts a worker at once with the model already in memory; elsewhere spawn
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    return ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start_worker, initargs=(task,))
