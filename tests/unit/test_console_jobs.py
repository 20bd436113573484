"""The console's background jobs: progress while running, the result or the error for people
after, one user's job invisible to everyone else, and finished jobs forgotten after an hour."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from kessai.kit.errors import InvalidRequest
from kessai.web.console.jobs import Jobs, Progress

T0 = datetime(2026, 12, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def wait_until_ended(jobs: Jobs, job_id: str, merchant_id: int = 1, user_id: int = 1) -> None:
    for _ in range(500):
        found = jobs.find(job_id, merchant_id=merchant_id, user_id=user_id)
        assert found is not None
        if not found.running:
            return
        threading.Event().wait(0.01)
    raise AssertionError("the job did not end")


def test_a_job_reports_rows_read_then_its_result():
    jobs, go, reported = Jobs(clock=Clock()), threading.Event(), threading.Event()

    def work(progress: Progress) -> int:
        progress(10_000)
        reported.set()
        go.wait(5)
        progress(20_000)
        return 42

    job = jobs.start(merchant_id=1, user_id=1, file_name="orders.csv", work=work)
    assert reported.wait(5)
    assert (job.rows, job.running, job.result_id) == (10_000, True, None)
    assert jobs.running(merchant_id=1, user_id=1) is job
    go.set()
    wait_until_ended(jobs, job.id)
    assert (job.rows, job.result_id, job.error) == (20_000, 42, "")
    assert jobs.running(merchant_id=1, user_id=1) is None


def test_another_user_or_merchant_finds_nothing():
    jobs = Jobs(clock=Clock())
    job = jobs.start(merchant_id=1, user_id=1, file_name="a.csv", work=lambda _p: 1)
    wait_until_ended(jobs, job.id)
    assert jobs.find(job.id, merchant_id=1, user_id=2) is None
    assert jobs.find(job.id, merchant_id=2, user_id=1) is None
    assert jobs.find("0" * 32, merchant_id=1, user_id=1) is None


def test_an_error_is_kept_for_people_and_an_unexpected_one_says_nothing_inside():
    jobs = Jobs(clock=Clock())

    def refused(_progress: Progress) -> int:
        raise InvalidRequest(message="3行目「金額」: 数字ではありません")

    def broken(_progress: Progress) -> int:
        raise RuntimeError("connection string postgresql://secret@db")

    first = jobs.start(merchant_id=1, user_id=1, file_name="a.csv", work=refused)
    second = jobs.start(merchant_id=1, user_id=1, file_name="b.csv", work=broken)
    wait_until_ended(jobs, first.id)
    wait_until_ended(jobs, second.id)
    assert first.error == "3行目「金額」: 数字ではありません" and first.result_id is None
    assert "secret" not in second.error and "システムエラー" in second.error


def test_a_finished_job_is_forgotten_after_an_hour():
    clock = Clock()
    jobs = Jobs(clock=clock)
    old = jobs.start(merchant_id=1, user_id=1, file_name="a.csv", work=lambda _p: 1)
    wait_until_ended(jobs, old.id)
    clock.now += timedelta(minutes=59)
    jobs.start(merchant_id=1, user_id=1, file_name="b.csv", work=lambda _p: 2)
    assert jobs.find(old.id, merchant_id=1, user_id=1) is old
    clock.now += timedelta(minutes=2)
    jobs.start(merchant_id=1, user_id=1, file_name="c.csv", work=lambda _p: 3)
    assert jobs.find(old.id, merchant_id=1, user_id=1) is None
