"""Notice push throughput (§1.6): notices delivered per second to a local receiver by 1, 2 and 4
worker processes.

    .venv/bin/python bench/notify.py [--db postgresql|sqlite] [--notices N] [--merchants M]
                                     [--workers 1,2,4] [--timeout S]

One run: a fresh database (PostgreSQL by default, `kessai_bench_<random>`, dropped at the end; SQLite:
a file in a temporary KESSAI_HOME), migrated; M sandbox merchants whose notification URL is a
receiver on 127.0.0.1 that answers `result=0` at once (uvicorn, in this process). For each worker
count: N card authorisations through the core (`kessai.core.payments.card.commands.authorize`, one
notice each, spread over the merchants), then that many worker *processes*, each looping the
delivery pass (`kessai.worker.outbox.Deliverer.deliver_once`) until nothing is pending, timed until
every notice is delivered or the run's time bound passes. Only 127.0.0.1 is ever targeted.

Then **one merchant, fast receiver** (`--one-merchant N`, 0 to leave it out): N notices of one
merchant, two per payment (authorisation and capture), pushed by one worker process running the
delivery loop exactly as `kessai worker` does (`DeliveryLoop`) to a receiver in a process of its
own (plain asyncio, keep-alive, answers `result=0` at once, so that it is not what is measured).
Printed: notices per second, the connections the receiver saw, and whether every payment's
notices arrived in order (payment_seq never going back).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support: the receiver and the server helper

from tests.support.receiver import Receiver  # noqa: E402
from tests.support.servers import serve_app  # noqa: E402

from kessai.app import Runtime, build_runtime  # noqa: E402
from kessai.config import Settings  # noqa: E402
from kessai.connectors.base import CardData  # noqa: E402
from kessai.core.context import MerchantRef  # noqa: E402
from kessai.core.merchants.commands import create_merchant  # noqa: E402
from kessai.core.notifications.models import Notice  # noqa: E402
from kessai.core.payments.card.commands import AuthorizeRequest, authorize, capture  # noqa: E402
from kessai.core.payments.refs import PaymentRef  # noqa: E402
from kessai.db.migrate import upgrade  # noqa: E402
from kessai.kit.secrets import CardNumber  # noqa: E402
from kessai.worker.outbox import Deliverer, DeliveryLoop  # noqa: E402

ADMIN_URL = os.environ.get(
    "KESSAI_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def main() -> None:
    args = _arguments()
    with tempfile.TemporaryDirectory() as home, _database(args.db, Path(home)) as url:
        settings = Settings(home=Path(home), database_url=url, notify_concurrency=8)
        runtime = build_runtime(settings)
        receiver = Receiver()
        with serve_app(receiver.app) as base_url:
            merchants = _merchants(runtime, args.merchants, base_url + "/notify")
            print(f"database {args.db}, {args.merchants} merchants, receiver {base_url}")
            rows = [_run(runtime, merchants, n, args) for n in args.workers]
        one = _one_merchant(runtime, args) if args.one_merchant else None
        runtime.engine.dispose()
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2 cores)")
    print("\nworkers (processes)  notices  seconds  notices/s")
    for workers, count, seconds in rows:
        print(f"{workers:>19}  {count:>7}  {seconds:>7.2f}  {count / seconds:>9.0f}")
    if one:
        count, seconds, connections, in_order = one
        print(
            f"\none merchant, fast receiver, 1 worker (delivery loop): {count} notices in "
            f"{seconds:.2f} s = {count / seconds:.0f}/s   target >= 500/s   "
            f"{'PASS' if count / seconds >= 500 else 'MISS'}\n"
            f"  receiver connections: {connections}; per-payment order kept: {in_order}"
        )


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--notices", type=int, default=1000)
    parser.add_argument("--merchants", type=int, default=8)
    parser.add_argument(
        "--workers", type=lambda s: [int(x) for x in s.split(",")], default=[1, 2, 4]
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="bound per worker count")
    parser.add_argument(
        "--one-merchant", type=int, default=2000, help="notices of the one-merchant phase (0: skip)"
    )
    return parser.parse_args()


@contextmanager
def _database(kind: str, home: Path) -> Iterator[str]:
    if kind == "sqlite":
        url = f"sqlite:///{home / 'bench.db'}"
        upgrade(url)
        yield url
        return
    name = f"kessai_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _merchants(runtime: Runtime, count: int, url: str) -> list[MerchantRef]:
    refs = []
    for _ in range(count):
        with runtime.core.sessions.begin() as session:
            new = create_merchant(
                session,
                secret=runtime.core.secret,
                now=runtime.core.clock.now(),
                name="bench",
                notification_url=url,
            )
        refs.append(MerchantRef(id=new.merchant_id, mode="sandbox"))
    return refs


def _run(
    runtime: Runtime, merchants: list[MerchantRef], workers: int, args: argparse.Namespace
) -> tuple[int, int, float]:
    _authorise(runtime, merchants, args.notices, tag=f"w{workers}")
    print(f"{workers} worker(s): {args.notices} notices pending, delivering…", flush=True)
    ctx = multiprocessing.get_context("spawn")
    stop, go, ready = ctx.Event(), ctx.Event(), ctx.Queue()
    procs = [_spawn(runtime.settings, stop, go, ready) for _ in range(workers)]
    for _ in procs:  # time the delivery, not the start-up of the processes
        ready.get(timeout=120)
    go.set()
    started = time.monotonic()
    try:
        seconds = _wait_delivered(runtime, started, args.timeout)
    finally:
        stop.set()
        for proc in procs:
            proc.join(30)
    done = _pending(runtime)
    if done:
        print(f"  bound of {args.timeout:.0f} s reached with {done} still pending")
    return workers, args.notices - done, seconds


def _authorise(runtime: Runtime, merchants: list[MerchantRef], count: int, tag: str) -> None:
    card = CardData(CardNumber("4900000000000000"), "1230")
    for i in range(count):
        request = AuthorizeRequest(trading_id=f"{tag}_{i}", amount=1000, card=card)
        authorize(runtime.core, merchants[i % len(merchants)], request)
        if (i + 1) % 500 == 0:
            print(f"  created {i + 1}/{count}", flush=True)


def _spawn(settings: Settings, *events: object) -> multiprocessing.process.BaseProcess:
    proc = multiprocessing.get_context("spawn").Process(
        target=_worker, args=(str(settings.home), str(settings.database_url), *events)
    )
    proc.start()
    return proc


def _worker(home: str, url: str, stop: Any, go: Any, ready: Any) -> None:
    """One worker process: its own runtime, pool and lease owner; passes until told to stop."""
    runtime = build_runtime(Settings(home=Path(home), database_url=url, notify_concurrency=8))
    with Deliverer(runtime.core, runtime.settings) as deliverer:
        ready.put(os.getpid())
        go.wait()
        while not stop.is_set():
            if not any(deliverer.deliver_once().values()):
                time.sleep(0.02)
    runtime.engine.dispose()


def _wait_delivered(runtime: Runtime, started: float, bound: float) -> float:
    last_print = started
    while (pending := _pending(runtime)) and time.monotonic() - started < bound:
        if time.monotonic() - last_print >= 2:
            print(f"  {pending} pending after {time.monotonic() - started:.1f} s", flush=True)
            last_print = time.monotonic()
        time.sleep(0.05)
    return time.monotonic() - started


def _pending(runtime: Runtime) -> int:
    with runtime.core.sessions() as session:
        statuses = ("pending", "delivering")
        query = select(func.count()).select_from(Notice).where(Notice.delivery_status.in_(statuses))
        return int(session.scalar(query) or 0)


# ---------------------------------------------------------------- one merchant, fast receiver


def _one_merchant(runtime: Runtime, args: argparse.Namespace) -> tuple[int, float, int, bool]:
    ctx = multiprocessing.get_context("spawn")
    stop, ready, results = ctx.Event(), ctx.Queue(), ctx.Queue()
    receiver = ctx.Process(target=_fast_receiver, args=(stop, ready, results))
    receiver.start()
    try:
        port = ready.get(timeout=30)
        [merchant] = _merchants(runtime, 1, f"http://127.0.0.1:{port}/notify")
        _authorise_and_capture(runtime, merchant, args.one_merchant // 2)
        count = _pending(runtime)
        print(f"one merchant: {count} notices pending, delivering…", flush=True)
        seconds = _deliver_with_loop(runtime, args.timeout)
    finally:
        stop.set()
        arrivals, connections = results.get(timeout=30)
        receiver.join(10)
    return count - _pending(runtime), seconds, connections, _in_order(arrivals)


def _authorise_and_capture(runtime: Runtime, merchant: MerchantRef, payments: int) -> None:
    card = CardData(CardNumber("4900000000000000"), "1230")
    for i in range(payments):
        request = AuthorizeRequest(trading_id=f"one_{i}", amount=1000, card=card)
        done = authorize(runtime.core, merchant, request)
        assert done.payment is not None
        capture(runtime.core, merchant, PaymentRef(payment_id=str(done.payment.payment_id)))
        if (i + 1) % 500 == 0:
            print(f"  created {2 * (i + 1)}/{2 * payments}", flush=True)


def _deliver_with_loop(runtime: Runtime, bound: float) -> float:
    ctx = multiprocessing.get_context("spawn")
    stop, go, ready = ctx.Event(), ctx.Event(), ctx.Queue()
    settings = runtime.settings
    proc = ctx.Process(
        target=_loop_worker,
        args=(str(settings.home), str(settings.database_url), stop, go, ready),
    )
    proc.start()
    ready.get(timeout=120)
    go.set()
    started = time.monotonic()
    try:
        return _wait_delivered(runtime, started, bound)
    finally:
        stop.set()
        proc.join(30)


def _loop_worker(home: str, url: str, stop: Any, go: Any, ready: Any) -> None:
    """The worker's delivery loop (as `kessai worker` runs it) until told to stop."""
    runtime = build_runtime(Settings(home=Path(home), database_url=url))
    loop = DeliveryLoop(runtime.core, runtime.settings)
    ready.put(os.getpid())
    go.wait()
    loop.start()
    stop.wait()
    loop.stop()
    runtime.engine.dispose()


