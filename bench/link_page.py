"""The hosted payment page under load: signed requests, page views, and card payments made on it.

    .venv/bin/python bench/link_page.py [--db sqlite|postgresql] [--requests 300]
                                        [--payments 100] [--threads 4] [--json FILE]

One run: a fresh home (and, for PostgreSQL, a fresh database dropped at the end), `kessai serve
--demo` as a subprocess on a free port of 127.0.0.1 (no worker, plain HTTP), its demo merchant.
Then, each phase by `--threads` buyers at once, timed end to end from this process:

1. **Link requests** (URL mode, `isbtob=1`, UTF-8): a new trading_id each, the page URL answered.
2. **Page views**: GET of each page (the method menu).
3. **Card payments, no 3-D Secure**: the card form (GET, for the CSRF cookie and token), then the
   pay button (POST) through to the completion page.
4. **Card payments through 3-D Secure** (frictionless, `BAVYA`): POST → the simulated ACS → back on
   the page (term_url, hc checked) → 020 with the auth id → the completion page.

Reported per phase: count, p50 and p95 milliseconds, and per second. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from kessai.client import link_hash, link_hmac

HOST = "127.0.0.1"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
CARD = "4900000000000000"  # the sandbox's always-approving card


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Gateway:
    """`kessai serve --demo` in its own home (and database), stopped by `close`."""

    def __init__(self, db: str, admin_url: str) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="kessai-link-bench-"))
        self.db_name = f"kessai_bench_{uuid.uuid4().hex[:10]}" if db == "postgresql" else ""
        self.admin_url = admin_url
        env = {**os.environ, "KESSAI_HOME": str(self.home)}
        if self.db_name:
            self._admin(f'CREATE DATABASE "{self.db_name}"')
            base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
            env["KESSAI_DATABASE_URL"] = f"{base}/{self.db_name}"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.log = (self.home / "serve.log").open("wb")
        command = [sys.executable, "-m", "kessai", "serve", "--demo", "--host", HOST,
                   "--port", str(self.port), "--no-worker", "--no-simulators"]  # fmt: skip
        self.proc = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def ready(self) -> dict[str, Any]:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kessai serve exited; see {self.home / 'serve.log'}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return dict(json.loads((self.home / "var" / "demo-merchant.json").read_text()))
            except httpx.TransportError:
                time.sleep(0.3)
        raise RuntimeError("kessai serve did not start")

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(20)
        self.log.close()
        if self.db_name:
            self._admin(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def signed(merchant: dict[str, Any], trading_id: str, **extra: str) -> dict[str, str]:
    fields = {"trading_id": trading_id, "id": "2980", "seq_merchant_id": str(merchant["merchant_id"]),
              "payment_type": "02", **extra}  # fmt: skip
    # Signed as the merchant's scheme says (a credentials file without it is a paygent merchant's).
    scheme = merchant.get("link_signature", "paygent")
    sign = link_hmac if scheme == "hmac" else link_hash
    return {
        **fields,
        "hc": sign(fields, merchant["hash_key"]),
        "merchant_name": "ベンチ商店",
    }


_LOCAL = threading.local()


def client() -> httpx.Client:
    """This thread's connection (kept alive, as a merchant's server and a browser keep theirs)."""
    if not hasattr(_LOCAL, "client"):
        _LOCAL.client = httpx.Client(timeout=60)
    return _LOCAL.client  # type: ignore[no-any-return]


def open_page(base: str, fields: dict[str, str]) -> str:
    answer = client().post(f"{base}/v/u/request", data={**fields, "isbtob": "1"})
    values = dict(line.partition("=")[::2] for line in answer.text.split("\r\n") if "=" in line)
    if values.get("result") != "0":
        raise RuntimeError(f"link request refused: {values.get('response_code')}")
    return values["url"]


def pay(url: str, holder: str) -> None:
    """A buyer on one page: the card form, then the pay button, followed to the completion page."""
    with httpx.Client(timeout=60, follow_redirects=True) as buyer:
        form = buyer.get(f"{url}/card")
        token = re.search(r'name="csrf" value="([0-9a-f]+)"', form.text)
        assert token, "no card form"
        card = {"csrf": token.group(1), "card_number": CARD, "expiry_month": "12",
                "expiry_year": "30", "holder_name": holder, "payment_class": "10"}  # fmt: skip
        started = time.perf_counter()
        done = buyer.post(f"{url}/card", data=card)
        TIMES.append((time.perf_counter() - started) * 1000)
        if 'id="done"' not in done.text:
            raise RuntimeError(f"no completion page (HTTP {done.status_code})")


TIMES: list[float] = []


def timed(jobs: list[Callable[[], object]], threads: int) -> tuple[list[float], float]:
    def run(job: Callable[[], object]) -> float:
        started = time.perf_counter()
        job()
        return (time.perf_counter() - started) * 1000

    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        times = list(pool.map(run, jobs))
    return times, time.perf_counter() - began


def phase(name: str, times: list[float], seconds: float) -> dict[str, Any]:
    row = {"phase": name, "count": len(times), "p50_ms": round(percentile(times, 50), 1),
           "p95_ms": round(percentile(times, 95), 1), "per_second": round(len(times) / seconds, 1)}  # fmt: skip
    progress(f"{name}: {row}")
    return row


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    gateway = Gateway(args.db, args.admin_url)
    try:
        merchant = gateway.ready()
        progress(f"gateway up at {gateway.url} ({args.db})")
        run_id = uuid.uuid4().hex[:6]
        requests = [signed(merchant, f"b{run_id}{n}") for n in range(args.requests)]
        urls: list[str] = []
        times, seconds = timed([lambda f=f: urls.append(open_page(gateway.url, f)) for f in requests], args.threads)  # fmt: skip
        rows = [phase("link request (URL mode)", times, seconds)]
        times, seconds = timed([lambda u=u: client().get(u) for u in urls], args.threads)
        rows.append(phase("page view", times, seconds))
        for name, extra, holder in (("card payment, no 3-D Secure", {"threedsecure_ryaku": "1"}, "TARO YAMADA"),
                                    ("card payment through 3-D Secure", {"threedsecure_ryaku": "0"}, "BAVYA")):  # fmt: skip
            pages = [open_page(gateway.url, signed(merchant, f"p{run_id}{len(name)}{n}", **extra))
                     for n in range(args.payments)]  # fmt: skip
            TIMES.clear()
            _, seconds = timed([lambda u=u, h=holder: pay(u, h) for u in pages], args.threads)
            rows.append(phase(name, list(TIMES), seconds))
        return rows
    finally:
        gateway.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--admin-url", default=DEFAULT_ADMIN_URL)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--payments", type=int, default=100)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = run(args)
    print(f"hosted page on {args.db}, {args.threads} buyers at once, {os.cpu_count()} cores")
    print(f"{'phase':34} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'per s':>7}")
    for row in rows:
        print(
            f"{row['phase']:34} {row['count']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['per_second']:>7}"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
