"""What the PostgreSQL driver costs a card telegram on the event loop, client side.

A card telegram on PostgreSQL (`kessai.db.loop`) checks out one connection and sends two
one-statement transactions (`kessai.db.session.one_statement`). This script sends the same pattern
from one process on uvloop, N clients at once, three ways, and prints the client's CPU per telegram
(`time.process_time`: this process only, not the database server's):

- **gateway**: the gateway's own code: `loop.run` (a greenlet), a checkout from the loop engine's
  pool (`loop_engine`, SQLAlchemy over async psycopg), and `one_statement` twice;
- **psycopg**: async psycopg alone, one connection per client kept in autocommit: the floor of the
  driver the gateway uses;
- **asyncpg**: asyncpg, one connection per client (`fetchrow`, its statement cache);
- **gateway on asyncpg**: the gateway's way (greenlet, the loop engine's pool, the engine's cursor
  events) with the loop engine on SQLAlchemy's asyncpg dialect and each statement a `fetchrow` on
  the driver: what moving the card telegrams' engine to asyncpg would save.

The statement has the parameter types of `OPEN_AUTHORIZATION` (bigint, integer, text, bytea, json,
timestamptz: 16 parameters) and returns one JSON row, like the lean statements, but writes nothing:
the figure is the driver's, not the storage's.

    .venv/bin/pip install -e '.[bench]'   # asyncpg, for the third column only
    .venv/bin/python bench/driver.py --telegrams 6000 --clients 4 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import psycopg
import uvloop
from sqlalchemy.engine import Connection

from kessai.db import loop
from kessai.db.session import one_statement

SQL = """\
SELECT json_build_object(
  'merchant_id', CAST(%(merchant_id)s AS bigint), 'trading_id', CAST(%(trading_id)s AS text),
  'site_id', CAST(%(site_id)s AS text), 'amount', CAST(%(amount)s AS integer),
  'key_id', CAST(%(key_id)s AS text), 'wrapped_key', length(CAST(%(wrapped_key)s AS bytea)),
  'nonce', length(CAST(%(nonce)s AS bytea)), 'ciphertext', length(CAST(%(ciphertext)s AS bytea)),
  'fingerprint', CAST(%(fingerprint)s AS text), 'masked', CAST(%(masked)s AS text),
  'brand', CAST(%(brand)s AS text), 'details', CAST(%(details)s AS json),
  'idempotency_key', CAST(%(idempotency_key)s AS text),
  'related_payment_id', CAST(%(related_payment_id)s AS bigint),
  'file_line_id', CAST(%(file_line_id)s AS bigint), 'created_at', CAST(%(now)s AS timestamptz)
) AS payment"""

NAMES = tuple(dict.fromkeys(re.findall(r"%\((\w+)\)s", SQL)))
POSITIONAL = re.sub(r"%\((\w+)\)s", lambda m: f"${NAMES.index(m[1]) + 1}", SQL)


def params(n: int) -> dict[str, Any]:
    return {
        "merchant_id": 30001,
        "trading_id": f"order{n}",
        "site_id": "",
        "amount": 1000,
        "key_id": "mk-20261207",
        "wrapped_key": bytes(40),
        "nonce": bytes(12),
        "ciphertext": bytes(32),
        "fingerprint": "f" * 64,
        "masked": "************0000",
        "brand": "VISA",
        "details": '{"card_valid_term": "1230", "payment_class": "10", "acq_id": "50001"}',
        "idempotency_key": f"k{n}",
        "related_payment_id": None,
        "file_line_id": None,
        "now": datetime.now(UTC),
    }


Telegram = Callable[[int], Awaitable[None]]


async def clocked(name: str, clients: list[Telegram], telegrams: int) -> tuple[str, float, float]:
    each = telegrams // len(clients)

    async def client(send: Telegram) -> None:
        for n in range(each):
            await send(n)

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(client(send) for send in clients))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    done = each * len(clients)
    return name, cpu / done * 1e6, done / wall


async def gateway_clients(dsn: str, count: int) -> tuple[list[Telegram], Callable[[], Any]]:
    engine = loop.loop_engine(dsn.replace("postgresql://", "postgresql+psycopg://", 1))
    assert engine is not None

    def telegram(n: int) -> None:
        with engine.sync_engine.connect() as connection:
            two_statements(connection, n)

    async def send(n: int) -> None:
        await loop.run(telegram, n)

    return [send] * count, engine.dispose


def two_statements(connection: Connection, n: int) -> None:
    for _ in range(2):
        one_statement(connection, SQL, params(n))


async def psycopg_clients(dsn: str, count: int) -> tuple[list[Telegram], Callable[[], Any]]:
    conns = [await psycopg.AsyncConnection.connect(dsn, autocommit=True) for _ in range(count)]

    def client(conn: psycopg.AsyncConnection[Any]) -> Telegram:
        async def send(n: int) -> None:
            for _ in range(2):
                cursor = conn.cursor()
                await cursor.execute(SQL, params(n))
                await cursor.fetchone()

        return send

    async def close() -> None:
        for conn in conns:
            await conn.close()

    return [client(conn) for conn in conns], close


async def asyncpg_clients(dsn: str, count: int) -> tuple[list[Telegram], Callable[[], Any]]:
    import asyncpg  # type: ignore[import-untyped,import-not-found,unused-ignore]

    conns = [await asyncpg.connect(dsn) for _ in range(count)]

    def client(conn: Any) -> Telegram:
        async def send(n: int) -> None:
            for _ in range(2):
                values = params(n)
                await conn.fetchrow(POSITIONAL, *(values[name] for name in NAMES))

        return send

    async def close() -> None:
        for conn in conns:
            await conn.close()

    return [client(conn) for conn in conns], close


async def gateway_asyncpg_clients(dsn: str, count: int) -> tuple[list[Telegram], Callable[[], Any]]:
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.util.concurrency import await_

    from kessai.db.session import engine_options

    options = {**engine_options(), "connect_args": {"timeout": 10}}  # asyncpg's name for it
    engine = create_async_engine(
        dsn.replace("postgresql://", "postgresql+asyncpg://", 1), **options
    )

    def telegram(n: int) -> None:
        with engine.sync_engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert driver is not None
            for _ in range(2):
                values = params(n)
                dispatch = connection.dispatch
                dispatch.before_cursor_execute(connection, None, SQL, values, None, False)
                await_(driver.fetchrow(POSITIONAL, *(values[name] for name in NAMES)))
                dispatch.after_cursor_execute(connection, None, SQL, values, None, False)

    async def send(n: int) -> None:
        await loop.run(telegram, n)

    return [send] * count, engine.dispose


async def main(options: argparse.Namespace) -> int:
    ways: list[tuple[str, Callable[[str, int], Awaitable[tuple[list[Telegram], Any]]]]] = [
        ("gateway", gateway_clients),
        ("psycopg", psycopg_clients),
    ]
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        print("asyncpg is not installed (pip install -e '.[bench]'): its column is left out")
    else:
        ways.append(("asyncpg", asyncpg_clients))
        ways.append(("gateway on asyncpg", gateway_asyncpg_clients))
    cpu: dict[str, list[float]] = {name: [] for name, _ in ways}
    rate: dict[str, list[float]] = {name: [] for name, _ in ways}
    for round_ in range(1, options.rounds + 1):
        for name, make in ways:  # the ways alternate within each round: the machine drifts
            clients, close = await make(options.dsn, options.clients)
            await clocked(name, clients, options.clients * 50)  # warm up: pool, prepared statements
            _, per, per_second = await clocked(name, clients, options.telegrams)
            result = close()
            if asyncio.iscoroutine(result):
                await result
            cpu[name].append(per)
            rate[name].append(per_second)
            print(
                f"[round {round_}/{options.rounds}] {name}: {per:.0f} us of client CPU per "
                f"telegram, {per_second:.0f} telegrams/s",
                flush=True,
            )
    base = statistics.median(cpu["gateway"])
    print()
    print(f"One telegram = one checkout + 2 one-statement transactions; {options.clients} clients")
    print(f"{'way':18} {'us CPU/telegram':>16} {'x gateway':>10} {'telegrams/s':>12}  (medians)")
    for name, _ in ways:
        median = statistics.median(cpu[name])
        print(
            f"{name:18} {median:16.0f} {median / base:10.2f} {statistics.median(rate[name]):12.0f}"
        )
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--telegrams", type=int, default=6000, help="per way and round")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(parse(sys.argv[1:]))))