def _in_order(arrivals: list[tuple[int, int]]) -> bool:
    """Every payment's notices arrived in payment_seq order (a repeat of the last one is allowed:
    delivery is at-least-once)."""
    last: dict[int, int] = {}
    for payment_id, seq in arrivals:
        if seq < last.get(payment_id, 0):
            return False
        last[payment_id] = seq
    return True


ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n\r\nresult=0\r\n"


def _fast_receiver(stop: Any, ready: Any, results: Any) -> None:
    """A merchant's receiver that costs almost nothing: HTTP/1.1 keep-alive, answers result=0,
    records (payment_id, payment_seq) in arrival order."""
    arrivals: list[tuple[int, int]] = []
    connections = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while head := await reader.readuntil(b"\r\n\r\n"):
                length = re.search(rb"(?i)content-length: *(\d+)", head)
                seq = re.search(rb"(?i)kessai-payment-seq: *(\d+)", head)
                body = await reader.readexactly(int(length.group(1)) if length else 0)
                payment = re.search(rb"(?:^|&)payment_id=(\d+)", body)
                if payment and seq:
                    arrivals.append((int(payment.group(1)), int(seq.group(1))))
                writer.write(ANSWER)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        ready.put(server.sockets[0].getsockname()[1])
        while not stop.is_set():
            await asyncio.sleep(0.1)
        server.close()

    asyncio.run(serve())
    results.put((arrivals, connections))


if __name__ == "__main__":
    main()
