"""The console's 消し込み page end to end: a big order list uploaded over HTTP, the run followed on
the progress page, and the classified list downloaded.

    .venv/bin/python bench/console_reconcile.py [--sizes 100000,1000000] [--db postgresql|sqlite]
                                                [--admin-url URL] [--json FILE]

One run: a fresh scratch database (as bench/reconcile.py makes it: per size one merchant with that
many payments written straight into the table, and a CP932 order list of as many lines with
planted differences), one console admin per merchant, and `kessai serve` as a subprocess on a free
port of 127.0.0.1 (certificates off: this measures the page, not TLS). Per size, signed in over
HTTP as a browser would:

1. **upload**: the file POSTed as the page's form sends it, until the answer (303 to the progress
   page): the multipart parse and the copy to the server's upload directory;
2. **run**: the progress page polled every half second until it leads to the result — the
   reconciliation on the server's background thread; the rows-read figures it showed on the way;
3. **download**: the whole classified list as CP932, streamed and counted by the client.

Reported per size: seconds for each phase, the progress samples seen, the download's rows and
bytes, and the server process's resident memory before and its peak over the three phases (VmHWM,
reset just before through /proc/PID/clear_refs). The target is the engine's (bench/reconcile.py):
a million lines in ≤ 60 s, with the same peak memory at 100k and at 1M.

Only 127.0.0.1 is contacted; every phase is bounded and stops by itself.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from console_search import Server, progress, sign_in
from reconcile import DEFAULT_ADMIN_URL, TARGET_SECONDS, Scratch, payments, write_orders

RUN_TIMEOUT = 900.0


def upload(client: httpx.Client, orders: Path) -> tuple[str, float]:
    form = client.get("/console/reconcile")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert csrf, "no reconcile form"
    started = time.perf_counter()
    with orders.open("rb") as body:
        answer = client.post(
            "/console/reconcile",
            data={"csrf_token": csrf.group(1)},
            files={"orders": (orders.name, body, "text/csv")},
        )
    assert answer.status_code == 303, answer.text[:500]
    return answer.headers["location"], time.perf_counter() - started


def follow(client: httpx.Client, job: str) -> tuple[str, float, list[int]]:
    started, seen = time.perf_counter(), []
    while time.perf_counter() - started < RUN_TIMEOUT:
        page = client.get(job)
        if page.status_code == 303:
            return page.headers["location"], time.perf_counter() - started, seen
        failed = re.search(r'id="job-error"[^>]*>([^<]*)', page.text)
        assert failed is None, failed.group(1) if failed else ""
        read = re.search(r'id="rows-read">([\d,]+)<', page.text)
        if read:
            seen.append(int(read.group(1).replace(",", "")))
        time.sleep(0.5)
    raise RuntimeError(f"the reconciliation did not end in {RUN_TIMEOUT:.0f} s")


def download(client: httpx.Client, result: str) -> dict[str, Any]:
    started, rows, size = time.perf_counter(), 0, 0
    with client.stream("GET", f"{result}/result.csv", params={"encoding": "cp932"}) as response:
        assert response.status_code == 200, response.status_code
        for chunk in response.iter_raw():
            size += len(chunk)
            rows += chunk.count(b"\n")  # CRLF ends each row; values hold no newline
    return {"rows": rows - 1, "bytes": size, "seconds": round(time.perf_counter() - started, 1)}


def measure(server: Server, client: httpx.Client, size: int, orders: Path) -> dict[str, Any]:
    before = server.memory_kib("VmRSS")
    server.reset_peak()
    job, upload_seconds = upload(client, orders)
    progress(f"{size:,}: uploaded in {upload_seconds:.1f} s; following {job}")
    result, run_seconds, seen = follow(client, job)
    progress(f"{size:,}: reconciled in {run_seconds:.1f} s; downloading")
    got = download(client, result)
    return {
        "size": size,
        "file_mb": round(orders.stat().st_size / 1024 / 1024, 1),
        "upload_seconds": round(upload_seconds, 1),
        "run_seconds": round(run_seconds, 1),
        "progress_seen": seen,
        "download": got,
        "rss_mb_before": round(before / 1024, 1),
        "peak_rss_mb": round(server.memory_kib("VmHWM") / 1024, 1),
    }


def prepare(db: Scratch, home: Path, sizes: list[int]) -> list[tuple[int, str, str, Path]]:
    """Per size: a merchant with its payments and an admin; (size, login, password, orders)."""
    from kessai.core.console import users
    from kessai.core.console.permissions import Role

    prepared = []
    for size in sizes:
        merchant_id = db.merchant()
        progress(f"{size:,}: seeding {size:,} payments of merchant {merchant_id}")
        db.load(payments(merchant_id, size, datetime.now(UTC), seed=size))
        orders = home / f"orders-{size}.csv"
        write_orders(orders, size, seed=size)
        login = f"bench{size}"
        from sqlalchemy.orm import Session

        from kessai.db.session import make_engine

        engine = make_engine(db.url)
        with Session(engine) as session, session.begin():
            made = users.create_user(
                session,
                merchant_id=merchant_id,
                login=login,
                role=Role.ADMIN,
                now=datetime.now(UTC),
            )
        engine.dispose()
        prepared.append((size, login, made.initial_password, orders))
    return prepared


def report(results: list[dict[str, Any]], kind: str) -> None:
    print(f"\nconsole 消し込み on {kind}: order lines against as many payments, over HTTP")
    print(f"{'lines':>10} {'file MB':>8} {'upload s':>9} {'run s':>7} {'download s':>11} "
          f"{'rows':>10} {'MB before':>9} {'peak MB':>8}")  # fmt: skip
    for r in results:
        d = r["download"]
        print(f"{r['size']:>10,} {r['file_mb']:>8} {r['upload_seconds']:>9} {r['run_seconds']:>7} "
              f"{d['seconds']:>11} {d['rows']:>10,} {r['rss_mb_before']:>9} {r['peak_rss_mb']:>8}")  # fmt: skip
        print(f"{'':>10} progress shown: {', '.join(f'{n:,}' for n in r['progress_seen'][:12])}")
    biggest = max(results, key=lambda r: r["size"])
    total = biggest["upload_seconds"] + biggest["run_seconds"]
    verdict = "met" if total <= TARGET_SECONDS else "MISSED"
    print(f"upload + run ≤ {TARGET_SECONDS:.0f} s at {biggest['size']:,} lines: {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--db", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="kessai-bench-") as tmp:
        home = Path(tmp)
        db = Scratch(args.db, args.admin_url, home)
        db.create()
        server: Server | None = None
        try:
            prepared = prepare(db, home, sizes)
            env = {
                **os.environ,
                "KESSAI_HOME": str(home),
                "KESSAI_DATABASE_URL": db.url,
                "KESSAI_CONSOLE_CERTIFICATES": "off",
                "KESSAI_LOG_LEVEL": "WARNING",
            }
            server = Server(env, home / "serve.log")
            server.wait_ready()
            results = []
            for size, login, password, orders in prepared:
                client = sign_in(server.url, login, password)
                results.append(measure(server, client, size, orders))
                client.close()
        finally:
            if server is not None:
                server.stop()
            db.drop()
    report(results, args.db)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
