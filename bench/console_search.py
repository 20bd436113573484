"""The console's search and CSV export on a million payments.

    .venv/bin/python bench/console_search.py [--db postgresql|sqlite] [--payments 1000000]
                                             [--rounds 40] [--json FILE]

One run: a fresh database (dropped at the end), `kessai migrate`, a merchant and a console user
created through the core, `--payments` payments of that merchant written straight into the table
(COPY on PostgreSQL) spread over the last 365 days — 70 % card, 20 % CVS, 10 % ATM, with statuses,
amounts, deadlines and payment dates as those methods have them — then ANALYZE. `kessai serve`
runs as a subprocess on a free port of 127.0.0.1 (certificates off: this measures the search, not
TLS); the bench signs in over HTTP as a browser would.

1. **Searches**: typical searches from the console's form, each `--rounds` times with varying
   values, timed end to end (HTTP request → the rendered page of 50 rows with "N件中 M件を表示").
   Reported per kind and over all: p50 and p95 milliseconds. Target: p95 ≤ 150 ms.
2. **CSV export**: the whole year (every payment) as Shift_JIS, streamed and counted by the client;
   reported: rows, seconds, rows per second, and the server's peak resident memory during the
   export (VmHWM, reset just before through /proc/PID/clear_refs) next to its memory before it.

Only 127.0.0.1 is ever contacted; every phase is bounded and stops by itself.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

HOST = "127.0.0.1"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
P95_TARGET_MS = 150.0
CHAINS = ("00C001", "00C002", "00C004", "00C005", "00C014", "00C016")
ACQUIRERS = (("99661", "三井住友カード"), ("99662", "JCB"), ("99663", "三菱UFJニコス"))
PASSWORD = "Sokutei-2026-kessai"


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


# ---------------------------------------------------------------- data


def payment_rows(
    merchant_id: int, count: int, now: datetime, rng: random.Random
) -> Iterator[tuple[Any, ...]]:
    """(merchant_id, trading_id, site_id, payment_type, amount, status, institution_code,
    institution_name, details, created_at, updated_at, authorized_at, captured_at, cancelled_at,
    due_at, notice_count) for each payment, oldest first."""
    start = now - timedelta(days=365)
    step = timedelta(days=365) / count
    for n in range(count):
        created = start + step * n
        roll = rng.random()
        amount = rng.choice((300, 980, 1500, 3000, 5400, 9800, 12000, 30000, 98000))
        if roll < 0.7:
            yield _card(merchant_id, n, created, amount, rng)
        elif roll < 0.9:
            yield _later(merchant_id, n, created, amount, rng, "03")
        else:
            yield _later(merchant_id, n, created, amount, rng, "01")


def _card(
    merchant_id: int, n: int, created: datetime, amount: int, rng: random.Random
) -> tuple[Any, ...]:
    status = rng.choices(("20", "40", "32", "60", "11", "33"), (20, 60, 8, 6, 4, 2))[0]
    captured = created + timedelta(hours=rng.randint(1, 72)) if status in ("40", "60") else None
    cancelled = created + timedelta(days=1) if status in ("32", "60") else None
    code, name = rng.choice(ACQUIRERS)
    details = {
        "masked_card_number": "************" + f"{n % 10000:04d}",
        "card_brand": "VISA",
        "payment_class": "10",
    }
    return (
        merchant_id,
        f"T{n:08d}",
        "",
        "02",
        amount,
        status,
        code,
        name,
        json.dumps(details),
        created,
        created,
        created,
        captured,
        cancelled,
        None,
        1,
    )


def _later(
    merchant_id: int, n: int, created: datetime, amount: int, rng: random.Random, payment_type: str
) -> tuple[Any, ...]:
    status = rng.choices(("10", "40", "12"), (25, 65, 10))[0]
    due = created + timedelta(days=30)
    paid = created + timedelta(days=rng.randint(0, 29)) if status == "40" else None
    details: dict[str, str] = (
        {"cvs_company_id": rng.choice(CHAINS), "receipt_number": f"{n:013d}"}
        if payment_type == "03"
        else {"pay_center_number": "58091", "customer_number": f"{n:020d}"}
    )
    return (
        merchant_id,
        f"T{n:08d}",
        "",
        payment_type,
        amount,
        status,
        "",
        "",
        json.dumps(details),
        created,
        created,
        None,
        paid,
        None,
        due,
        1,
    )


COLUMNS = (
    "merchant_id",
    "trading_id",
    "site_id",
    "payment_type",
    "amount",
    "status",
    "institution_code",
    "institution_name",
    "details",
    "created_at",
    "updated_at",
    "authorized_at",
    "captured_at",
    "cancelled_at",
    "due_at",
    "notice_count",
)


# ---------------------------------------------------------------- databases


class Database:
    def __init__(self, kind: str, admin_url: str, home: Path) -> None:
        self.kind, self.admin_url, self.home = kind, admin_url, home
        self.name = f"kessai_bench_{uuid.uuid4().hex[:10]}"

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.home / 'var' / 'kessai.db'}"
        return (
            self.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            + f"/{self.name}"
        )

    def create(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def load(self, rows: Iterator[tuple[Any, ...]]) -> None:
        if self.kind == "postgresql":
            self._copy(rows)
        else:
            self._insert_sqlite(rows)

    def _copy(self, rows: Iterator[tuple[Any, ...]]) -> None:
        import psycopg

        dsn = self.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
            with cursor.copy(f"COPY payments ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            conn.commit()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE payments")

    def _insert_sqlite(self, rows: Iterator[tuple[Any, ...]]) -> None:
        import sqlite3

        conn = sqlite3.connect(str(self.home / "var" / "kessai.db"))
        sql = (
            f"INSERT INTO payments ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        )
        batch: list[tuple[Any, ...]] = []
        for row in rows:
            batch.append(tuple(_sqlite_value(v) for v in row))
            if len(batch) >= 20_000:
                conn.executemany(sql, batch)
                batch.clear()
        conn.executemany(sql, batch)
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


# ---------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str], logfile: Path) -> None:
        self.port = free_port()
        self.log = logfile.open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kessai",
                "serve",
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--no-worker",
                "--no-simulators",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.url = f"http://{HOST}:{self.port}"

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("kessai serve exited; see its log")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.2)
        raise RuntimeError("kessai serve did not start")

    def memory_kib(self, field: str) -> int:
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        found = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
        return int(found.group(1)) if found else 0

    def reset_peak(self) -> bool:
        try:
            Path(f"/proc/{self.proc.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()


# ---------------------------------------------------------------- the client


def sign_in(base: str, login: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=120)
    page = client.get("/console/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, "no sign-in form"
    client.post(
        "/console/login", data={"login": login, "password": password, "login_csrf": token.group(1)}
    )
    form = client.get("/console/password")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, "no password form"
    changed = client.post(
        "/console/password",
        data={
            "current_password": password,
            "new_password": PASSWORD,
            "new_password_again": PASSWORD,
            "csrf_token": csrf.group(1),
        },
    )
    assert changed.status_code == 303, changed.text[:300]
    return client


@dataclass
class Search:
    name: str
    params: Callable[[random.Random], dict[str, Any]]


def day(days_ago: int) -> str:
    from zoneinfo import ZoneInfo

    return (datetime.now(ZoneInfo("Asia/Tokyo")) - timedelta(days=days_ago)).date().isoformat()


def searches(count: int) -> list[Search]:
    def trading(rng: random.Random) -> str:
        return f"T{rng.randrange(count):08d}"

    return [
        Search("default: last 30 days", lambda rng: {"created_from": day(30)}),
        Search("取引ID exact", lambda rng: {"trading_id": trading(rng), "created_from": ""}),
        Search(
            "取引ID prefix",
            lambda rng: {
                "trading_id": trading(rng)[:7],
                "trading_match": "prefix",
                "created_from": "",
            },
        ),
        Search("決済ID", lambda rng: {"payment_id": rng.randrange(1, count), "created_from": ""}),
        Search(
            "card 消込済, 30 days",
            lambda rng: {"method": "02", "status": "40", "created_from": day(30)},
        ),
        Search("status 20+40, all time", lambda rng: {"status": ["20", "40"], "created_from": ""}),
        Search(
            "amount 5,000–20,000, 7 days",
            lambda rng: {"amount_min": 5000, "amount_max": 20000, "created_from": day(7)},
        ),
        Search(
            "消込日時 one day",
            lambda rng: {
                "paid_from": day(d := rng.randint(1, 300)),
                "paid_to": day(d),
                "created_from": "",
            },
        ),
        Search(
            "支払期限日 one week, CVS",
            lambda rng: {
                "method": "03",
                "due_from": day(60),
                "due_to": day(53),
                "created_from": "",
            },
        ),
        Search(
            "コンビニ by chain, 30 days",
            lambda rng: {"institution": "ローソン", "created_from": day(30)},
        ),
        Search(
            "sorted by amount, 30 days, page 5",
            lambda rng: {"sort": "amount", "order": "desc", "page": 5, "created_from": day(30)},
        ),
    ]


def time_searches(client: httpx.Client, kinds: list[Search], rounds: int) -> dict[str, list[float]]:
    rng = random.Random(7)
    timings: dict[str, list[float]] = {s.name: [] for s in kinds}
    for search in kinds:  # warm up each plan once
        client.get("/console/payments", params=search.params(rng))
    for _ in range(rounds):
        for search in kinds:
            started = time.perf_counter()
            response = client.get("/console/payments", params=search.params(rng))
            elapsed = (time.perf_counter() - started) * 1000
            assert response.status_code == 200 and "件中" in response.text, response.text[:300]
            timings[search.name].append(elapsed)
    return timings


def export(client: httpx.Client, server: Server) -> dict[str, Any]:
    before = server.memory_kib("VmRSS")
    reset = server.reset_peak()
    started = time.perf_counter()
    rows, size = 0, 0
    with client.stream(
        "GET", "/console/payments.csv", params={"created_from": "", "encoding": "cp932"}
    ) as response:
        for chunk in response.iter_raw():
            size += len(chunk)
            rows += chunk.count(b"\n")  # CRLF ends each row; values hold no newline
    seconds = time.perf_counter() - started
    return {
        "rows": rows - 1,
        "bytes": size,
        "seconds": round(seconds, 1),
        "rows_per_second": round((rows - 1) / seconds),
        "rss_before_mib": round(before / 1024, 1),
        "peak_rss_mib": round(server.memory_kib("VmHWM") / 1024, 1),
        "peak_measured_from_reset": reset,
    }


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--admin-url", default=os.environ.get("KESSAI_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kessai-console-bench-") as tmp:
        home = Path(tmp)
        database = Database(options.db, options.admin_url, home)
        database.create()
        servers: list[Server] = []
        try:
            report = run(options, home, database, servers)
        finally:
            for server in servers:
                server.stop()
            database.drop()
    print_report(report)
    if options.json:
        options.json.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def run(
    options: argparse.Namespace, home: Path, database: Database, servers: list[Server]
) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from kessai.app import build_runtime
    from kessai.config import Settings
    from kessai.core.console import users
    from kessai.core.console.permissions import Role
    from kessai.core.merchants.commands import create_merchant
    from kessai.db.migrate import upgrade

    env = {
        **os.environ,
        "KESSAI_HOME": str(home),
        "KESSAI_DATABASE_URL": database.url,
        "KESSAI_CONSOLE_CERTIFICATES": "off",
        "KESSAI_LOG_LEVEL": "WARNING",
    }
    progress(f"migrating a fresh {options.db} database")
    upgrade(database.url)
    runtime = build_runtime(Settings(home=home, database_url=database.url))
    with runtime.core.sessions.begin() as session:
        now = runtime.core.clock.now()
        merchant = create_merchant(session, secret=runtime.core.secret, now=now, name="Bench shop")
        user = users.create_user(
            session, merchant_id=merchant.merchant_id, login="bench", role=Role.ADMIN, now=now
        )
    runtime.engine.dispose()
    progress(f"writing {options.payments:,} payments")
    started = time.perf_counter()
    database.load(
        payment_rows(merchant.merchant_id, options.payments, datetime.now(UTC), random.Random(1))
    )
    load_seconds = time.perf_counter() - started
    progress(f"loaded in {load_seconds:.0f} s; starting kessai serve")
    server = Server(env, home / "serve.log")
    servers.append(server)
    server.wait_ready()
    client = sign_in(server.url, "bench", user.initial_password)
    progress(f"timing {len(searches(options.payments))} kinds of search × {options.rounds}")
    timings = time_searches(client, searches(options.payments), options.rounds)
    progress("exporting every payment as CSV")
    exported = export(client, server)
    everything = [t for values in timings.values() for t in values]
    return {
        "db": options.db,
        "payments": options.payments,
        "load_seconds": round(load_seconds),
        "searches": {
            name: {"p50_ms": round(percentile(v, 50), 1), "p95_ms": round(percentile(v, 95), 1)}
            for name, v in timings.items()
        },
        "all_searches": {
            "count": len(everything),
            "p50_ms": round(percentile(everything, 50), 1),
            "p95_ms": round(percentile(everything, 95), 1),
            "target_p95_ms": P95_TARGET_MS,
        },
        "csv_export": exported,
    }


def print_report(report: dict[str, Any]) -> None:
    out = io.StringIO()
    out.write(
        f"\nConsole search on {report['payments']:,} payments ({report['db']}); loaded in {report['load_seconds']} s\n\n"
    )
    out.write(f"{'search':40} {'p50 ms':>8} {'p95 ms':>8}\n")
    for name, figures in report["searches"].items():
        out.write(f"{name:40} {figures['p50_ms']:>8} {figures['p95_ms']:>8}\n")
    total = report["all_searches"]
    verdict = "met" if total["p95_ms"] <= P95_TARGET_MS else "NOT met"
    out.write(
        f"{'all (' + str(total['count']) + ' requests)':40} {total['p50_ms']:>8} {total['p95_ms']:>8}"
        f"   target p95 ≤ {P95_TARGET_MS:g} ms: {verdict}\n\n"
    )
    csv = report["csv_export"]
    out.write(
        f"CSV export: {csv['rows']:,} rows, {csv['bytes'] / 2**20:.0f} MiB in {csv['seconds']} s "
        f"({csv['rows_per_second']:,} rows/s); server RSS {csv['rss_before_mib']} MiB before, "
        f"peak {csv['peak_rss_mib']} MiB during"
        f"{'' if csv['peak_measured_from_reset'] else ' (peak since start: clear_refs unavailable)'}\n"
    )
    print(out.getvalue())


if __name__ == "__main__":
    sys.exit(main())
