"""Work that outlives its request: a reconciliation (消し込み) of a big order list runs on a
background thread of the console process, and the progress page polls it (rows read so far).

A job's state is a small JSON file under the var directory, rewritten (atomically) as it moves,
so the progress page is answered by any worker process of the machine (`kessai serve --workers
N`), not only by the one running the job. A job belongs to one user of one merchant: the file is
named by both, and `find` answers None for anyone else's, exactly as for one that does not exist.
A finished job's file is removed an hour after it ended; the result itself is in the database
(the reconciliation's history lists it). A job whose file has not moved for `STALE` (its process
ended mid-run: a restart) is reported as interrupted rather than running forever.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from kessai.kit.errors import KessaiError

log = logging.getLogger("kessai.console.jobs")

KEPT = timedelta(hours=1)  # a finished job's progress page answers this long
STALE = timedelta(minutes=30)  # a running job silent this long died with its process
THREADS = 2  # reconciliations running at once in one process; more wait their turn
INTERRUPTED = "処理が中断されました（サーバーの再起動など）。もう一度実行してください。"
FAILED = "システムエラーが発生しました。時間をおいて再度お試しください。"
_ID = re.compile(r"^[0-9a-f]{32}$")

Progress = Callable[[int], None]
Work = Callable[[Progress], int]  # runs the job, reporting rows read; the result's ID


@dataclass(frozen=True)
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
    """The background jobs of the console (one instance per console face and process)."""

    clock: Callable[[], datetime]
    directory: Path
    threads: int = THREADS
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None

    def start(self, *, merchant_id: int, user_id: int, file_name: str, work: Work) -> Job:
        """Queue `work`; the job is returned at once, its progress written as it runs."""
        self._forget_old()
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        job = Job(secrets.token_hex(16), merchant_id, user_id, file_name, self.clock())
        self._save(job)
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="reconcile")
            pool = self._pool
        pool.submit(self._run, job, work)
        return job

    def find(self, job_id: str, *, merchant_id: int, user_id: int) -> Job | None:
        """The user's job `job_id` as it stands now; None if it is not theirs or is gone."""
        if not _ID.match(job_id):
            return None
        return self._load(self._path(merchant_id, user_id, job_id))

    def running(self, *, merchant_id: int, user_id: int) -> Job | None:
        """The user's job still queued or running, if any (one at a time per user)."""
        for path in self.directory.glob(f"{merchant_id}-{user_id}-*.json"):
            job = self._load(path)
            if job is not None and job.running:
                return job
        return None

    def _run(self, job: Job, work: Work) -> None:
        job = replace(job, started=True)
        self._save(job)

        def progress(rows: int) -> None:
            nonlocal job
            job = replace(job, rows=rows)
            self._save(job)

        try:
            result_id = work(progress)  # before reading `job`: progress() rebinds it
            job = replace(job, result_id=result_id)
        except KessaiError as error:
            job = replace(job, error=error.message)
        except Exception:
            log.exception("reconciliation job %s failed", job.id)
            job = replace(job, error=FAILED)
        self._save(replace(job, ended_at=self.clock()))

    def _path(self, merchant_id: int, user_id: int, job_id: str) -> Path:
        return self.directory / f"{merchant_id}-{user_id}-{job_id}.json"

    def _save(self, job: Job) -> None:
        data: dict[str, Any] = asdict(job)
        data["queued_at"] = job.queued_at.isoformat()
        data["ended_at"] = job.ended_at.isoformat() if job.ended_at else None
        path = self._path(job.merchant_id, job.user_id, job.id)
        partial = path.with_suffix(f".{threading.get_ident()}.tmp")
        partial.write_text(json.dumps(data), encoding="utf-8")
        os.replace(partial, path)

    def _load(self, path: Path) -> Job | None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            moved = path.stat().st_mtime
        except (OSError, ValueError):
            return None
        job = Job(
            **{
                **data,
                "queued_at": datetime.fromisoformat(data["queued_at"]),
                "ended_at": datetime.fromisoformat(data["ended_at"]) if data["ended_at"] else None,
            }
        )
        if job.running and time.time() - moved > STALE.total_seconds():
            return replace(job, error=INTERRUPTED, ended_at=job.queued_at)
        return job

    def _forget_old(self) -> None:
        if not self.directory.is_dir():
            return
        cutoff = self.clock() - KEPT
        for path in self.directory.glob("*.json"):
            job = self._load(path)
            if job is not None and job.ended_at is not None and job.ended_at < cutoff:
                path.unlink(missing_ok=True)
