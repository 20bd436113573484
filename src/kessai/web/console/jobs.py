"""Work that outlives its request: a reconciliation (消し込み) of a big order list runs on a
background thread of the console process, and the progress page polls it (rows read so far).

A job belongs to one user of one merchant: `find` answers None for anyone else's, exactly as for
one that does not exist. Jobs are kept in this process's memory for an hour after they end; the
result itself is in the database (the reconciliation's history lists it from any process).
"""

from __future__ import annotations

import logging
import secrets
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from kessai.kit.errors import KessaiError

log = logging.getLogger("kessai.console.jobs")

KEPT = timedelta(hours=1)  # a finished job's progress page answers this long
THREADS = 2  # reconciliations running at once in one process; more wait their turn

Progress = Callable[[int], None]
Work = Callable[[Progress], int]  # runs the job, reporting rows read; the result's ID


@dataclass
class Job:
    """One background reconciliation: rows read so far, then its result or its error."""

    id: str
    merchant_id: int
    user_id: int
    file_name: str
    queued_at: datetime
    started: bool = False
    rows: int = 0
    result_id: int | None = None
    error: str = ""
    ended_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.ended_at is None


@dataclass
class Jobs:
    """The console process's background jobs (one instance per console face)."""

    clock: Callable[[], datetime]
    threads: int = THREADS
    _jobs: dict[str, Job] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None

    def start(self, *, merchant_id: int, user_id: int, file_name: str, work: Work) -> Job:
        """Queue `work`; the job is returned at once, its progress filled in as it runs."""
        job = Job(secrets.token_hex(16), merchant_id, user_id, file_name, self.clock())
        with self._lock:
            self._forget_old()
            self._jobs[job.id] = job
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="reconcile")
            pool = self._pool
        pool.submit(self._run, job, work)
        return job

    def find(self, job_id: str, *, merchant_id: int, user_id: int) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None or (job.merchant_id, job.user_id) != (merchant_id, user_id):
            return None
        return job

    def running(self, *, merchant_id: int, user_id: int) -> Job | None:
        """The user's job still queued or running, if any (one at a time per user)."""
        with self._lock:
            for job in self._jobs.values():
                if job.running and (job.merchant_id, job.user_id) == (merchant_id, user_id):
                    return job
        return None

    def _run(self, job: Job, work: Work) -> None:
        job.started = True

        def progress(rows: int) -> None:
            job.rows = rows

        try:
            job.result_id = work(progress)
        except KessaiError as error:
            job.error = error.message
        except Exception:
            log.exception("reconciliation job %s failed", job.id)
            job.error = "システムエラーが発生しました。時間をおいて再度お試しください。"
        finally:
            job.ended_at = self.clock()

    def _forget_old(self) -> None:
        cutoff = self.clock() - KEPT
        for job_id in [j.id for j in self._jobs.values() if j.ended_at and j.ended_at < cutoff]:
            del self._jobs[job_id]
