"""The merchant's reconciliation (消し込み) of a million-line order list against a million payments.

    .venv/bin/python bench/reconcile.py [--sizes 100000,1000000] [--db postgresql|sqlite]
                                        [--admin-url URL] [--json FILE]

One run: a fresh scratch database (`kessai_bench_<random>` on PostgreSQL, dropped at the end;
SQLite: a temporary file), migrated, and per size one merchant created through the core with that
many payments written straight into the table (COPY), spread over 90 days: 70 % card, 20 % CVS,
10 % ATM, with the statuses, deadlines and payment dates those methods have, and 0.5 % of the
取引IDs paid twice. Its order list is a
CP932 CSV of the same number of lines naming those 取引IDs, with planted differences: 2 % other
amounts, 1 % listed twice, 2 % orders without a payment; 3 % of the payments are named by no order.

Each reconciliation runs in a child process of its own (`kessai.core.reconcile.run.reconcile`,
one transaction, as `kessai reconcile` runs it), so its memory is its own: its resident memory
before (after the imports and the engine) and the peak while reconciling (VmHWM, reset just before
through /proc/self/clear_refs), and again for the export; the child then streams the whole classified list as CP932 CSV (`iter_rows` + `write_csv`, as
the console's download does) to /dev/null. Reported per size: seconds to reconcile, lines per
second, seconds to export, and the child's peak memory. Target: 1M lines ≤ 60 s, and the same
peak memory at 100k and at 1M (constant memory).

Only 127.0.0.1 is contacted; every phase is bounded and stops by itself.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_SECONDS = 60.0
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
    "captured_at",
    "cancelled_at",
    "due_at",
    "notice_count",
)
AMOUNTS = (300, 980, 1500, 3000, 5400, 9800, 12000, 30000, 98000)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- data


def payments(merchant_id: int, count: int, now: datetime, seed: int) -> Iterator[tuple[Any, ...]]:
    """One row per payment (COLUMNS), trading IDs P{n:08d}, oldest first; every 200th 取引ID is
    paid twice (one more row)."""
    rng = random.Random(seed)
    step = timedelta(days=90) / count
    start = now - timedelta(days=90)
    for n in range(count):
        created = start + step * n
        amount = AMOUNTS[n % len(AMOUNTS)]
        roll = rng.random()
        if roll < 0.7:
            status = rng.choices(("20", "40", "32", "60"), (15, 75, 5, 5))[0]
            captured = created + timedelta(hours=2) if status in ("40", "60") else None
            cancelled = created + timedelta(days=1) if status in ("32", "60") else None
            row = ("02", status, captured, cancelled, None)
        else:
            status = rng.choices(("10", "40", "12"), (25, 65, 10))[0]
            paid = created + timedelta(days=3) if status == "40" else None
            row = ("03" if roll < 0.9 else "01", status, paid, None, created + timedelta(days=30))
        payment_type, status, captured, cancelled, due = row
        yield (merchant_id, f"P{n:08d}", "", payment_type, amount, status, "", "", "{}", created, created,
               captured, cancelled, due, 1)  # fmt: skip
        if n % 200 == 7:  # paid twice: the buyer paid the same order again by card
            yield (merchant_id, f"P{n:08d}", "", "02", amount, "40", "", "", "{}", created, created,
                   created, None, None, 1)  # fmt: skip


def write_orders(path: Path, count: int, seed: int) -> None:
    """`count` order lines naming P00000000…: 97 % of the payments, planted differences."""
    rng = random.Random(seed)
    with path.open("w", encoding="cp932", newline="") as out:
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["注文番号", "請求額", "入金予定日", "決済方法"])
        written, n, extra = 0, 0, 0
        while written < count:
            roll = rng.random()
            amount = AMOUNTS[n % len(AMOUNTS)]
            if roll < 0.03:  # a payment no order names
                n += 1
                continue
            if roll < 0.05:  # an order without a payment
                writer.writerow([f"X{extra:08d}", 5000, "2026/12/31", "銀行振込"])
                extra += 1
            elif roll < 0.06 and n > 0:  # the previous order listed again
                writer.writerow([f"P{n - 1:08d}", AMOUNTS[(n - 1) % len(AMOUNTS)], "", "カード"])
            else:
                other = amount + 100 if roll < 0.08 else amount
                writer.writerow([f"P{n:08d}", other, "", "カード"])
                n += 1
            written += 1


# ---------------------------------------------------------------- the databases


class Scratch:
    def __init__(self, kind: str, admin_url: str, home: Path) -> None:
        self.kind, self.admin_url, self.home = kind, admin_url, home
        self.name = f"kessai_bench_{uuid.uuid4().hex[:10]}"

    @property
    def url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.home / 'kessai.db'}"
        base = self.admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{self.name}"

    def create(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
        from kessai.db.migrate import upgrade

        upgrade(self.url)

    def drop(self) -> None:
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def merchant(self) -> int:
        from sqlalchemy.orm import Session

        from kessai.core.merchants.commands import create_merchant
        from kessai.db.session import make_engine

        engine = make_engine(self.url)
        with Session(engine) as session, session.begin():
            made = create_merchant(session, secret=b"b" * 32, now=datetime.now(UTC), name="bench")
        engine.dispose()
        return made.merchant_id

    def load(self, rows: Iterator[tuple[Any, ...]]) -> None:
        if self.kind == "postgresql":
            import psycopg

            dsn = self.url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
                with cursor.copy(f"COPY payments ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                conn.commit()
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute("VACUUM ANALYZE payments")
            return
        import sqlite3

        conn = sqlite3.connect(str(self.home / "kessai.db"))
        marks = ", ".join("?" * len(COLUMNS))
        sql = f"INSERT INTO payments ({', '.join(COLUMNS)}) VALUES ({marks})"
        conn.executemany(sql, (tuple(_sqlite(v) for v in row) for row in rows))
        conn.commit()
        conn.execute("ANALYZE")
        conn.close()


def _sqlite(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
    return value


# ---------------------------------------------------------------- the child


def memory_kib(field: str) -> int:
    """VmRSS (now) or VmHWM (the peak since the last reset) of this process, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> int:
    """Reset VmHWM to the current resident memory (Linux ≥ 4.0); that memory, in KiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return memory_kib("VmRSS")


def child(url: str, merchant_id: int, orders: Path) -> None:
    """Reconcile `orders`, export the result, print the figures as one JSON line."""
    from sqlalchemy.orm import Session

    from kessai.core.reconcile.run import reconcile
    from kessai.core.reconcile.views import iter_rows, summary, write_csv
    from kessai.db.session import make_engine

    engine = make_engine(url)
    step = 100_000

    def shown(read: int) -> None:
        if read % step == 0:
            progress(f"  {read:,} lines read")

    engine.connect().close()
    rss_before = reset_peak()  # Python, SQLAlchemy, psycopg, one connection
    started = time.perf_counter()
    with Session(engine) as session, session.begin(), orders.open("rb") as source:
        rid = reconcile(
            session, merchant_id=merchant_id, source=source, file_name=orders.name, columns=None,
            period_from=None, period_to=None, created_by="bench", progress=shown,
            now=datetime.now(UTC),
        )  # fmt: skip
    seconds = time.perf_counter() - started
    rss_reconcile = memory_kib("VmHWM")
    reset_peak()
    started = time.perf_counter()
    with Session(engine) as session, open("/dev/null", "wb") as sink:
        rows = iter_rows(session, merchant_id=merchant_id, reconciliation_id=rid, cls=None)
        write_csv(rows, sink, "cp932")
        totals = summary(session, merchant_id=merchant_id, reconciliation_id=rid)
    export = time.perf_counter() - started
    print(json.dumps({
        "seconds": round(seconds, 2),
        "export_seconds": round(export, 2),
        "rss_mb_before": round(rss_before / 1024, 1),
        "peak_rss_mb": round(rss_reconcile / 1024, 1),
        "peak_rss_mb_export": round(memory_kib("VmHWM") / 1024, 1),
        "lines": totals.order_lines,
        "payments": totals.payments,
        "counts": {cls.value: t.count for cls, t in totals.totals.items()},
    }))  # fmt: skip


# ---------------------------------------------------------------- the run


def measure(db: Scratch, size: int, work: Path) -> dict[str, Any]:
    merchant_id = db.merchant()
    progress(f"{size:,}: seeding {size:,} payments of merchant {merchant_id}")
    started = time.perf_counter()
    db.load(payments(merchant_id, size, datetime.now(UTC), seed=size))
    orders = work / f"orders-{size}.csv"
    write_orders(orders, size, seed=size)
    progress(f"{size:,}: seeded in {time.perf_counter() - started:.0f} s; reconciling")
    done = subprocess.run(
        [sys.executable, __file__, "--child", db.url, str(merchant_id), str(orders)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=900,
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["size"] = size
    result["lines_per_second"] = round(result["lines"] / result["seconds"])
    progress(f"{size:,}: {result['seconds']} s, peak {result['peak_rss_mb']} MB")
    return result


def report(results: list[dict[str, Any]], kind: str) -> None:
    print(f"\nreconciliation on {kind}: order lines against as many payments")
    print(f"{'lines':>10} {'seconds':>8} {'lines/s':>9} {'MB before':>9} {'peak MB':>8} "
          f"{'export s':>9} {'export peak MB':>14}")  # fmt: skip
    for r in results:
        print(f"{r['size']:>10,} {r['seconds']:>8} {r['lines_per_second']:>9,} "
              f"{r['rss_mb_before']:>9} {r['peak_rss_mb']:>8} {r['export_seconds']:>9} "
              f"{r['peak_rss_mb_export']:>14}")  # fmt: skip
    biggest = max(results, key=lambda r: r["size"])
    verdict = "met" if biggest["seconds"] <= TARGET_SECONDS else "MISSED"
    print(f"target ≤ {TARGET_SECONDS:.0f} s at {biggest['size']:,} lines: {verdict}")
    print("classes at", f"{biggest['size']:,}:", json.dumps(biggest["counts"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", nargs=3, metavar=("URL", "MERCHANT_ID", "FILE"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], int(args.child[1]), Path(args.child[2]))
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="kessai-bench-") as tmp:
        db = Scratch(args.db, args.admin_url, Path(tmp))
        db.create()
        try:
            results = [measure(db, size, Path(tmp)) for size in sizes]
        finally:
            db.drop()
    report(results, args.db)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
