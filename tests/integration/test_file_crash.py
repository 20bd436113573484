"""A file worker killed (kill -9) in the middle of a file (issue #15): after a restart every line
is processed exactly once and no card is charged twice — counted at the acquirer simulator.

On PostgreSQL the worker runs its file lanes (`KESSAI_FILE_LANES=4`), each with its chunk's lines in
`GROUP_LINES` stripes side by side, so several lines are in flight when it dies — one per stripe
at most; SQLite runs one lane, one line at a time. Every cut-off line is then judged by the one
operation that names it: none, it ran again; settled (after the reconciler asked the acquirer),
that is its outcome. The line whose call the kill stopped, and any other whose call had not left,
end 2008 (never sent, as an authorisation timeout) — none is left on 9105, none runs twice.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kessai.app import Runtime, build_runtime, create_app
from kessai.config import Settings
from kessai.core.files import process
from kessai.core.files.models import PaymentFile, PaymentFileLine
from kessai.core.payments.models import Payment, PaymentOperation
from kessai.core.payments.settle import UNSETTLED_CODE
from kessai.simulators.acquirer.app import create_app as create_simulator
from kessai.worker.scheduler import run_periodic_jobs
from tests.conftest import TestClock, make_merchant
from tests.support.files import accepted, fetch_result, run_files
from tests.support.servers import serve_app

ROOT = Path(__file__).resolve().parents[2]
LINES = process.CHUNK_LINES * 3 + 10  # four chunks: one for each lane on PostgreSQL
SURVIVING_CALLS = 20  # the worker dies at the 21st line's acquirer call


@pytest.fixture(scope="module")
def simulator(clock: TestClock) -> Iterator[str]:
    with serve_app(create_simulator(clock)) as url:
        yield url


@pytest.fixture(scope="module")
def crash_runtime(
    database_url: str, home: Path, simulator: str, clock: TestClock
) -> Iterator[Runtime]:
    runtime = build_runtime(
        Settings(home=home, database_url=database_url, acquirer_url=simulator), clock=clock
    )
    yield runtime
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def crash_server(crash_runtime: Runtime) -> Iterator[str]:
    with serve_app(create_app(crash_runtime), http="h11") as url:
        yield url


def in_flight_per_lane(runtime: Runtime) -> int:
    """Lines a lane has in flight at once: one per stripe on PostgreSQL, one on SQLite."""
    return process.GROUP_LINES if runtime.engine.dialect.name == "postgresql" else 1


def lanes(runtime: Runtime) -> int:
    return 4 if runtime.engine.dialect.name == "postgresql" else 1


def run_dying_worker(runtime: Runtime) -> None:
    settings = runtime.settings
    env = {
        **os.environ,
        "KESSAI_HOME": str(settings.home),
        "KESSAI_DATABASE_URL": str(settings.database_url),
        "KESSAI_ACQUIRER_URL": str(settings.acquirer_url),
        "KESSAI_LOG_LEVEL": "WARNING",
        "KESSAI_FILE_LANES": str(lanes(runtime)),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.dying_files", str(SURVIVING_CALLS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == -9, done.stderr.decode(errors="replace")


def authorisations_seen(simulator: str) -> list[str]:
    response = httpx.get(f"{simulator}/control/operations")
    response.raise_for_status()
    body = response.json()
    operations = body["operations"] if isinstance(body, dict) else body
    return [str(op["idempotency_key"]) for op in operations if op["type"] == "authorization"]


def line_statuses(runtime: Runtime, receipt_id: str) -> dict[int, str]:
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(PaymentFileLine.line_no, PaymentFileLine.status)
            .join(PaymentFile, PaymentFile.id == PaymentFileLine.file_id)
            .where(PaymentFile.receipt_id == receipt_id)
        )
        return {int(line_no): str(status) for line_no, status in rows}


def operations_by_line(runtime: Runtime, receipt_id: str) -> dict[int, int]:
    """line number → how many operations name that line."""
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(PaymentFileLine.line_no, PaymentOperation.id)
            .join(PaymentFile, PaymentFile.id == PaymentFileLine.file_id)
            .join(PaymentOperation, PaymentOperation.file_line_id == PaymentFileLine.id)
            .where(PaymentFile.receipt_id == receipt_id)
        )
        found: dict[int, int] = {}
        for line_no, _ in rows:
            found[int(line_no)] = found.get(int(line_no), 0) + 1
        return found


def authorised_trading_ids(runtime: Runtime, keys: list[str]) -> list[str]:
    """The trading_id of each authorisation the acquirer saw, by its idempotency key."""
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Payment.trading_id)
                .join(PaymentOperation, PaymentOperation.payment_id == Payment.id)
                .where(PaymentOperation.idempotency_key.in_(keys))
            )
        )


def test_kill_9_mid_file_then_restart_runs_every_line_exactly_once(
    crash_runtime, crash_server, simulator, clock
):
    shop = make_merchant(crash_runtime, mode="production")
    before = len(authorisations_seen(simulator))
    rows = [f"KF{n},{100 + n},4900000000000000,1230" for n in range(LINES)]
    data = "trading_id,payment_amount,card_number,card_valid_term\r\n" + "\r\n".join(rows)
    receipt_id = accepted(crash_server, shop, "020", data)

    run_dying_worker(crash_runtime)
    after_crash = line_statuses(crash_runtime, receipt_id)
    done = [n for n, status in after_crash.items() if status == "done"]
    cut_off = sorted(n for n, status in after_crash.items() if status == "running")
    # Every call made was a line's: each is done, or running when the worker died (as is the line
    # whose call killed it); at most one line in flight per stripe of each lane.
    assert 1 <= len(cut_off) <= lanes(crash_runtime) * in_flight_per_lane(crash_runtime)
    assert len(done) <= SURVIVING_CALLS < len(done) + len(cut_off)
    assert fetch_result(crash_server, shop, receipt_id).code == "9103"

    reached = [n for n in cut_off if n in operations_by_line(crash_runtime, receipt_id)]
    clock.advance(process.STALE_RUNNING + process.STALE_CLAIM)  # the dead worker's leases end
    run_periodic_jobs(crash_runtime.core, crash_runtime.settings)  # the reconciler, as a pass does
    # Cut-off lines that had opened no operation run again, with the claimed rest.
    assert run_files(crash_runtime) == LINES - len(done) - len(reached)

    assert set(line_statuses(crash_runtime, receipt_id).values()) == {"done"}
    result = fetch_result(crash_server, shop, receipt_id)
    assert [int(record[0]) for record in result.data] == list(range(2, LINES + 2))
    codes = {int(record[0]): record[2] for record in result.data}
    assert "9105" not in codes.values()  # every cut-off line was settled by what it did
    never_sent = sorted(n for n, code in codes.items() if code)
    assert len(never_sent) >= 1 and set(never_sent) <= set(reached)  # the kill's own line, at least
    assert {codes[n] for n in never_sent} == {UNSETTLED_CODE}
    assert operations_by_line(crash_runtime, receipt_id) == dict.fromkeys(codes, 1)
    with crash_runtime.core.sessions() as session:
        trading_ids = list(
            session.scalars(
                select(Payment.trading_id).where(Payment.merchant_id == shop.merchant_id)
            )
        )
    assert sorted(trading_ids) == sorted(f"KF{n}" for n in range(LINES))  # one payment per line
    seen = authorisations_seen(simulator)[before:]
    assert len(seen) == len(set(seen))
    charged = authorised_trading_ids(crash_runtime, seen)
    assert len(charged) == len(seen) and len(set(charged)) == len(charged)  # no line charged twice
    # Every line reached the acquirer once, but those whose call never left (2008).
    assert len(seen) == LINES - len(never_sent)
