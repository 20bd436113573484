"""A process killed (SIGKILL) after an operation's write-ahead commit and before the acquirer call
(issue #11, item 4): the worker alone must bring the payment to a final, notified status, and the
merchant's PAYGENT retry (a new 020 for the same trading_id, 094 by trading_id) must then work.

Both ways the reconciler asks an acquirer are covered: a sandbox merchant's in-process stub and a
production merchant's acquirer simulator over HTTP. The dying process is `tests.support.dying_core`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kessai.app import Runtime, build_runtime, create_app
from kessai.config import Settings
from kessai.core.merchants.commands import NewMerchant
from kessai.core.notifications.models import Notice
from kessai.core.payments.carrier.states import CONSENT_WINDOW
from kessai.core.payments.models import Payment, PaymentOperation
from kessai.simulators.acquirer.app import create_app as create_simulator
from kessai.worker.scheduler import run_periodic_jobs
from tests.conftest import TestClock, make_merchant
from tests.support.carrier import apply as carrier_apply
from tests.support.dying_core import AMOUNT, CARD
from tests.support.servers import serve_app
from tests.support.telegrams import Reply, send

ROOT = Path(__file__).resolve().parents[2]
PAST_STALE = timedelta(minutes=2)  # a `sending` row is its dead owner's for 60 seconds


@pytest.fixture(scope="module")
def simulator(clock: TestClock) -> Iterator[str]:
    with serve_app(create_simulator(clock)) as url:
        yield url


@pytest.fixture(scope="module")
def crash_runtime(
    database_url: str, home: Path, simulator: str, clock: TestClock
) -> Iterator[Runtime]:
    settings = Settings(home=home, database_url=database_url, acquirer_url=simulator)
    runtime = build_runtime(settings, clock=clock)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def crash_server(crash_runtime: Runtime) -> Iterator[str]:
    with serve_app(create_app(crash_runtime), http="h11") as url:
        yield url


@pytest.fixture(params=["sandbox", "production"])
def shop(request: pytest.FixtureRequest, crash_runtime: Runtime) -> NewMerchant:
    return make_merchant(crash_runtime, mode=request.param)


def die_during(runtime: Runtime, shop: NewMerchant, operation: str, ref: str) -> None:
    """Run `operation` in a process of its own that is killed just before the acquirer call."""
    args = [operation, str(shop.merchant_id), shop.mode, ref]
    done = subprocess.run(
        [sys.executable, "-m", "tests.support.dying_core", *args],
        cwd=ROOT,
        env=_env_of(runtime),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == -9, done.stderr.decode(errors="replace")


def payments_of(runtime: Runtime, shop: NewMerchant, trading_id: str) -> list[Payment]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Payment)
                .where(Payment.merchant_id == shop.merchant_id, Payment.trading_id == trading_id)
                .order_by(Payment.id)
            )
        )


def operations_of(runtime: Runtime, payment_id: int) -> list[tuple[str, str]]:
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(PaymentOperation.kind, PaymentOperation.status)
            .where(PaymentOperation.payment_id == payment_id)
            .order_by(PaymentOperation.id)
        )
        return [(kind, status) for kind, status in rows]


def notified_statuses(runtime: Runtime, payment_id: int) -> list[str]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Notice.payment_status)
                .where(Notice.payment_id == payment_id)
                .order_by(Notice.payment_notice_id)
            )
        )


def authorise(server: str, shop: NewMerchant, trading_id: str) -> Reply:
    return send(
        server,
        shop,
        "020",
        trading_id=trading_id,
        payment_amount=AMOUNT,
        card_number=CARD,
        card_valid_term="1230",
    )


def authorisations_seen(simulator: str) -> set[str]:
    response = httpx.get(f"{simulator}/control/operations")
    response.raise_for_status()
    body = response.json()
    operations = body["operations"] if isinstance(body, dict) else body
    return {str(op["idempotency_key"]) for op in operations if op["type"] == "authorization"}


def test_authorisation_killed_before_the_acquirer_call_ends_failed_and_notified_by_the_worker(
    crash_runtime, crash_server, shop, clock
):
    die_during(crash_runtime, shop, "authorize", "KILL1")
    [stuck] = payments_of(crash_runtime, shop, "KILL1")
    assert stuck.status == "10"
    assert operations_of(crash_runtime, stuck.id) == [("authorize", "sending")]

    clock.advance(PAST_STALE)
    assert run_periodic_jobs(crash_runtime.core, crash_runtime.settings)["reconciled"] >= 1

    [failed] = payments_of(crash_runtime, shop, "KILL1")
    assert failed.status == "11"  # オーソリNG: the acquirer never saw it, so it did not authorise
    assert operations_of(crash_runtime, failed.id) == [("authorize", "not_sent")]
    assert notified_statuses(crash_runtime, failed.id) == ["11"]


def test_after_the_worker_failed_a_killed_authorisation_a_new_020_and_094_by_trading_id_work(
    crash_runtime, crash_server, shop, clock
):
    die_during(crash_runtime, shop, "authorize", "KILL2")
    clock.advance(PAST_STALE)
    run_periodic_jobs(crash_runtime.core, crash_runtime.settings)
    [failed] = payments_of(crash_runtime, shop, "KILL2")

    inquiry = send(crash_server, shop, "094", trading_id="KILL2")
    assert (inquiry.result, inquiry["payment_status"]) == ("0", "11"), inquiry.fields

    retry = authorise(crash_server, shop, "KILL2")  # PAYGENT: after an auth error, a new payment
    assert retry.result == "0", retry.fields
    assert retry["payment_id"] != str(failed.id)
    inquiry = send(crash_server, shop, "094", trading_id="KILL2")
    assert inquiry.result == "0", inquiry.fields
    assert (inquiry["payment_id"], inquiry["payment_status"]) == (retry["payment_id"], "20")
    assert [p.status for p in payments_of(crash_runtime, shop, "KILL2")] == ["11", "20"]


@pytest.mark.parametrize(
    ("operation", "kind", "sales_mode", "before", "after"),
    [
        ("capture", "022", "0", "20", "40"),
        ("void", "021", "0", "20", "32"),
        ("refund", "023", "1", "40", "60"),
    ],
)
def test_follow_up_killed_before_the_acquirer_call_leaves_the_payment_as_it_was(
    crash_runtime, crash_server, shop, clock, operation, kind, sales_mode, before, after
):
    trading_id = f"KILL3{operation}"
    authorised = send(
        crash_server,
        shop,
        "020",
        trading_id=trading_id,
        payment_amount=AMOUNT,
        card_number=CARD,
        card_valid_term="1230",
        sales_mode=sales_mode,
    )
    payment_id = authorised["payment_id"]
    die_during(crash_runtime, shop, operation, payment_id)
    clock.advance(PAST_STALE)
    run_periodic_jobs(crash_runtime.core, crash_runtime.settings)

    [payment] = payments_of(crash_runtime, shop, trading_id)
    assert payment.status == before  # nothing reached the acquirer: as last notified
    assert operations_of(crash_runtime, payment.id)[-1] == (operation, "not_sent")
    assert notified_statuses(crash_runtime, payment.id) == [before]
    assert send(crash_server, shop, kind, payment_id=payment_id).result == "0"  # sent again
    assert send(crash_server, shop, "094", trading_id=trading_id)["payment_status"] == after


def test_carrier_approval_killed_before_the_carrier_call_ends_abandoned_by_the_worker(
    crash_runtime, crash_server, clock
):
    """The carrier twin: the approval the carrier never saw leaves the payment 10, where the buyer
    may approve again, until the consent window closes and the worker ends it 15 (notified)."""
    shop = make_merchant(crash_runtime)
    applied = carrier_apply(crash_server, shop, trading_id="KILL5")
    assert applied.result == "0", applied.fields
    die_during(crash_runtime, shop, "approve", applied["payment_id"])
    clock.advance(PAST_STALE)
    run_periodic_jobs(crash_runtime.core, crash_runtime.settings)
    [payment] = payments_of(crash_runtime, shop, "KILL5")
    assert (payment.status, operations_of(crash_runtime, payment.id)) == (
        "10",
        [("authorize", "not_sent")],
    )

    clock.advance(CONSENT_WINDOW)
    run_periodic_jobs(crash_runtime.core, crash_runtime.settings)
    [payment] = payments_of(crash_runtime, shop, "KILL5")
    assert payment.status == "15"
    assert notified_statuses(crash_runtime, payment.id) == ["15"]


def test_the_simulator_never_saw_a_killed_authorisation(crash_runtime, simulator, clock):
    shop = make_merchant(crash_runtime, mode="production")
    before = authorisations_seen(simulator)
    die_during(crash_runtime, shop, "authorize", "KILL4")
    clock.advance(PAST_STALE)
    run_periodic_jobs(crash_runtime.core, crash_runtime.settings)
    assert authorisations_seen(simulator) == before
    [failed] = payments_of(crash_runtime, shop, "KILL4")
    assert failed.status == "11"


def test_one_payment_the_reconciler_cannot_settle_does_not_stop_the_others(
    crash_runtime, database_url, home, clock, log_file
):
    """An operator removed KESSAI_ACQUIRER_URL while a production authorisation was unsettled:
    asking about it fails (P007, no acquirer) on every pass, but the sandbox payment behind it and
    the rest of the worker's jobs must still go on."""
    production = make_merchant(crash_runtime, mode="production")
    sandbox = make_merchant(crash_runtime, mode="sandbox")
    die_during(crash_runtime, production, "authorize", "KILL-NOACQ")
    die_during(crash_runtime, sandbox, "authorize", "KILL-AFTER")
    without_acquirer = build_runtime(Settings(home=home, database_url=database_url), clock=clock)
    try:
        clock.advance(PAST_STALE)
        done = run_periodic_jobs(without_acquirer.core, without_acquirer.settings)
    finally:
        without_acquirer.engine.dispose()

    assert "purged" in done  # the pass went on to its other jobs
    [unanswered] = payments_of(crash_runtime, production, "KILL-NOACQ")
    assert operations_of(crash_runtime, unanswered.id) == [("authorize", "sending")]
    [settled] = payments_of(crash_runtime, sandbox, "KILL-AFTER")
    assert settled.status == "11"
    assert f"payment {unanswered.id}" in log_file.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["020", "022"])
