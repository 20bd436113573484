"""The console's background jobs: progress while running (readable by any process, since it is
kept in a file), the result or the error for people after, one user's job invisible to everyone
else, a job whose process died reported as interrupted, and finished jobs forgotten after an hour."""

from __future__ import annotations

import os
import threading
import time
from datetime import UTC, datetime, timedelta

from kessai.kit.errors import InvalidRequest
from kessai.web.console.jobs import INTERRUPTED, Job, Jobs, Progress

T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def ended(jobs: Jobs, job_id: str, merchant_id: int = 1, user_id: int = 1) -> Job:
    for _ in range(500):
        found = jobs.find(job_id, merchant_id=merchant_id, user_id=user_id)
        assert found is not None
        if not found.running:
            return found
        time.sleep(0.01)
    raise AssertionError("the job did not end")


def test_a_job_reports_rows_read_then_its_result_to_another_process(tmp_path):
    jobs, go, reported = Jobs(Clock(), tmp_path), threading.Event(), threading.Event()
    other_process = Jobs(Clock(), tmp_path)  # another worker: same directory, its own memory

    def work(progress: Progress) -> int:
        progress(10_000)
        reported.set()
        go.wait(5)
        progress(20_000)
        return 42

    job = jobs.start(merchant_id=1, user_id=1, file_name="orders.csv", work=work)
    assert reported.wait(5)
    seen = other_process.find(job.id, merchant_id=1, user_id=1)
    assert seen is not None and (seen.rows, seen.running, seen.result_id) == (10_000, True, None)
    assert other_process.running(merchant_id=1, user_id=1) == seen
    go.set()
    done = ended(other_process, job.id)
    assert (done.rows, done.result_id, done.error, done.file_name) == (20_000, 42, "", "orders.csv")
    assert other_process.running(merchant_id=1, user_id=1) is None


def test_another_user_or_merchant_finds_nothing(tmp_path):
    jobs = Jobs(Clock(), tmp_path)
    job = jobs.start(merchant_id=1, user_id=1, file_name="a.csv", work=lambda _p: 1)
    ended(jobs, job.id)
    assert jobs.find(job.id, merchant_id=1, user_id=2) is None
    assert jobs.find(job.id, merchant_id=2, user_id=1) is None
    assert jobs.find("0" * 32, merchant_id=1, user_id=1) is None
    assert jobs.find("../" + job.id, merchant_id=1, user_id=1) is None


def test_an_error_is_kept_for_people_and_an_unexpected_one_says_nothing_inside(tmp_path):
    jobs = Jobs(Clock(), tmp_path)

    def refused(_progress: Progress) -> int:
        raise InvalidRequest(message="3行目「金額」: 数字ではありません")

    def broken(_progress: Progress) -> int:
        raise RuntimeError("connection string postgresql://secret@db")

    first = jobs.start(merchant_id=1, user_id=1, file_name="a.csv", work=refused)
    second = jobs.start(merchant_id=1, user_id=2, file_name="b.csv", work=broken)
    assert ended(jobs, first.id).error == "3行目「金額」: 数字ではありません"
    failed = ended(jobs, second.id, user_id=2)
    assert "secret" not in failed.error and "システムエラー" in failed.error
    assert failed.result_id is None


def test_a_job_whose_process_died_is_interrupted_not_running_forever(tmp_path):
    jobs, go = Jobs(Clock(), tmp_path), threading.Event()
    job = jobs.start(merchant_id=1, user_id=1, file_name="a.csv", work=lambda _p: go.wait(5) and 1)
    path = next(tmp_path.glob(f"1-1-{job.id}.json"))
    deadline = (
        time.monotonic() + 10
    )  # its thread's first write (started) must not undo the backdating
    while '"started": true' not in path.read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))

    found = jobs.find(job.id, merchant_id=1, user_id=1)

    assert found is not None and not found.running and found.error == INTERRUPTED
    assert jobs.running(merchant_id=1, user_id=1) is None  # the user may run again
    go.set()


def test_a_finished_job_is_forgotten_after_an_hour(tmp_path):
    clock = Clock()
    jobs = Jobs(clock, tmp_path)
    old = jobs.start(merchant_id=1, user_id=1, file_name="a.csv", work=lambda _p: 1)
    ended(jobs, old.id)
    clock.now += timedelta(minutes=59)
    ended(jobs, jobs.start(merchant_id=1, user_id=1, file_name="b.csv", work=lambda _p: 2).id)
    assert jobs.find(old.id, merchant_id=1, user_id=1) is not None
    clock.now += timedelta(minutes=2)
    jobs.start(merchant_id=1, user_id=1, file_name="c.csv", work=lambda _p: 3)
    assert jobs.find(old.id, merchant_id=1, user_id=1) is None
