"""On PostgreSQL the card operations' telegrams run on the event loop (`kessai.db.loop`): their
database I/O suspends the telegram, not the loop, and whatever else blocks leaves the loop."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest

from kessai.app import build_runtime, create_app
from kessai.config import Settings
from kessai.db import loop
from kessai.db.session import one_statement
from kessai.web.module.endpoint import TelegramFace
from tests.support.servers import serve_app
from tests.support.telegrams import OK_CARD, authorise, form_body, header, path_for, send

T = TypeVar("T")


@pytest.fixture
def where_telegrams_ran(monkeypatch):
    """Each telegram's kind, and whether its work ran on the event loop."""
    seen: list[tuple[str, bool]] = []
    original = TelegramFace.process

    def process(self, raw, *args):
        seen.append((raw.get("telegram_kind", ""), loop.on_loop()))
        return original(self, raw, *args)

    monkeypatch.setattr(TelegramFace, "process", process)
    return seen


def test_card_operations_run_on_the_loop_on_postgresql_only(
    server, merchant, runtime, where_telegrams_ran
):
    payment_id = authorise(server, merchant, "LP1").fields["payment_id"]
    assert send(server, merchant, "022", payment_id=payment_id).result == "0"
    assert send(server, merchant, "094", payment_id=payment_id).result == "0"
    on_postgresql = runtime.engine.dialect.name == "postgresql"
    assert where_telegrams_ran == [("020", on_postgresql), ("022", on_postgresql), ("094", False)]


def test_a_telegram_waiting_on_the_database_does_not_hold_the_others(server, merchant, runtime):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("the loop path is PostgreSQL's")

    # More telegrams at once than the loop's slots (4): each is answered, each its own payment.
    async def many() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server, timeout=30) as client:
            return await asyncio.gather(
                *(
                    client.post(path_for("020"), content=_body(merchant, f"LC{i}"))
                    for i in range(12)
                )
            )

    replies = _run(many())
    ids = {r.text.split("payment_id=")[1].split("\r\n")[0] for r in replies}
    assert all("result=0" in r.text for r in replies) and len(ids) == 12


def test_other_methods_are_refused_with_405(server):
    response = httpx.put(f"{server}{path_for('020')}", content=b"")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD, POST"


def _body(merchant, trading_id: str) -> bytes:
    return form_body(
        header(
            merchant,
            "020",
            trading_id=trading_id,
            payment_amount=1000,
            card_number=OK_CARD,
            card_valid_term="1230",
        )
    )


def test_blocking_calls_leave_the_loop_and_pauses_let_it_run():
    """`blocking` runs on a worker thread under `loop.run`, in the caller's thread elsewhere;
    `pause` there lets another task run meanwhile."""
    here = threading.get_ident()
    assert loop.blocking(threading.get_ident) == here  # not on the loop: called directly

    async def main() -> tuple[bool, list[str]]:
        order: list[str] = []
        loop_thread = threading.get_ident()

        def telegram() -> bool:
            elsewhere = loop.blocking(threading.get_ident) != loop_thread
            loop.pause(0.05)
            order.append("telegram")
            return elsewhere

        async def other() -> None:
            await asyncio.sleep(0.01)
            order.append("other")

        elsewhere, _ = await asyncio.gather(loop.run(telegram), other())
        return elsewhere, order

    started = time.monotonic()
    elsewhere, order = _run(main())
    assert elsewhere
    assert order == ["other", "telegram"]
    assert time.monotonic() - started < 5


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run` on a thread of its own (a browser test may leave a loop running on this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


# The loop engine reads the operator's URL as libpq does: asyncpg where its own parser takes every
# option of the URL, async psycopg (which reads them all) where it would not.
LOOP_URLS = [
    pytest.param("", "asyncpg", id="plain"),
    pytest.param("?sslmode=disable", "asyncpg", id="sslmode"),  # SQLAlchemy's dialect refuses it
    pytest.param("?application_name=kessai-loop-test", "psycopg", id="other-libpq-option"),
]


@pytest.mark.parametrize(("option", "driver"), LOOP_URLS)
def test_card_telegrams_work_on_either_loop_driver(
    runtime, home, clock, merchant, monkeypatch, where_telegrams_ran, option, driver
):
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("the loop path is PostgreSQL's")
    drivers: list[str] = []
    made = loop.loop_engine

    def recording(url: str) -> Any:
        engine = made(url)
        drivers.append(engine.dialect.driver if engine is not None else "")
        return engine

    monkeypatch.setattr(loop, "loop_engine", recording)
    settings = Settings(home=home, database_url=runtime.settings.database_url + option)
    other = build_runtime(settings, clock=clock)
    try:
        with serve_app(create_app(other), http="h11") as server:
            payment_id = authorise(server, merchant, f"LD{driver}{len(option)}").fields[
                "payment_id"
            ]
            assert send(server, merchant, "022", payment_id=payment_id).result == "0"
            status = send(server, merchant, "094", payment_id=payment_id).fields["payment_status"]
    finally:
        other.engine.dispose()
    assert drivers == [driver]
    assert where_telegrams_ran == [("020", True), ("022", True), ("094", False)]
    assert status == "40"


@pytest.mark.parametrize(("option", "driver"), LOOP_URLS)
def test_one_statement_answers_alike_on_either_loop_driver(runtime, option, driver):
    """The lean statements are written with psycopg's %(name)s; on asyncpg they are sent with $n:
    a repeated name, a literal %% and a JSON column come back as on psycopg."""
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("the loop path is PostgreSQL's")
    sql = (
        "SELECT CAST(%(n)s AS integer) + CAST(%(n)s AS integer), '100%%', "
        "CAST(%(doc)s AS json), CAST(%(at)s AS timestamptz), CAST(%(none)s AS bigint)"
    )
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    params = {"n": 2, "doc": '{"a": [1, "二"]}', "at": at, "none": None}

    async def main() -> tuple[Any, ...]:
        engine = loop.loop_engine(runtime.settings.database_url + option)
        assert engine is not None

        def statement() -> tuple[Any, ...]:
            with engine.sync_engine.connect() as connection:
                return tuple(one_statement(connection, sql, params))

        try:
            return await loop.run(statement)
        finally:
            await engine.dispose()

    assert _run(main()) == (4, "100%", {"a": [1, "二"]}, at, None)
