"""Closing a payout statement (支払明細の締め) over a million settled payments, on PostgreSQL.

    .venv/bin/python bench/settlement.py                       # 100,000 then 1,000,000 payments
    .venv/bin/python bench/settlement.py --sizes 20000,200000 --json /tmp/settlement.json
    .venv/bin/python bench/settlement.py --profile /tmp/close.txt   # the largest close under py-spy

One run: a fresh database `kessai_bench_<random>` (dropped at the end), migrated; per size in
`--sizes`, one merchant with fees set through the core (card 3.25 %, VISA 3.00 %, JCB 3.50 % + 5
yen, CVS 1.80 % + 120 yen, ATM 150 yen) and that many settled payments over the last 28 days —
70 % card, 20 % CVS, 10 % ATM, each with its SALE entry, and one in 50 refunded (a REFUND entry)
— written with COPY in chunks, then ANALYZE. Then `kessai.core.statements.close` closes each
merchant through today in a fresh process of its own, so that its peak memory (VmHWM) is the
close's: reported are the wall time, the process's memory before the close, its peak during it,
and the rows the close wrote. Target: ≤ 60 s for 1,000,000 payments, and a peak that does not grow
with the number of payments (compare the sizes).

Last, the round trips of one capture (022) through the core command (`card.capture`), counted with
a `before_cursor_execute` listener on the engine, with the ledger posting and with it replaced by a
no-op: the issue allows the posting one more round trip (its INSERT). On PostgreSQL the capture
takes the lean path, whose SALE entry is written inside the settle statement's CTE: the script
says so, and both counts are then the same two statements.

Only 127.0.0.1 is contacted; every phase is bounded and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parents[1] / "src"
sys.path.insert(0, str(SRC))
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_SECONDS = 60.0
CHUNK = 50_000
# Small amounts, as in the runs recorded in bench/README.md (before migration 0021 a statement's
# figures were 32-bit, so a million payments had to average under 2,147 yen).
AMOUNTS = (300, 500, 980, 1200, 1500, 2000, 2980)
DAYS = 28
CARD_BRANDS = ("VISA", "VISA", "MASTER", "JCB")
ACQUIRERS = ("99661", "99662", "99663")
CHAINS = ("00C001", "00C002", "00C004", "00C005")
PAYMENT_COLUMNS = (
    "id",
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
ENTRY_COLUMNS = (
    "merchant_id",
    "payment_id",
    "payment_type",
    "institution",
    "kind",
    "debit",
    "credit",
    "amount",
    "event_date",
    "created_at",
)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def memory_kib(field: str) -> int:
    status = Path("/proc/self/status").read_text()
    found = re.search(rf"^{field}:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else 0


# ---------------------------------------------------------------- data


def seeded_rows(
    merchant_id: int, first_id: int, count: int, today: date, rng: random.Random
) -> Iterator[tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]]:
    """Chunks of (payment rows, their ledger entries): settled payments over the last DAYS days,
    each with its SALE entry; one in 50 refunded (a REFUND entry a day later)."""
    from kessai.core.ledger import accounts

    payable = accounts.payable(merchant_id)
    now = datetime.now(UTC)
    payments: list[tuple[Any, ...]] = []
    entries: list[tuple[Any, ...]] = []
    for n in range(count):
        pid = first_id + n
        day = today - timedelta(days=DAYS - n * DAYS // count)
        at = datetime(day.year, day.month, day.day, 3, tzinfo=UTC)  # noon in Japan
        amount = rng.choice(AMOUNTS)
        payment_type, institution, details = _method(n, rng)
        payments.append(
            (pid, merchant_id, f"S{n:09d}", "", payment_type, amount, "40", institution, "",
             json.dumps(details), at, at, at, at, None, None, 1)
        )  # fmt: skip
        receivable = accounts.receivable(merchant_id, payment_type, institution)
        entries.append(
            (merchant_id, pid, payment_type, institution, "sale", receivable, payable, amount,
             day, now)
        )  # fmt: skip
        if n % 50 == 49 and day < today:
            entries.append(
                (merchant_id, pid, payment_type, institution, "refund", payable, receivable,
                 amount, day + timedelta(days=1), now)
            )  # fmt: skip
        if len(payments) >= CHUNK:
            yield payments, entries
            payments, entries = [], []
    if payments:
        yield payments, entries


def _method(n: int, rng: random.Random) -> tuple[str, str, dict[str, str]]:
    roll = n % 10
    if roll < 7:
        brand = rng.choice(CARD_BRANDS)
        return "02", rng.choice(ACQUIRERS), {"card_brand": brand, "payment_class": "10"}
    if roll < 9:
        return "03", rng.choice(CHAINS), {"receipt_number": f"{n:013d}"}
    return "01", "", {"pay_center_number": "58091"}


# ---------------------------------------------------------------- database


class Database:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.name = f"kessai_bench_{uuid.uuid4().hex[:10]}"
        self.dsn = admin_url.rsplit("/", 1)[0] + f"/{self.name}"
        self.url = self.dsn.replace("postgresql://", "postgresql+psycopg://")

    def create(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def seed(self, merchant_id: int, count: int, today: date) -> None:
        """COPY `count` payments of `merchant_id` and their entries, chunk by chunk."""
        import psycopg

        with psycopg.connect(self.dsn) as conn, conn.cursor() as cursor:
            first = (cursor.execute("SELECT coalesce(max(id), 0) FROM payments").fetchone()
                     or (0,))[0] + 1  # fmt: skip
            written = 0
            rng = random.Random(merchant_id)
            for payments, entries in seeded_rows(merchant_id, first, count, today, rng):
                _copy(cursor, "payments", PAYMENT_COLUMNS, payments)
                _copy(cursor, "ledger_entries", ENTRY_COLUMNS, entries)
                written += len(payments)
                if written % 200_000 == 0 or written == count:
                    progress(f"  {written:,} / {count:,} payments written")
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('payments', 'id'), "
                "(SELECT max(id) FROM payments))"
            )
            conn.commit()
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE payments")
            conn.execute("VACUUM ANALYZE ledger_entries")


def _copy(cursor: Any, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


# ---------------------------------------------------------------- the close, in its own process


def close_in_child(url: str, home: Path, merchant_id: int, profile: Path | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--close-child", str(merchant_id)]
    env = {**os.environ, "KESSAI_HOME": str(home), "KESSAI_DATABASE_URL": url}
    env["KESSAI_LOG_LEVEL"] = "WARNING"
    if profile is not None:
        spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        command = [spy, "record", "--format", "raw", "-o", str(profile), "--", *command]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise RuntimeError(f"the close failed:\n{done.stderr[-4000:]}")
    figures = [line for line in done.stdout.splitlines() if line.startswith("{")]
    return dict(json.loads(figures[-1]))  # py-spy prints its own lines too


def child(merchant_id: int) -> None:
    """Close `merchant_id` through today; print one JSON line of figures."""
    from sqlalchemy import func, select

    from kessai.app import build_runtime
    from kessai.config import Settings
    from kessai.core.ledger.models import LedgerEntry
    from kessai.core.ledger.postings import business_date
    from kessai.core.statements.close import CloseTerms, close
    from kessai.core.statements.views import statement_dict

    runtime = build_runtime(Settings())
    core = runtime.core
    waits = _time_statements(runtime.engine)
    with core.sessions() as session:  # connect and load what a close loads, before measuring
        session.execute(select(func.count()).select_from(LedgerEntry).where(LedgerEntry.id < 0))
    before = memory_kib("VmRSS")
    started = time.perf_counter()
    now = core.clock.now()
    with core.sessions.begin() as session:
        statement = close(
            session,
            merchant_id=merchant_id,
            through=business_date(now),
            now=now,
            terms=CloseTerms("T7000012050002", minimum_payout=1),
        )
        shown = statement_dict(session, statement)
        sid = statement.id
    seconds = time.perf_counter() - started
    with core.sessions() as session:
        stamped = session.scalar(
            select(func.count()).select_from(LedgerEntry).where(LedgerEntry.statement_id == sid)
        )
    figures = {
        "seconds": round(seconds, 2),
        "rss_before_kib": before,
        "peak_kib": memory_kib("VmHWM"),
        "entries_on_statement": stamped,
        "statement": shown,
        "statements": {k: [n, round(t, 2)] for k, (n, t) in sorted(waits.items())},
    }
    print(json.dumps(figures, ensure_ascii=False))


def _time_statements(engine: Any) -> dict[str, list[float]]:
    """Per kind of statement (its first words): how many were executed, and the seconds spent
    in them (the database's work and the round trip; a streamed SELECT counts its first fetch)."""
    from sqlalchemy import event

    spent: dict[str, list[float]] = {}
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        key = " ".join(statement.split()[:3])
        entry = spent.setdefault(key, [0, 0.0])
        entry[0] += 1
        entry[1] += time.perf_counter() - started.pop()

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    return spent


# ---------------------------------------------------------------- round trips of a capture


def capture_round_trips(url: str, home: Path) -> dict[str, Any]:
    """Statements one 022 capture sends through the core, with the ledger posting and without."""
    from unittest import mock

    from sqlalchemy import event

    from kessai.app import build_runtime
    from kessai.config import Settings
    from kessai.connectors.base import CardData
    from kessai.core.context import MerchantRef
    from kessai.core.merchants.commands import create_merchant
    from kessai.core.payments.card import commands as card
    from kessai.core.payments.refs import PaymentRef
    from kessai.kit.secrets import CardNumber

    runtime = build_runtime(Settings(home=home, database_url=url))
    core = runtime.core
    with core.sessions.begin() as session:
        made = create_merchant(session, secret=core.secret, now=core.clock.now(), name="Trips")
    merchant = MerchantRef(id=made.merchant_id, mode="sandbox")
    seen: list[str] = []
    inside: list[bool] = []  # the ledger INSERT is a part of a larger statement (lean path)

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        flat = " ".join(statement.split())
        seen.append(flat[:90])
        if "INSERT INTO ledger_entries" in flat and not flat.startswith(
            "INSERT INTO ledger_entries"
        ):
            inside.append(True)

    def one_capture(n: int) -> list[str]:
        request = card.AuthorizeRequest(
            trading_id=f"TRIP{n}",
            amount=1000,
            card=CardData(CardNumber("4900000000000000"), "1230"),
        )
        authorised = card.authorize(core, merchant, request)
        assert authorised.ok and authorised.payment is not None, authorised
        seen.clear()
        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            ref = PaymentRef(payment_id=str(authorised.payment.payment_id))
            assert card.capture(core, merchant, ref).ok
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        return list(seen)

    one_capture(0)  # warm: the caches a first capture fills
    with_ledger = one_capture(1)
    with mock.patch("kessai.core.payments.settle.record_payment_move", lambda *a, **k: None):
        without = one_capture(2)
    runtime.engine.dispose()
    extra = list(with_ledger)
    for statement in without:
        if statement in extra:
            extra.remove(statement)
    return {
        "with_ledger": len(with_ledger),
        "without_ledger": len(without),
        "extra": extra,
        # On PostgreSQL a capture takes the lean path (core/payments/card/lean.py): its SALE entry
        # is one part of the settle statement's CTE, which the no-op above does not reach.
        "posting_inside_statement": bool(inside),
    }


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000", help="payments per close, e.g. 1000")
    parser.add_argument(
        "--admin-url", default=os.environ.get("KESSAI_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--profile", type=Path, help="py-spy raw profile of the largest close")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--close-child", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.close_child is not None:
        child(options.close_child)
        return 0
    sizes = [int(size) for size in options.sizes.split(",")]
    database = Database(options.admin_url)
    database.create()
    try:
        with tempfile.TemporaryDirectory(prefix="kessai-settlement-bench-") as tmp:
            report = run(database, Path(tmp), sizes, options.profile)
    finally:
        database.drop()
    print_report(report)
    if options.json:
        options.json.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    return 0


def run(database: Database, home: Path, sizes: list[int], profile: Path | None) -> dict[str, Any]:
    from kessai.app import build_runtime
    from kessai.config import Settings
    from kessai.core.ledger.postings import business_date
    from kessai.core.merchants.commands import create_merchant
    from kessai.core.statements.fees import set_fee
    from kessai.db.migrate import upgrade

    progress(f"migrating {database.name}")
    upgrade(database.url)
    runtime = build_runtime(Settings(home=home, database_url=database.url))
    core = runtime.core
    now = core.clock.now()
    today = business_date(now)
    merchants = []
    with core.sessions.begin() as session:
        for size in sizes:
            made = create_merchant(session, secret=core.secret, now=now, name=f"Shop {size}")
            m = made.merchant_id
            since = today - timedelta(days=DAYS + 1)
            for method, brand, rate, fixed in (
                ("02", "", 325, 0), ("02", "VISA", 300, 0), ("02", "JCB", 350, 5),
                ("03", "", 180, 120), ("01", "", 0, 150),
            ):  # fmt: skip
                set_fee(session, m, method, rate_bp=rate, fixed=fixed, effective_from=since,
                        now=now, brand=brand)  # fmt: skip
            merchants.append(m)
    runtime.engine.dispose()
    closes = []
    for size, merchant_id in zip(sizes, merchants, strict=True):
        progress(f"writing {size:,} settled payments of merchant {merchant_id} (COPY)")
        started = time.perf_counter()
        database.seed(merchant_id, size, today)
        seeded = time.perf_counter() - started
        progress(f"closing merchant {merchant_id}'s statement over {size:,} payments")
        spy = profile if profile is not None and size == max(sizes) else None
        figures = close_in_child(database.url, home, merchant_id, spy)
        figures.update(payments=size, seed_seconds=round(seeded, 1))
        closes.append(figures)
        progress(f"  closed in {figures['seconds']} s, peak {figures['peak_kib'] // 1024} MiB")
    progress("counting the statements of one capture")
    trips = capture_round_trips(database.url, home)
    return {"closes": closes, "capture": trips}


def print_report(report: dict[str, Any]) -> None:
    print(f"{'payments':>10} {'close s':>8} {'RSS before MiB':>15} {'peak MiB':>9} "
          f"{'entries':>9} {'sales (gross)':>15} {'fees':>12} {'payout':>14}")  # fmt: skip
    for close in report["closes"]:
        s = close["statement"]
        gross = sum(line["gross"] for line in s["lines"])
        print(
            f"{close['payments']:>10,} {close['seconds']:>8.1f} "
            f"{close['rss_before_kib'] / 1024:>15.0f} {close['peak_kib'] / 1024:>9.0f} "
            f"{close['entries_on_statement']:>9,} {gross:>15,} {s['fees_total']:>12,} "
            f"{s['payout_amount']:>14,}"
        )
    largest = max(report["closes"], key=lambda c: c["payments"])
    verdict = "PASS" if largest["seconds"] <= TARGET_SECONDS else "MISS"
    print(f"\nclose of {largest['payments']:,}: {largest['seconds']:.1f} s   "
          f"target <= {TARGET_SECONDS:.0f} s   {verdict}")  # fmt: skip
    trips = report["capture"]
    delta = trips["with_ledger"] - trips["without_ledger"]
    print(
        f"capture (022): {trips['with_ledger']} statements with the ledger posting, "
        f"{trips['without_ledger']} without: +{delta}   target <= +1   "
        f"{'PASS' if delta <= 1 else 'MISS'}"
    )
    for statement in trips["extra"]:
        print(f"  + {statement}")
    if trips.get("posting_inside_statement"):
        print(
            "  (lean path: the SALE entry's INSERT is a part of the capture's one-statement "
            "settle transaction, so it costs no round trip of its own)"
        )
    print(f"\nstatements of the close of {largest['payments']:,} (count, seconds):")
    for key, (n, seconds) in largest["statements"].items():
        print(f"  {n:>6} {seconds:>7.2f}  {key}")


if __name__ == "__main__":
    sys.exit(main())
