"""A production-mode merchant whose acquirer (the simulator, over HTTP) times out or is unreachable:
the payment is left in a state that a later inquiry or retry resolves, and nothing is charged twice."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from kessai.app import Runtime, build_runtime, create_app
from kessai.config import Settings
from kessai.core.merchants.commands import NewMerchant
from kessai.simulators.acquirer.app import create_app as create_simulator
from tests.conftest import TestClock, make_merchant
from tests.support.servers import serve_app
from tests.support.telegrams import send

CARD = "4900000000000000"


class Simulator:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def next(self, action: str, *, delay_ms: int = 0) -> None:
        httpx.post(
            f"{self.base_url}/control/next",
            json={"action": action, "delay_ms": delay_ms, "count": 1},
        ).raise_for_status()

    def operations(self) -> list[dict[str, object]]:
        response = httpx.get(f"{self.base_url}/control/operations")
        response.raise_for_status()
        body = response.json()
        return list(body["operations"] if isinstance(body, dict) else body)


@pytest.fixture(scope="module")
def simulator(clock: TestClock) -> Iterator[Simulator]:
    with serve_app(create_simulator(clock)) as url:
        yield Simulator(url)


@pytest.fixture(scope="module")
def outage_runtime(
    database_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    simulator: Simulator,
    clock: TestClock,
    home: Path,
) -> Iterator[Runtime]:
    settings = Settings(
        home=home, database_url=database_url, acquirer_url=simulator.base_url, acquirer_timeout=0.5
    )
    runtime = build_runtime(settings, clock=clock)
    yield runtime
    runtime.engine.dispose()


@pytest.fixture(scope="module")
def outage_server(outage_runtime: Runtime) -> Iterator[str]:
    with serve_app(create_app(outage_runtime), http="h11") as url:
        yield url


@pytest.fixture
def shop(outage_runtime: Runtime) -> NewMerchant:
    return make_merchant(outage_runtime, mode="production")


def authorise(server: str, shop: NewMerchant, trading_id: str):
    return send(
        server,
        shop,
        "020",
        trading_id=trading_id,
        payment_amount=4321,
        card_number=CARD,
        card_valid_term="1230",
    )


def performed(simulator: Simulator, kind: str) -> int:
    return sum(1 for op in simulator.operations() if op["type"] == kind)


def test_production_merchant_is_served_by_the_acquirer_over_http(outage_server, shop, simulator):
    before = performed(simulator, "authorization")
    assert authorise(outage_server, shop, "HTTP1").result == "0"
    assert performed(simulator, "authorization") == before + 1


def test_timed_out_authorisation_is_settled_by_the_next_inquiry(outage_server, shop, simulator):
    simulator.next("delay", delay_ms=1500)
    reply = authorise(outage_server, shop, "SLOW1")
    assert (reply.result, reply.code) == ("1", "2008")
    inquiry = send(outage_server, shop, "094", trading_id="SLOW1")
    assert inquiry.result == "0", inquiry.fields
    assert inquiry["payment_status"] == "20"  # the acquirer did authorise: we learnt it by lookup


def test_unreachable_acquirer_fails_the_authorisation_and_a_retry_works(
    outage_server, shop, simulator
):
    before = performed(simulator, "authorization")
    simulator.next("not_sent")
    assert authorise(outage_server, shop, "DOWN1").code == "2008"
    # Nothing reached the acquirer: オーソリNG, final (not 10 waiting for an answer that never comes).
    assert send(outage_server, shop, "094", trading_id="DOWN1")["payment_status"] == "11"
    assert performed(simulator, "authorization") == before
    assert authorise(outage_server, shop, "DOWN2").result == "0"


def test_capture_whose_answer_is_lost_is_captured_once(outage_server, shop, simulator):
    pid = authorise(outage_server, shop, "CAP1")["payment_id"]
    before = performed(simulator, "capture")
    simulator.next("delay", delay_ms=1500)
    assert send(outage_server, shop, "022", payment_id=pid).code == "2008"
    retry = send(outage_server, shop, "022", payment_id=pid)
    assert retry.result == "0", retry.fields
    assert send(outage_server, shop, "094", payment_id=pid)["payment_status"] == "40"
    assert performed(simulator, "capture") == before + 1


def test_resent_authorisation_while_the_first_is_unsettled_answers_9005(
    outage_server, shop, simulator
):
    before = performed(simulator, "authorization")
    simulator.next("delay", delay_ms=1500)
    assert authorise(outage_server, shop, "AGAIN1").code == "2008"
    resent = authorise(outage_server, shop, "AGAIN1")
    assert (resent.result, resent.code) == ("1", "9005")
    assert send(outage_server, shop, "094", trading_id="AGAIN1")["payment_status"] == "20"
    assert performed(simulator, "authorization") == before + 1


def test_process_dying_mid_call_leaves_a_row_the_reconciler_settles(outage_runtime, clock):
    """The acquirer authorised, then the process died before transaction 2: the operation stays
    `sending` until the reconciler asks the acquirer and applies what it learns."""
    from dataclasses import replace

    from kessai.connectors.base import CardData
    from kessai.core.context import MerchantRef
    from kessai.core.payments.card import commands
    from kessai.core.payments.card.commands import AuthorizeRequest
    from kessai.core.payments.refs import PaymentRef
    from kessai.kit.secrets import CardNumber
    from kessai.worker.scheduler import run_jobs_once

    shop = make_merchant(outage_runtime, mode="production")
    merchant = MerchantRef(id=shop.merchant_id, mode="production")
    real = outage_runtime.core.acquirer_for(merchant)

    class DiesAfterCalling:
        name = "dies"

        def authorize(self, **kwargs):  # type: ignore[no-untyped-def]
            real.authorize(**kwargs)
            raise SystemExit("killed")  # nothing after the call runs, as in a crash

    dying = replace(outage_runtime.core, acquirer_for=lambda _m: DiesAfterCalling())
    with pytest.raises(SystemExit):
        commands.authorize(
            dying,
            merchant,
            AuthorizeRequest(
                trading_id="CRASH1", amount=1000, card=CardData(CardNumber(CARD), "1230")
            ),
        )
    view = commands.inquire(outage_runtime.core, merchant, PaymentRef(trading_id="CRASH1"))
    assert view.status == "10"  # a fresh `sending` row is left to its (dead) owner
    clock.advance(timedelta(minutes=2))
    assert run_jobs_once(outage_runtime.core, outage_runtime.settings)["reconciled"] >= 1
    view = commands.inquire(outage_runtime.core, merchant, PaymentRef(trading_id="CRASH1"))
    assert view.status == "20"


def test_reconciler_backs_off_while_the_acquirer_cannot_answer(
    outage_server, outage_runtime, shop, simulator, clock
):
    from sqlalchemy import select

    from kessai.core.payments.models import Payment
    from kessai.worker.scheduler import run_jobs_once

    def status() -> str:
        with outage_runtime.core.sessions() as session:
            return session.scalars(
                select(Payment.status).where(
                    Payment.merchant_id == shop.merchant_id, Payment.trading_id == "BACKOFF1"
                )
            ).one()

    simulator.next("delay", delay_ms=1500)
    assert authorise(outage_server, shop, "BACKOFF1").code == "2008"  # operation `unknown`
    clock.advance(timedelta(minutes=2))
    run_jobs_once(outage_runtime.core, outage_runtime.settings)
    assert status() == "10"  # not asked again yet: the first retry is 5 minutes on
    clock.advance(timedelta(minutes=4))
    run_jobs_once(outage_runtime.core, outage_runtime.settings)
    assert status() == "20"  # asked, and the acquirer had authorised it
