"""What the PostgreSQL driver costs a card telegram on the event loop, client side.

A card telegram on PostgreSQL (`kessai.db.loop`) checks out one connection and sends two
one-statement transactions (`kessai.db.session.one_statement`). This script sends the same pattern
from one process on uvloop, N clients at once, four ways, and prints the client's CPU per telegram
(`time.process_time`: this process only, not the database server's):

- **gateway, asyncpg**: the gateway's own code (`loop.run`, a greenlet; a checkout from the loop
  engine's pool, `loop_engine`; `one_statement` twice), on asyncpg, as for a plain URL;
- **gateway, psycopg**: the same code where the URL carries a libpq option asyncpg does not read,
  so that the loop engine stays on async psycopg;
- **asyncpg alone** and **psycopg alone**: the drivers with one connection per client and nothing
  around them (psycopg kept in autocommit): the floor of each.

The statement has the parameter types of `OPEN_AUTHORIZATION` (bigint, integer, text, bytea, json,
timestamptz: 16 parameters) and returns one JSON row, like the lean statements, but writes nothing:
the figure is the driver's, not the storage's.

    .venv/bin/python bench/driver.py --telegrams 6000 --clients 4 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import psycopg
import uvloop
from sqlalchemy.engine import Connection

from kessai.db import loop
from kessai.db.session import _positional, one_statement

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

POSITIONAL, NAMES = _positional(SQL)  # asyncpg's $n, as the gateway sends its statements


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


async def gateway_clients(url: str, count: int) -> tuple[list[Telegram], Callable[[], Any]]:
    engine = loop.loop_engine(url)
    assert engine is not None

    def telegram(n: int) -> None:
        with engine.sync_engine.connect() as connection:
            two_statements(connection, n)

    async def send(n: int) -> None:
        await loop.run(telegram, n)

    return [send] * count, engine.dispose


async def gateway_asyncpg(dsn: str, count: int) -> tuple[list[Telegram], Callable[[], Any]]:
    return await gateway_clients(dsn.replace("postgresql://", "postgresql+psycopg://", 1), count)


async def gateway_psycopg(dsn: str, count: int) -> tuple[list[Telegram], Callable[[], Any]]:
    url = dsn.replace("postgresql://", "postgresql+psycopg://", 1)
    return await gateway_clients(f"{url}?application_name=bench-driver", count)


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


async def main(options: argparse.Namespace) -> int:
    ways: list[tuple[str, Callable[[str, int], Awaitable[tuple[list[Telegram], Any]]]]] = [
        ("gateway, asyncpg", gateway_asyncpg),
        ("gateway, psycopg", gateway_psycopg),
        ("asyncpg alone", asyncpg_clients),
        ("psycopg alone", psycopg_clients),
    ]
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
    base = statistics.median(cpu["gateway, asyncpg"])
    print()
    print(f"One telegram = one checkout + 2 one-statement transactions; {options.clients} clients")
    print(f"{'way':18} {'us CPU/telegram':>16} {'x first':>10} {'telegrams/s':>12}  (medians)")
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
