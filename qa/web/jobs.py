"""Writes as jobs: one worker thread, a bounded queue, progress anyone can poll.

Ingesting is CPU work that takes seconds to minutes. Run on the server's event
loop it froze every other request (``/healthz`` waited 33 s behind one upload);
run in an unbounded pool it would let a client queue unlimited work. So every
write the server accepts (REST or chat upload) becomes a ``Job`` run in order by
one worker thread, at most ``max_pending`` wait, and ``GET /api/jobs/{id}``
reports each one's progress and result.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

from qa.assistant import IngestReport, ProgressCallback
from qa.errors import QAError

Work = Callable[[ProgressCallback], IngestReport]


class QueueFull(QAError):
    """Too many writes are waiting; the client should retry later."""


@dataclass
class Job:
    """One write: where it stands, how far it got, and what it did."""

    id: str
    what: str
    status: str = "queued"  # queued → running → done | failed
    submitted: float = field(default_factory=time.time)
    done: int = 0
    total: int = 0
    current: str = ""
    report: dict[str, Any] | None = None
    error: str | None = None
    collection: str = "default"  # whose: only its writers may follow it

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "what": self.what,
            "status": self.status,
            "submitted": self.submitted,
            "progress": {"done": self.done, "total": self.total, "current": self.current},
            "report": self.report,
            "error": self.error,
        }


class JobQueue:
    """Runs writes one at a time off the event loop; remembers the latest ``keep``."""

    def __init__(self, max_pending: int = 8, keep: int = 200) -> None:
        self.max_pending = max_pending
        self.keep = keep
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-writer")
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._futures: dict[str, Future] = {}
        self._lock = threading.Lock()
        self._counter = itertools.count(1)

    def submit(self, what: str, work: Work, collection: str = "default") -> Job:
        """Queue ``work``; raises ``QueueFull`` when ``max_pending`` writes already wait."""
        with self._lock:
            waiting = sum(1 for job in self._jobs.values() if not job.finished)
            if waiting >= self.max_pending:
                raise QueueFull(
                    f"{waiting} writes are already waiting; try again when "
                    "one has finished (GET /api/jobs/{id} shows their progress)"
                )
            job = Job(
                id=f"{next(self._counter)}-{uuid.uuid4().hex[:8]}",
                what=what,
                collection=collection,
            )
            self._jobs[job.id] = job
            self._futures[job.id] = self._executor.submit(self._run, job, work)
            self._forget_old()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def wait_briefly(self, job: Job, seconds: float) -> None:
        """Block this (worker) thread until ``job`` finishes or ``seconds`` pass."""
        future = self._futures.get(job.id)
        if future is not None:
            try:
                future.result(seconds)
            except TimeoutError:
                pass

    async def wait(self, job: Job) -> Job:
        """Wait for ``job`` without blocking the event loop."""
        future = self._futures.get(job.id)
        if future is not None:
            await asyncio.wrap_future(future)
        return job

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    # ---------------------------------------------------------------------------------
    @staticmethod
    def _run(job: Job, work: Work) -> None:
        job.status = "running"

        def progress(done: int, total: int, current: str) -> None:
            job.done, job.total, job.current = done, total, current[:120]

        try:
            job.report = work(progress).to_dict()
            job.status = "done"
        except QAError as exc:
            job.error, job.status = str(exc), "failed"
        except Exception as exc:  # a bug must fail the job, never the worker thread
            job.error, job.status = f"internal error: {type(exc).__name__}: {exc}", "failed"

    def _forget_old(self) -> None:
        finished = [job_id for job_id, job in self._jobs.items() if job.finished]
        for job_id in finished[: max(0, len(self._jobs) - self.keep)]:
            self._jobs.pop(job_id, None)
            self._futures.pop(job_id, None)