def test_a_card_telegram_killed_inside_the_server_is_settled_by_the_worker(
    crash_runtime, crash_server, shop, clock, kind
):
    """The same crash inside `kessai serve`'s app: on PostgreSQL the card telegrams run on the
    event loop (`kessai.db.loop`), and their write-ahead row must be there for the worker."""
    trading_id = f"KILL7{kind}"
    payment_id = ""
    if kind == "022":
        payment_id = authorise(crash_server, shop, trading_id)["payment_id"]
    port = _free_port()
    dying = subprocess.Popen(
        [sys.executable, "-m", "tests.support.dying_core", "serve", str(port)],
        cwd=ROOT,
        env=_env_of(crash_runtime),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_until_up(port, dying)
        with pytest.raises(httpx.TransportError):  # the server died mid-telegram
            if kind == "020":
                authorise(f"http://127.0.0.1:{port}", shop, trading_id)
            else:
                send(f"http://127.0.0.1:{port}", shop, "022", payment_id=payment_id)
        assert dying.wait(timeout=30) == -9, dying.stderr.read() if dying.stderr else ""
    finally:
        dying.kill()
        dying.wait()

    [payment] = payments_of(crash_runtime, shop, trading_id)
    operation = "authorize" if kind == "020" else "capture"
    assert operations_of(crash_runtime, payment.id)[-1] == (operation, "sending")
    clock.advance(PAST_STALE)
    run_periodic_jobs(crash_runtime.core, crash_runtime.settings)

    [payment] = payments_of(crash_runtime, shop, trading_id)
    assert operations_of(crash_runtime, payment.id)[-1] == (operation, "not_sent")
    final = "11" if kind == "020" else "20"  # refused; or as it was, the capture never sent
    assert payment.status == final
    assert notified_statuses(crash_runtime, payment.id)[-1] == final


def _env_of(runtime: Runtime) -> dict[str, str]:
    """The gateway's environment for a dying process of its own (`tests.support.dying_core`)."""
    settings = runtime.settings
    return {
        **os.environ,
        "KESSAI_HOME": str(settings.home),
        "KESSAI_DATABASE_URL": str(settings.database_url),
        "KESSAI_ACQUIRER_URL": str(settings.acquirer_url),
        "KESSAI_LOG_LEVEL": "WARNING",
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_up(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the dying server did not start")
