"""Card authorisation throughput and latency through the module protocol, against what the database
alone can do for the same writes and what the server does for a trivial endpoint.

    .venv/bin/python bench/auth.py [--db postgresql|sqlite] [--duration S]
                                   [--concurrency 1,4,16,32] [--workers N]

One run: a fresh database (dropped at the end), `kessai migrate`, a sandbox merchant from
`kessai merchant create --json`, and `kessai serve` as a subprocess on a free port of 127.0.0.1.
Then, each phase bounded in time and stopping by itself:

1. authorisations (020 on `POST /n/card/request`, card 4900000000000000 which the sandbox always
   approves) at each concurrency, closed loop: rate, p50, p99, errors (any reply that does not
   start with `result=0` is an error, and the first error body is printed);
2. `GET /health` at the best concurrency (same server, same `Connection: close` as the telegrams);
3. the storage rate: the gateway's two write transactions of one authorisation issued straight to
   the database from the same numbers of clients (pgbench with a custom script on PostgreSQL);
4. authorisations at half the peak rate, open loop (requests sent on a fixed schedule whatever the
   answers, latency counted from the scheduled time), p50 and p99 there;
5. the table, the two ratios and the targets (auth ≥ 0.5 × storage; p99 ≤ 25 ms at half peak).

Load comes from wrk when it is installed (`apt-get install wrk`: light on CPU, which matters on a
small machine), else from a Python asyncio client; the open-loop run always uses the Python client.
Only 127.0.0.1 is ever targeted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlsplit

import psycopg

HOST: Final = "127.0.0.1"
TEST_CARD: Final = "4900000000000000"  # PAYGENT's public sandbox number: always approved
DEFAULT_ADMIN_URL: Final = "postgresql://postgres@127.0.0.1:5432/test"
P99_TARGET_MS: Final = 25.0
STORAGE_RATIO_TARGET: Final = 0.5
WARMUP_SECONDS: Final = 3.0
REQUEST_TIMEOUT: Final = 10.0  # a reply slower than this is an error
MAX_IN_FLIGHT: Final = 1000  # bound on the open-loop client's outstanding requests
SPREAD_MERCHANTS_FROM: Final = 40001  # the counter phase's merchants: 40001, 40002, …


# ---------------------------------------------------------------- results


@dataclass
class LoadResult:
    """One bounded run of load: what completed, how fast, and what went wrong."""

    requests: int  # answered successfully (errors are not counted here)
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    first_error: str = ""
    cpu_server: float = 0.0  # cores used by the server processes during the run
    cpu_machine: float = 0.0  # cores busy on the whole machine during the run

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Row:
    phase: str
    concurrency: str
    result: LoadResult
    note: str = ""


@dataclass
class Report:
    db: str
    db_version: str
    workers: int
    duration: float
    loadgen: str
    storage_method: str
    rows: list[Row] = field(default_factory=list)
    peak_auth_rate: float = 0.0
    peak_auth_concurrency: int = 0
    storage_peak_rate: float = 0.0
    trivial_rate: float = 0.0
    half_rate_target: float = 0.0
    half_rate_p50_ms: float = 0.0
    half_rate_p99_ms: float = 0.0
    half_rate_errors: int = 0
    round_trips: dict[str, int] = field(default_factory=dict)  # per telegram kind, steady state
    peak_capture_rate: float = 0.0  # 022, closed loop (PostgreSQL with wrk and pgbench only)
    capture_storage_peak_rate: float = 0.0
    capture_note: str = ""  # why the 022 phases did not run
    one_merchant_rate: float = 0.0  # storage at the top concurrency, the bench merchant alone
    spread_rate: float = 0.0  # the same, a merchant per client (no shared counter row)
    spread_concurrency: int = 0


def summary(result: LoadResult) -> str:
    """One run's figures for the progress lines."""
    first = f"; first: {result.first_error}" if result.first_error else ""
    return (
        f"{result.rate:.0f}/s p50 {result.p50_ms:.1f} ms p99 {result.p99_ms:.1f} ms, "
        f"{result.errors} errors{first}"
    )


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list (0.0 for an empty one)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def safe_text(raw: bytes | str, limit: int = 300) -> str:
    """An error body fit to print: decoded, one line, and no card number but the public test one."""
    text = raw.decode("cp932", errors="replace") if isinstance(raw, bytes) else raw
    text = text.strip().replace("\r\n", " | ").replace("\n", " | ")
    text = re.sub(r"\d{12,19}", lambda m: m[0] if m[0] == TEST_CARD else "#" * len(m[0]), text)
    return text[:limit]


# ---------------------------------------------------------------- CPU accounting (/proc)


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid → (ppid, CPU seconds used so far) for every process we can read."""
    ticks = os.sysconf("SC_CLK_TCK")
    table: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    return table


def tree_cpu(root: int) -> float:
    """CPU seconds used so far by `root` and its live descendants."""
    table = _proc_table()
    members, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _) in table.items():
            if ppid == parent and pid not in members:
                members.add(pid)
                frontier.append(pid)
    return sum(table[pid][1] for pid in members if pid in table)


def machine_busy() -> float:
    """CPU seconds the whole machine has been busy (not idle, not waiting for I/O)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def cpu_meter(server_pid: int | None, result_box: list[LoadResult]) -> Iterator[None]:
    """Fill the CPU fields of the one result appended to `result_box` inside the block."""
    started = time.monotonic()
    server0 = tree_cpu(server_pid) if server_pid else 0.0
    machine0 = machine_busy()
    yield
    elapsed = time.monotonic() - started
    if result_box and elapsed > 0:
        result = result_box[-1]
        if server_pid:
            result.cpu_server = (tree_cpu(server_pid) - server0) / elapsed
        result.cpu_machine = (machine_busy() - machine0) / elapsed


# ---------------------------------------------------------------- HTTP load: wrk


WRK_LUA: Final = r"""-- generated by bench/auth.py
wrk.method = "%(method)s"
wrk.headers["Connection"] = "close"
%(content_type)s
local base = "%(base)s"
local prefix = "%(prefix)s"
local errdir = "%(errdir)s"
local check = %(check)s
local threads = {}
local counter = 0
local ids = {}  -- 022: the payment_ids to capture, one per request, in order
local ids_file = "%(ids_file)s"
if ids_file ~= "" then
  for line in io.lines(ids_file) do
    table.insert(ids, line)
  end
end

function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
  table.insert(threads, thread)
end

function init(args)
  n = 0
  bad = 0
  wrote = false
end

function request()
  n = n + 1
  if base == "" then
    return wrk.format()
  end
  if #ids > 0 then  -- past the end it starts again: those captures fail and count as errors
    return wrk.format(nil, nil, nil, base .. ids[(n - 1) %% #ids + 1])
  end
  return wrk.format(nil, nil, nil, base .. prefix .. tid .. "_" .. n)
end

if check then
  function response(status, headers, body)
    if status ~= 200 or string.sub(body, 1, 10) ~= "\r\nresult=0" then
      bad = bad + 1
      if not wrote then
        wrote = true
        local f = io.open(errdir .. "/wrk-error-" .. tid .. ".txt", "wb")
        if f then
          f:write(status .. " " .. body)
          f:close()
        end
      end
    end
  end
end

function done(summary, latency, requests)
  local bad_total = 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + (t:get("bad") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "KESSAI_WRK %%d %%d %%.1f %%.1f %%d %%d %%d %%d %%d %%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    bad_total, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def run_wrk(
    url: str,
    *,
    body_base: str,
    prefix: str,
    concurrency: int,
    duration: float,
    workdir: Path,
    ids_file: Path | None = None,
) -> LoadResult:
    """Closed loop with wrk: `concurrency` connections, each sending its next request as soon as
    the previous answer is in. A POST body is `body_base` + a unique trading_id, or with `ids_file`
    (one payment_id a line) `body_base` + the next payment_id of the file."""
    errdir = workdir / f"wrk-{prefix}"
    errdir.mkdir()
    post = bool(body_base)
    script = WRK_LUA % {
        "method": "POST" if post else "GET",
        "content_type": 'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"'
        if post
        else "",
        "base": body_base,
        "prefix": prefix,
        "errdir": str(errdir),
        "check": "true" if post else "false",
        "ids_file": str(ids_file or ""),
    }
    lua = workdir / f"{prefix}.lua"
    lua.write_text(script)
    lua.chmod(0o600)  # it holds the bench merchant's connect password
    command = [
        "wrk",
        "-t",
        "1",  # one event loop easily outruns a Python server; leaves the cores to it
        "-c",
        str(concurrency),
        "-d",
        f"{max(1, round(duration))}s",
        "--timeout",
        f"{REQUEST_TIMEOUT:g}s",
        "-s",
        str(lua),
        url,
    ]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("KESSAI_WRK ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    fields = line.split()[1:]
    requests, duration_us = int(fields[0]), int(fields[1])
    p50_us, p99_us = float(fields[2]), float(fields[3])
    bad, connect, read, write, status, timeout = (int(v) for v in fields[4:10])
    failed_replies = bad if post else status  # answers that came back wrong
    errors = failed_replies + connect + read + write + timeout
    first_error = ""
    for path in sorted(errdir.glob("wrk-error-*.txt")):
        first_error = safe_text(path.read_bytes())
        break
    if not first_error and errors:
        first_error = (
            f"socket errors: connect {connect}, read {read}, write {write}, "
            f"timeout {timeout}, status {status}"
        )
    return LoadResult(
        requests=requests - failed_replies,
        seconds=duration_us / 1e6,
        p50_ms=p50_us / 1000,
        p99_ms=p99_us / 1000,
        errors=errors,
        first_error=first_error,
    )


# ---------------------------------------------------------------- HTTP load: Python asyncio


@dataclass
class Target:
    port: int
    path: str
    body_base: str  # empty: GET

    def request(self, trading_id: str) -> bytes:
        if not self.body_base:
            return (
                f"GET {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\nConnection: close\r\n\r\n"
            ).encode()
        body = (self.body_base + trading_id).encode()
        head = (
            f"POST {self.path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body


async def _exchange(port: int, payload: bytes) -> tuple[bool, bytes]:
    """One request on a new connection (the face closes it after answering); (ok, raw reply)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(payload)
        await writer.drain()
        raw = await reader.read()  # to EOF
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    ok = head.startswith(b"HTTP/1.1 200")
    if payload.startswith(b"POST"):
        ok = ok and body.startswith(b"\r\nresult=0\r\n")
    return ok, raw


class _Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.first_error = ""

    def record(self, ok: bool, seconds: float, reply: bytes | str) -> None:
        if ok:
            self.latencies.append(seconds)
            return
        self.errors += 1
        if not self.first_error:
            if isinstance(reply, bytes) and b"\r\n\r\n" in reply:
                status, _, rest = reply.partition(b"\r\n")
                reply = status + b" | " + rest.partition(b"\r\n\r\n")[2]
            self.first_error = safe_text(reply)

    async def one(self, target: Target, trading_id: str, started: float) -> None:
        try:
            ok, raw = await asyncio.wait_for(
                _exchange(target.port, target.request(trading_id)), REQUEST_TIMEOUT
            )
        except (OSError, TimeoutError) as error:
            self.record(False, 0.0, f"{type(error).__name__}: {error}")
            return
        self.record(ok, time.perf_counter() - started, raw)

    def result(self, seconds: float) -> LoadResult:
        values = sorted(self.latencies)
        return LoadResult(
            requests=len(values),
            seconds=seconds,
            p50_ms=percentile(values, 50) * 1000,
            p99_ms=percentile(values, 99) * 1000,
            errors=self.errors,
            first_error=self.first_error,
        )


def _run_client(main: Coroutine[Any, Any, float]) -> float:
    """The Python load generators' loop: uvloop (a dependency of the gateway's own server) when
    it is there, so that the client takes as little of the 2 cores as it can."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


def run_closed_python(
    target: Target, *, prefix: str, concurrency: int, duration: float
) -> LoadResult:
    """Closed loop with asyncio (used when wrk is missing; it takes CPU from the server)."""
    tally = _Tally()

    async def client(index: int, deadline: float) -> None:
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            await tally.one(target, f"{prefix}{index}_{n}", time.perf_counter())

    async def main() -> float:
        started = time.perf_counter()
        deadline = started + duration
        await asyncio.gather(*(client(i, deadline) for i in range(concurrency)))
        return time.perf_counter() - started

    seconds = _run_client(main())
    return tally.result(seconds)


def run_open_python(target: Target, *, prefix: str, rate: float, duration: float) -> LoadResult:
    """Open loop: request i is due at start + i/rate and is sent then whatever is still in flight;
    its latency runs from that due time, so a stalled server cannot hide its queue (no coordinated
    omission). Bounded: rate × duration requests, at most MAX_IN_FLIGHT outstanding."""
    tally = _Tally()
    total = max(1, int(rate * duration))

    async def main() -> float:
        tasks: set[asyncio.Task[None]] = set()
        started = time.perf_counter()
        for i in range(total):
            due = started + i / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            if len(tasks) >= MAX_IN_FLIGHT:
                tally.record(False, 0.0, f"more than {MAX_IN_FLIGHT} requests outstanding")
                continue
            task = asyncio.create_task(tally.one(target, f"{prefix}{i}", due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        return time.perf_counter() - started

    seconds = _run_client(main())
    return tally.result(seconds)


# ---------------------------------------------------------------- the storage rate


# SQLite: the writes of one authorisation on the ORM path, statement for statement as the gateway
# sends them (captured from SQLAlchemy: `kessai.core.payments.card.commands.authorize`, `settle`,
# `outbox.record_change`). Names after ':' are parameters; `-> name` keeps the RETURNING value for
# the statements after it. PostgreSQL takes the lean path instead, whose two statements are imported
# from the gateway itself (`lean_transactions`), so the script cannot drift from the code.
PAYMENT_COLUMNS: Final = (
    "id, merchant_id, trading_id, site_id, payment_type, amount, status, institution_ref, "
    "institution_code, institution_name, vault_card_id, related_payment_id, details, created_at, "
    "updated_at, authorized_at, captured_at, cancelled_at, notice_count"
)
OPERATION_COLUMNS: Final = (
    "id, payment_id, kind, status, idempotency_key, amount, reference, response_code, "
    "response_detail, attempts, created_at, updated_at"
)
TRANSACTIONS: Final[tuple[tuple[tuple[str, str], ...], ...]] = (
    (  # transaction 1: vault card, payment (申込済), operation `sending`
        (
            "INSERT INTO vault_cards (key_id, wrapped_key, nonce, ciphertext, fingerprint, masked, "
            "brand, created_at) VALUES (:key_id, :wrapped_key, :nonce, :ciphertext, :fingerprint, "
            ":masked, :brand, :now) RETURNING id AS vault_id",
            "vault_id",
        ),
        (
            "INSERT INTO payments (merchant_id, trading_id, site_id, payment_type, amount, status, "
            "institution_ref, institution_code, institution_name, vault_card_id, "
            "related_payment_id, details, created_at, updated_at, authorized_at, captured_at, "
            "cancelled_at) VALUES (:merchant_id, :trading_id, '', '02', 1000, '10', NULL, '', '', "
            ":vault_id, NULL, :details_applied, :now, :now, NULL, NULL, NULL) "
            "RETURNING id AS payment_id",
            "payment_id",
        ),
        (
            "INSERT INTO payment_operations (payment_id, kind, status, idempotency_key, amount, "
            "reference, response_code, response_detail, attempts, created_at, updated_at) VALUES "
            "(:payment_id, 'authorize', 'sending', :idempotency_key, 1000, NULL, '', '', 0, :now, "
            ":now) RETURNING id AS op_id",
            "op_id",
        ),
    ),
    (  # transaction 2: settle the answer, history row, per-merchant notice number, notice
        (f"SELECT {PAYMENT_COLUMNS} FROM payments WHERE id = :payment_id FOR UPDATE", ""),
        (f"SELECT {OPERATION_COLUMNS} FROM payment_operations WHERE id = :op_id", ""),
        (
            "UPDATE payments SET status = '20', institution_ref = :reference, "
            "institution_code = :acq_id, institution_name = :acq_name, details = :details, "
            "updated_at = :now, authorized_at = :now, notice_count = 1 WHERE id = :payment_id",
            "",
        ),
        (
            "INSERT INTO payment_events (payment_id, operation, from_status, to_status, amount, "
            "response_code, response_detail, created_at) VALUES (:payment_id, 'authorize', '10', "
            "'20', 1000, '', '', :now) RETURNING id AS event_id",
            "",
        ),
        (
            "UPDATE payment_operations SET status = 'succeeded', reference = :reference, "
            "attempts = 1, updated_at = :now WHERE id = :op_id",
            "",
        ),
        (
            "UPDATE notice_counters SET last_notice_id = last_notice_id + 1 "
            "WHERE merchant_id = :merchant_id RETURNING last_notice_id AS notice_id",
            "notice_id",
        ),
        (
            "INSERT INTO notices (merchant_id, payment_notice_id, payment_id, payment_seq, "
            "payment_status, fields, site_id, delivery_status, attempts, next_attempt_at, "
            "last_error, created_at) VALUES (:merchant_id, :notice_id, :payment_id, 1, '20', "
            ":fields, '', 'pending', 0, :now, '', :now) RETURNING id AS notice_row",
            "",
        ),
    ),
)
STATEMENTS_PER_AUTH: Final = sum(len(t) for t in TRANSACTIONS)
_PYFORMAT: Final = re.compile(r"%\(([a-z_]+)\)s")
# Values the pgbench script computes itself or fixes (the bench's 020 has no site or related id).
_PGBENCH_VALUES: Final = {
    "now": "now()",
    "idempotency_key": "replace(CAST(gen_random_uuid() AS text), '-', '')",
    "trading_id": "(CAST('pgb' AS text) || :client_id || '_' || :tn)",
    "site_id": "''",
    "related_payment_id": "NULL",
    "file_line_id": "NULL",  # a telegram, not a file line
}


def lean_transactions() -> tuple[str, ...]:
    """The lean path's two transactions, one statement each, exactly as the gateway sends them
    (psycopg's %(name)s parameters; the first returns payment_id and operation_id)."""
    from kessai.core.payments.card import lean

    return (lean.OPEN_AUTHORIZATION, lean.SETTLE_AUTHORIZED)


_PARAM: Final = re.compile(r"(?<![:\w]):([a-z_]+)")


@dataclass
class Sample:
    """The values of one real authorisation, so the storage script writes rows of the same size."""

    merchant_id: int
    key_id: str
    wrapped_key: bytes
    nonce: bytes
    ciphertext: bytes
    fingerprint: str
    masked: str
    brand: str
    details_applied: str
    details: str
    reference: str
    acq_id: str
    acq_name: str
    fields: str
    fields_head: str = ""  # `fields` as JSON text up to the notice number's value (lean path)
    fields_tail: str = ""  # and after it


def split_notice_fields(fields: str) -> tuple[str, str]:
    """The notice's JSON text split around its number, as the lean path sends it."""
    mark = "\x00notice\x00"
    text = json.dumps(json.loads(fields) | {"payment_notice_id": mark})
    head, tail = text.split(json.dumps(mark), 1)
    return head + '"', '"' + tail


def read_sample(connect: Callable[[], Any], merchant_id: int) -> Sample:
    """The newest authorised payment with its card and notice, as stored by the gateway."""
    with contextlib.closing(connect()) as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT v.key_id, v.wrapped_key, v.nonce, v.ciphertext, v.fingerprint, v.masked, "
            "v.brand, CAST(p.details AS TEXT), p.institution_ref, p.institution_code, "
            "p.institution_name, CAST(n.fields AS TEXT) FROM payments p JOIN vault_cards v ON v.id = p.vault_card_id "
            "JOIN notices n ON n.payment_id = p.id WHERE p.status = '20' "
            "ORDER BY p.id DESC LIMIT 1"
        )
        row = cur.fetchone()
    if row is None:
        raise RuntimeError("no authorised payment to copy the storage script's rows from")

    def text(value: Any) -> str:
        return value if isinstance(value, str) else json.dumps(value)

    details = json.loads(text(row[7]))
    applied = {k: v for k, v in details.items() if not k.startswith(("issur_", "authrized_"))}
    return Sample(
        merchant_id=merchant_id,
        key_id=row[0],
        wrapped_key=bytes(row[1]),
        nonce=bytes(row[2]),
        ciphertext=bytes(row[3]),
        fingerprint=row[4],
        masked=row[5],
        brand=row[6],
        details_applied=json.dumps(applied),  # SQLAlchemy's JSON type writes json.dumps()
        details=text(row[7]),
        reference=row[8],
        acq_id=row[9],
        acq_name=row[10],
        fields=text(row[11]),
        fields_head=split_notice_fields(text(row[11]))[0],
        fields_tail=split_notice_fields(text(row[11]))[1],
    )


def read_capture_values(connect: Callable[[], Any], merchant_id: int) -> dict[str, str]:
    """The values of the newest real capture (its acquirer reference, its notice's text split
    around the number, its SALE entry's accounts and date): the 022 storage script writes rows of
    the same size and content."""
    with contextlib.closing(connect()) as conn:
        row = conn.execute(
            "SELECT o.reference, CAST(n.fields AS TEXT), l.institution, l.kind, l.debit, "
            "l.credit, CAST(l.event_date AS TEXT) FROM payments p "
            "JOIN payment_operations o ON o.payment_id = p.id AND o.kind = 'capture' "
            "AND o.status = 'succeeded' "
            "JOIN notices n ON n.payment_id = p.id AND n.payment_status = '40' "
            "JOIN ledger_entries l ON l.payment_id = p.id AND l.kind = 'sale' "
            "WHERE p.merchant_id = %s AND p.status = '40' ORDER BY p.id DESC LIMIT 1",
            (merchant_id,),
        ).fetchone()
    if row is None:
        raise RuntimeError("no captured payment to copy the 022 storage script's rows from")
    head, tail = split_notice_fields(row[1])
    return {
        "reference": row[0] or "",
        "fields_head": head,
        "fields_tail": tail,
        "institution": row[2],
        "entry_kind": row[3],
        "debit": row[4],
        "credit": row[5],
        "event_date": row[6],
        "expired_before": "2000-01-01 00:00:00+00",  # every payment of the bench is younger
    }


def pgbench_script() -> str:
    """The lean path's two one-statement transactions as a pgbench script (autocommit, as the
    gateway sends them): values come from -D variables (sent as bind parameters, like the
    gateway's), ids flow through \\gset; time, keys and trading_ids are made server-side."""
    lines = ["\\set tn random(1, 999999999)"]
    first, second = lean_transactions()
    # The payment is written with its details before the answer (details_applied), then with them.
    opening = _PGBENCH_VALUES | {"details": ":details_applied"}
    for sql, end, values in ((first, " \\gset", opening), (second, ";", _PGBENCH_VALUES)):
        text = _PYFORMAT.sub(lambda m, v=values: v.get(m[1], f":{m[1]}"), sql).rstrip()
        lines.append(text + end)
    return "\n".join(lines) + "\n"


def orm_pgbench_script() -> str:
    """The ORM path's two transactions (`TRANSACTIONS`) as a pgbench script, for comparison."""
    lines = ["\\set tn random(1, 999999999)"]
    for transaction in TRANSACTIONS:
        lines.append("BEGIN;")
        for sql, keep in transaction:
            sql = sql.replace(":now", "now()")
            sql = sql.replace(
                ":idempotency_key", "replace(CAST(gen_random_uuid() AS text), '-', '')"
            )
            sql = sql.replace(":trading_id", "CAST('pgb' AS text) || :client_id || '_' || :tn")
            lines.append(f"{sql} \\gset" if keep else f"{sql};")
        lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def capture_pgbench_script() -> str:
    """The lean capture's two one-statement transactions (`OPEN_CAPTURE`, `SETTLE_CAPTURED`) as a
    pgbench script. Each transaction captures its own authorised payment: client c takes
    :lo + c, :lo + c + C, :lo + c + 2C … of a contiguous range of them (pgbench keeps a client's
    variables from one transaction to the next), so no statement is added to find one."""
    from kessai.core.payments.card import lean

    values = _PGBENCH_VALUES | {
        "payment_id": ":pid",
        "trading_id": ":trading_id",  # '' (-D): a 022 by payment_id, a bound parameter as sent
        "operation_id": ":c_id",
    }
    # pgbench takes no empty -D value: a client's first transaction sets :trading_id to '' once.
    lines = ["\\if :n = 0", "SELECT '' AS trading_id \\gset", "\\endif"]
    lines += ["\\set pid :lo + :client_id + :nclients * :n", "\\set n :n + 1"]
    for sql, end in ((lean.OPEN_CAPTURE, " \\gset c_"), (lean.SETTLE_CAPTURED, ";")):
        text = _PYFORMAT.sub(lambda m: values.get(m[1], f":{m[1]}"), sql).rstrip()
        lines.append(text + end)
    return "\n".join(lines) + "\n"


def run_pgbench(
    pgbench: str,
    conninfo: dict[str, str],
    sample: Sample,
    *,
    concurrency: int,
    duration: float,
    workdir: Path,
    script_text: str | None = None,
    extra: dict[str, str] | None = None,
    transactions: int = 0,
    name: str = "storage",
) -> LoadResult:
    """pgbench with the 020 storage script (or `script_text`, its -D values in `extra`) for
    `duration` seconds, or `transactions` per client when that is set (rate then from pgbench)."""
    script = workdir / f"{name}.pgbench"
    script.write_text(script_text or pgbench_script())
    logdir = workdir / f"pgbench-{name}-c{concurrency}-{time.monotonic_ns()}"
    logdir.mkdir()
    variables = {
        "merchant_id": str(sample.merchant_id),
        "key_id": sample.key_id,
        "wrapped_key": "\\x" + sample.wrapped_key.hex(),
        "nonce": "\\x" + sample.nonce.hex(),
        "ciphertext": "\\x" + sample.ciphertext.hex(),
        "fingerprint": sample.fingerprint,
        "masked": sample.masked,
        "brand": sample.brand,
        "details_applied": sample.details_applied,
        "details": sample.details,
        "reference": sample.reference,
        "acq_id": sample.acq_id,
        "acq_name": sample.acq_name,
        "fields": sample.fields,
        "fields_head": sample.fields_head,
        "fields_tail": sample.fields_tail,
        "amount": "1000",
    } | (extra or {})
    length = ["-t", str(transactions)] if transactions else ["-T", str(max(1, round(duration)))]
    command = [
        pgbench,
        "-n",  # no vacuum of pgbench's own tables
        "-M",
        "prepared",  # psycopg prepares a query after its 5th use on a connection: so does the app
        "-c",
        str(concurrency),
        "-j",
        str(min(concurrency, 2)),
        *length,
        "-f",
        str(script),
        "--log",
        f"--log-prefix={logdir}/tx",
        "-h",
        conninfo.get("host", HOST),
        "-p",
        conninfo.get("port", "5432"),
        "-U",
        conninfo.get("user", "postgres"),
    ]
    for name, value in variables.items():
        command += ["-D", f"{name}={value}"]
    command.append(conninfo["dbname"])
    env = dict(os.environ)
    if conninfo.get("password"):
        env["PGPASSWORD"] = conninfo["password"]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=duration + 120, check=False, env=env
    )
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    if done.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    latencies: list[float] = []
    for path in logdir.iterdir():
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                latencies.append(int(parts[2]) / 1e6)
    latencies.sort()
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    errors = int(failed[1]) if failed else 0
    rate = float(tps[1])
    return LoadResult(
        requests=round(rate * duration),
        seconds=duration,
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        errors=errors,
        first_error=safe_text(done.stderr) if errors else "",
    )


def _statements_for(dialect: str) -> list[list[tuple[str, str]]]:
    """The gateway's transactions in the driver's dialect. PostgreSQL: the lean path's two
    statements (psycopg's %(name)s, run in autocommit); the first keeps payment_id and
    operation_id. SQLite: TRANSACTIONS without FOR UPDATE (BEGIN IMMEDIATE holds the lock)."""
    if dialect != "sqlite":
        first, second = lean_transactions()
        return [[(first, "payment_id,operation_id")], [(second, "")]]
    converted: list[list[tuple[str, str]]] = []
    for transaction in TRANSACTIONS:
        if dialect == "sqlite":
            converted.append([(sql.replace(" FOR UPDATE", ""), keep) for sql, keep in transaction])
        else:
            converted.append([(_PARAM.sub(r"%(\1)s", sql), keep) for sql, keep in transaction])
    return converted


def _write_one(conn: Any, statements: list[list[tuple[str, str]]], params: dict[str, Any]) -> None:
    """One authorisation's two transactions on `conn` (a psycopg or sqlite3 connection)."""
    sqlite = isinstance(conn, sqlite3.Connection)
    for transaction in statements:
        cur = conn.cursor()
        if sqlite:
            cur.execute("BEGIN IMMEDIATE")  # psycopg sends its BEGIN by itself
        for sql, keep in transaction:
            cur.execute(sql, params)
            row = cur.fetchone() if cur.description else None
            if keep and row is not None:
                params.update(zip(keep.split(","), row, strict=False))
        conn.commit()


def run_storage_python(
    connect: Callable[[], Any],
    sample: Sample,
    *,
    dialect: str,
    concurrency: int,
    duration: float,
) -> LoadResult:
    """The same two transactions from Python threads, one connection each (SQLite; or PostgreSQL
    without pgbench, where the client's CPU and GIL make it a lower bound of the database)."""
    statements = _statements_for(dialect)
    base = asdict(sample)
    tally = _Tally()
    lock = threading.Lock()
    deadline = time.perf_counter() + duration

    def worker(index: int) -> None:
        conn = connect()
        if dialect != "sqlite":
            conn.autocommit = True  # the lean path: each statement its own transaction
        try:
            n = 0
            while time.perf_counter() < deadline:
                n += 1
                params = dict(base)
                now = datetime.now(UTC)
                params["now"] = now if dialect != "sqlite" else now.isoformat(sep=" ")
                params["idempotency_key"] = uuid.uuid4().hex
                params["trading_id"] = f"py{index}_{n}"
                params.update(site_id="", related_payment_id=None, amount=1000)
                started = time.perf_counter()
                try:
                    _write_one(conn, statements, params)
                except Exception as error:
                    with contextlib.suppress(Exception):
                        conn.rollback()
                    with lock:
                        tally.record(False, 0.0, f"{type(error).__name__}: {error}")
                    continue
                with lock:
                    tally.record(True, time.perf_counter() - started, b"")
        finally:
            conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=duration + 60)
    return tally.result(time.perf_counter() - started)


# ---------------------------------------------------------------- round trips per telegram


class RoundTripCounter:
    """Counts what psycopg sends and waits for: each statement, the BEGIN it sends before the first
    statement of a transaction, each COMMIT or ROLLBACK of an open transaction (and a pre-ping's
    `;`, which is a statement). Patches psycopg's classes while active; process-wide."""

    def __init__(self) -> None:
        self.count = 0
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> RoundTripCounter:
        idle = psycopg.pq.TransactionStatus.IDLE
        execute, commit = psycopg.Cursor.execute, psycopg.Connection.commit
        rollback = psycopg.Connection.rollback
        self._saved = {"execute": execute, "commit": commit, "rollback": rollback}
        counter = self

        def counted_execute(cur: Any, *args: Any, **kwargs: Any) -> Any:
            conn = cur.connection
            begins = not conn.autocommit and conn.info.transaction_status == idle
            counter.count += 2 if begins else 1
            return execute(cur, *args, **kwargs)

        def counted_end(original: Any) -> Any:
            def end(conn: Any) -> Any:
                counter.count += conn.info.transaction_status != idle
                return original(conn)

            return end

        psycopg.Cursor.execute = counted_execute  # type: ignore[method-assign]
        psycopg.Connection.commit = counted_end(commit)  # type: ignore[method-assign]
        psycopg.Connection.rollback = counted_end(rollback)  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        psycopg.Cursor.execute = self._saved["execute"]  # type: ignore[method-assign]
        psycopg.Connection.commit = self._saved["commit"]  # type: ignore[method-assign]
        psycopg.Connection.rollback = self._saved["rollback"]  # type: ignore[method-assign]


def add_merchants(url: str, home: Path, first: int, count: int) -> None:
    """`count` sandbox merchants numbered from `first`, each with its notice counter row."""
    from kessai.app import build_runtime
    from kessai.config import Settings
    from kessai.core.merchants.commands import create_merchant

    runtime = build_runtime(Settings(home=home, database_url=url))
    core = runtime.core
    with core.sessions.begin() as session:
        for n in range(count):
            create_merchant(session, secret=core.secret, now=core.clock.now(),
                            name=f"spread{n}", merchant_id=first + n)  # fmt: skip
    runtime.engine.dispose()


def telegram_round_trips(url: str, home: Path, creds: dict[str, Any]) -> dict[str, int]:
    """Round trips of one 020 and one 022 through the telegram face, in this process, against the
    bench's database: the 7th of each (psycopg prepares a statement at its 5th use, credentials
    are cached), counted by `RoundTripCounter`. PostgreSQL only."""
    from starlette.testclient import TestClient

    from kessai.app import build_runtime, create_app
    from kessai.config import Settings

    runtime = build_runtime(Settings(home=home, database_url=url))
    client = TestClient(create_app(runtime))
    base = (
        f"merchant_id={creds['merchant_id']}&connect_id={creds['connect_id']}&"
        f"connect_password={creds['connect_password']}&telegram_version=1.0&"
    )
    headers = {"content-type": "application/x-www-form-urlencoded"}

    def send(body: str) -> str:
        reply = client.post("/n/card/request", content=body, headers=headers).text
        if "result=0" not in reply:
            raise RuntimeError(f"round-trip probe: {safe_text(reply)}")
        return reply

    trips: dict[str, int] = {}
    for n in range(7):
        with RoundTripCounter() as authorise:
            reply = send(
                base + "telegram_kind=020&payment_amount=1000&"
                f"card_number={TEST_CARD}&card_valid_term=1230&trading_id=trip{n}"
            )
        found = re.search(r"payment_id=(\d+)", reply)
        assert found, reply
        with RoundTripCounter() as capture:
            send(base + f"telegram_kind=022&payment_id={found[1]}")
        trips = {"020": authorise.count, "022": capture.count}
    runtime.engine.dispose()
    return trips


# ---------------------------------------------------------------- database, CLI, server


class Database:
    """A fresh database for one run: PostgreSQL `kessai_bench_<random>` or a SQLite file."""

    def __init__(self, kind: str, admin_url: str, home: Path) -> None:
        self.kind = kind
        self.admin_url = admin_url
        self.name = f"kessai_bench_{secrets.token_hex(4)}"
        self.sqlite_path = home / "var" / "kessai.db"
        self.created = False

    @property
    def kessai_url(self) -> str:
        if self.kind == "sqlite":
            return f"sqlite:///{self.sqlite_path}"
        parts = urlsplit(self.admin_url)
        return parts._replace(scheme="postgresql+psycopg", path=f"/{self.name}").geturl()

    def conninfo(self) -> dict[str, str]:
        parts = urlsplit(self.admin_url)
        info = {
            "host": parts.hostname or HOST,
            "port": str(parts.port or 5432),
            "user": unquote(parts.username or "postgres"),
            "dbname": self.name,
        }
        if parts.password:
            info["password"] = unquote(parts.password)
        return info

    def connect(self) -> Any:
        if self.kind == "sqlite":
            conn = sqlite3.connect(self.sqlite_path, timeout=30, check_same_thread=False)
            conn.isolation_level = None  # explicit BEGIN IMMEDIATE, as the gateway does
            for pragma in (
                "journal_mode=WAL",
                "synchronous=NORMAL",
                "foreign_keys=ON",
                "busy_timeout=30000",
            ):
                conn.execute(f"PRAGMA {pragma}")
            return conn
        return psycopg.connect(**self.conninfo())  # type: ignore[arg-type]

    def create(self) -> None:
        if self.kind == "sqlite":
            self.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
            self.created = True
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.created = True

    def version(self) -> str:
        if self.kind == "sqlite":
            return f"SQLite {sqlite3.sqlite_version} (WAL, synchronous=NORMAL)"
        with psycopg.connect(**self.conninfo()) as conn:  # type: ignore[arg-type]
            row = conn.execute("SELECT current_setting('server_version')").fetchone()
            sync = conn.execute("SELECT current_setting('synchronous_commit')").fetchone()
        assert row is not None and sync is not None
        return f"PostgreSQL {row[0]} (synchronous_commit={sync[0]})"

    def settle(self) -> None:
        """Start every run from the same table state. Each authorisation leaves a dead version of
        the merchant's row (its notice counter) and of the payment and operation rows; without this,
        later runs would pay for earlier runs' garbage and phases could not be compared."""
        if self.kind == "sqlite":
            with contextlib.closing(self.connect()) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            return
        with psycopg.connect(**self.conninfo(), autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute("VACUUM (ANALYZE)")
        time.sleep(0.5)  # let the VACUUM's writes drain before the next measurement

    def drop(self) -> None:
        if not self.created or self.kind == "sqlite":
            return
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.created = False


def kessai(args: Sequence[str], env: dict[str, str], *, timeout: float = 120) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "kessai", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"kessai {' '.join(args)} failed: {done.stderr.strip()[-800:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class Server:
    """`kessai serve` in its own process group, its output in a file."""

    def __init__(self, env: dict[str, str], workers: int, logfile: Path) -> None:
        self.port = free_port()
        self.logfile = logfile
        self._log = logfile.open("wb")
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
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kessai serve exited: {self.tail()}")
            try:
                with urllib.request.urlopen(f"http://{HOST}:{self.port}/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"kessai serve did not answer /health in {timeout:g} s: {self.tail()}")

    def tail(self) -> str:
        if not self._log.closed:  # `--verbose` reads it again after stop()
            self._log.flush()
        return self.logfile.read_text(errors="replace")[-1500:]

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._log.close()


# ---------------------------------------------------------------- the run


def capture_body_base(creds: dict[str, Any]) -> str:
    """The 022 form body up to the payment_id's value, which each request appends."""
    return (
        f"merchant_id={creds['merchant_id']}&connect_id={creds['connect_id']}&"
        f"connect_password={creds['connect_password']}&telegram_kind=022&telegram_version=1.0&"
        "payment_id="
    )


def auth_body_base(creds: dict[str, Any]) -> str:
    """The 020 form body up to the trading_id's value, which each request appends."""
    return (
        f"merchant_id={creds['merchant_id']}&connect_id={creds['connect_id']}&"
        f"connect_password={creds['connect_password']}&telegram_kind=020&telegram_version=1.0&"
        f"payment_amount=1000&card_number={TEST_CARD}&card_valid_term=1230&trading_id="
    )


class Bench:
    def __init__(self, options: argparse.Namespace, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.duration: float = options.duration
        self.concurrencies: list[int] = options.concurrency
        self.wrk = shutil.which("wrk") if options.loadgen != "python" else None
        if options.loadgen == "wrk" and not self.wrk:
            raise RuntimeError("wrk is not installed (apt-get install wrk)")
        self.db = Database(options.db, options.admin_url, workdir)
        self.env = dict(os.environ)
        self.env.update(KESSAI_HOME=str(workdir), KESSAI_DATABASE_URL=self.db.kessai_url)
        self.server: Server | None = None
        self.creds: dict[str, Any] = {}
        self._runs = 0

    # ------------------------------------------------ load helpers

    def http(
        self,
        path: str,
        body_base: str,
        concurrency: int,
        duration: float,
        ids_file: Path | None = None,
    ) -> LoadResult:
        assert self.server is not None
        self.db.settle()
        self._runs += 1
        prefix = f"r{self._runs}c{concurrency}t"
        box: list[LoadResult] = []
        with cpu_meter(self.server.proc.pid, box):
            if self.wrk:
                url = f"http://{HOST}:{self.server.port}{path}"
                box.append(
                    run_wrk(
                        url,
                        body_base=body_base,
                        prefix=prefix,
                        concurrency=concurrency,
                        duration=duration,
                        workdir=self.workdir,
                        ids_file=ids_file,
                    )
                )
            else:
                target = Target(self.server.port, path, body_base)
                box.append(
                    run_closed_python(
                        target, prefix=prefix, concurrency=concurrency, duration=duration
                    )
                )
        return box[0]

    def storage(self, sample: Sample, concurrency: int, first_merchant: int = 0) -> LoadResult:
        """The 020 storage script at `concurrency`; with `first_merchant` (pgbench only) client c
        writes for merchant first_merchant + c instead of the bench merchant: the same statements,
        no shared notice counter row."""
        pgbench = self.pgbench()
        self.db.settle()
        box: list[LoadResult] = []
        spread = "\\set merchant_id :first_merchant + :client_id\n" if first_merchant else ""
        with cpu_meter(None, box):
            if pgbench:
                box.append(
                    run_pgbench(
                        pgbench,
                        self.db.conninfo(),
                        sample,
                        concurrency=concurrency,
                        duration=self.duration,
                        workdir=self.workdir,
                        script_text=spread + pgbench_script(),
                        extra={"first_merchant": str(first_merchant)} if first_merchant else None,
                        name="spread" if first_merchant else "storage",
                    )
                )
            else:
                box.append(
                    run_storage_python(
                        self.db.connect,
                        sample,
                        dialect=self.db.kind,
                        concurrency=concurrency,
                        duration=self.duration,
                    )
                )
        return box[0]

    def pgbench(self) -> str | None:
        if self.db.kind != "postgresql" or self.options.storage == "python":
            return None
        found = shutil.which("pgbench") or next(
            (str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None
        )
        if not found and self.options.storage == "pgbench":
            raise RuntimeError("pgbench is not installed")
        return found

    def storage_method(self) -> str:
        if self.pgbench():
            return (
                "pgbench -M prepared with a custom script: a C client that needs little CPU, "
                "so the database gets the cores - the honest upper bound of the database"
            )
        if self.db.kind == "sqlite":
            return "Python threads with sqlite3 (BEGIN IMMEDIATE, WAL), one connection each"
        return (
            "Python threads with psycopg (--storage python, or no pgbench): the client shares "
            "the CPU and the GIL, so this is a LOWER bound of the database"
        )

    # ------------------------------------------------ the notice counter (issue #14 item 4)

    def counter_phase(self, report: Report, sample: Sample) -> None:
        """The storage script at the highest concurrency again, each client writing for a
        merchant of its own: what one merchant's notice counter row costs at that concurrency."""
        top = max(self.concurrencies)
        if not self.pgbench() or top < 2:
            return
        add_merchants(self.db.kessai_url, self.workdir, SPREAD_MERCHANTS_FROM, top)
        result = self.storage(sample, top, first_merchant=SPREAD_MERCHANTS_FROM)
        report.rows.append(Row("storage (spread)", str(top), result))
        report.spread_rate = result.rate
        report.spread_concurrency = top
        report.one_merchant_rate = next(
            r.result.rate for r in report.rows
            if r.phase == "storage (2 txns)" and r.concurrency == str(top)
        )  # fmt: skip
        progress(f"storage c={top}, a merchant per client: {summary(result)}")

    # ------------------------------------------------ capture (022)

    def authorised_ids(self) -> list[int]:
        """The bench merchant's authorised payments made through the server (not pgbench's)."""
        with contextlib.closing(self.db.connect()) as conn:
            rows = conn.execute(
                "SELECT id FROM payments WHERE merchant_id = %s AND status = '20' "
                "AND trading_id NOT LIKE 'pgb%%' ORDER BY id",
                (int(self.creds["merchant_id"]),),
            ).fetchall()
        return [int(r[0]) for r in rows]

    def capture_ids_file(self, need: int, concurrency: int) -> Path:
        """A file of `need` authorised payment_ids for one 022 run; when the earlier runs left
        fewer, more are authorised through the server first (not measured)."""
        ids = self.authorised_ids()
        for _ in range(5):
            if len(ids) >= need:
                break
            seconds = max(1.0, (need - len(ids)) / 300)
            progress(f"capture pool: {len(ids):,} authorised, authorising more for {seconds:.0f} s")
            self.http("/n/card/request", auth_body_base(self.creds), concurrency, seconds)
            ids = self.authorised_ids()
        if len(ids) < need:
            raise RuntimeError(f"only {len(ids)} authorised payments to capture, {need} needed")
        path = self.workdir / f"capture-ids-{self._runs}.txt"
        path.write_text("\n".join(str(i) for i in ids[:need]) + "\n")
        return path

    def storage_capture(
        self, sample: Sample, values: dict[str, str], concurrency: int, pool: int
    ) -> LoadResult:
        """pgbench's 022 run: first `pool` authorised payments with contiguous ids written by the
        020 storage script (not measured), then the capture script over them for the run."""
        pgbench = self.pgbench()
        assert pgbench is not None
        conninfo = self.db.conninfo()

        def last_id() -> int:
            with contextlib.closing(self.db.connect()) as conn:
                return int(conn.execute("SELECT COALESCE(max(id), 0) FROM payments").fetchone()[0])

        lo = last_id() + 1
        writers = 4
        run_pgbench(pgbench, conninfo, sample, concurrency=writers, duration=self.duration,
                    workdir=self.workdir, transactions=-(-pool // writers), name="pool")  # fmt: skip
        hi = last_id()
        with contextlib.closing(self.db.connect()) as conn:
            authorised = conn.execute(
                "SELECT count(*) FROM payments WHERE id BETWEEN %s AND %s AND status = '20'",
                (lo, hi),
            ).fetchone()[0]
        if authorised != hi - lo + 1:
            raise RuntimeError(f"the 022 pool {lo}..{hi} is not contiguous ({authorised} rows)")
        self.db.settle()
        box: list[LoadResult] = []
        extra = values | {"lo": str(lo), "nclients": str(concurrency), "n": "0"}
        with cpu_meter(None, box):
            box.append(
                run_pgbench(
                    pgbench,
                    conninfo,
                    sample,
                    concurrency=concurrency,
                    duration=self.duration,
                    workdir=self.workdir,
                    script_text=capture_pgbench_script(),
                    extra=extra,
                    name="capture",
                )
            )
        return box[0]

    def capture_phases(self, report: Report, sample: Sample) -> None:
        """022 through the server (closed loop, wrk over a file of authorised payment_ids) and
        the same writes through pgbench, at each concurrency. PostgreSQL with wrk and pgbench."""
        if self.db.kind != "postgresql" or not self.wrk or not self.pgbench():
            report.capture_note = "022 not measured: needs PostgreSQL, wrk and pgbench"
            return
        body = capture_body_base(self.creds)
        # Enough payments for a run at twice the best authorisation rate.
        need = int(max(report.peak_auth_rate, 100) * self.duration * 2) + 100
        for concurrency in self.concurrencies:
            ids_file = self.capture_ids_file(need, concurrency)
            result = self.http("/n/card/request", body, concurrency, self.duration, ids_file)
            report.rows.append(Row("capture (closed loop)", str(concurrency), result))
            report.peak_capture_rate = max(report.peak_capture_rate, result.rate)
            progress(f"capture c={concurrency}: {summary(result)}")
        values = read_capture_values(self.db.connect, int(self.creds["merchant_id"]))
        pool = int(max(report.storage_peak_rate, 500) * self.duration * 2) + 1000
        for concurrency in self.concurrencies:
            result = self.storage_capture(sample, values, concurrency, pool)
            report.rows.append(Row("storage 022 (2 txns)", str(concurrency), result))
            report.capture_storage_peak_rate = max(report.capture_storage_peak_rate, result.rate)
            progress(f"storage 022 c={concurrency}: {summary(result)}")

    # ------------------------------------------------ phases

    def setup(self) -> None:
        progress(f"setup: creating a fresh {self.db.kind} database, migrating, one merchant")
        self.db.create()
        kessai(["migrate"], self.env)
        self.creds = json.loads(
            kessai(["merchant", "create", "--json", "--name", "bench"], self.env)
        )
        self.server = Server(self.env, self.options.workers, self.workdir / "server.log")
        self.server.wait_ready()
        progress(
            f"setup: kessai serve on {HOST}:{self.server.port} "
            f"(workers={self.options.workers}), merchant {self.creds['merchant_id']}"
        )

    def run(self) -> Report:
        body = auth_body_base(self.creds)
        report = Report(
            db=self.db.kind,
            db_version=self.db.version(),
            workers=self.options.workers,
            duration=self.duration,
            loadgen="wrk (1 thread)" if self.wrk else "Python asyncio (shares the CPU!)",
            storage_method=self.storage_method(),
        )
        warm = self.http("/n/card/request", body, min(4, max(self.concurrencies)), WARMUP_SECONDS)
        progress(f"warm-up: {warm.requests} authorisations, {warm.errors} errors")
        if warm.requests == 0:
            raise RuntimeError(f"every warm-up authorisation failed: {warm.first_error}")

        best: LoadResult | None = None
        for concurrency in self.concurrencies:
            result = self.http("/n/card/request", body, concurrency, self.duration)
            report.rows.append(Row("auth (closed loop)", str(concurrency), result))
            progress(f"auth c={concurrency}: {summary(result)}")
            if best is None or result.rate > best.rate:
                best, report.peak_auth_concurrency = result, concurrency
        assert best is not None
        report.peak_auth_rate = best.rate

        trivial = self.http("/health", "", report.peak_auth_concurrency, self.duration)
        report.trivial_rate = trivial.rate
        report.rows.append(Row("GET /health", str(report.peak_auth_concurrency), trivial))
        progress(
            f"/health c={report.peak_auth_concurrency}: {trivial.rate:.0f}/s, "
            f"{trivial.errors} errors"
        )

        if self.db.kind == "postgresql":
            report.round_trips = telegram_round_trips(self.db.kessai_url, self.workdir, self.creds)
            progress(f"round trips per telegram: {report.round_trips}")
        sample = read_sample(self.db.connect, int(self.creds["merchant_id"]))
        for concurrency in self.concurrencies:
            result = self.storage(sample, concurrency)
            report.rows.append(Row("storage (2 txns)", str(concurrency), result))
            report.storage_peak_rate = max(report.storage_peak_rate, result.rate)
            progress(f"storage c={concurrency}: {summary(result)}")

        self.counter_phase(report, sample)
        self.capture_phases(report, sample)

        assert self.server is not None
        report.half_rate_target = max(1.0, report.peak_auth_rate / 2)
        target = Target(self.server.port, "/n/card/request", body)
        box: list[LoadResult] = []
        progress(f"open loop at {report.half_rate_target:.0f}/s (half the peak) ...")
        self.db.settle()
        with cpu_meter(self.server.proc.pid, box):
            box.append(
                run_open_python(
                    target, prefix="half", rate=report.half_rate_target, duration=self.duration
                )
            )
        half = box[0]
        report.half_rate_p50_ms, report.half_rate_p99_ms = half.p50_ms, half.p99_ms
        report.half_rate_errors = half.errors
        report.rows.append(
            Row("auth (open loop)", f"{report.half_rate_target:.0f}/s", half, "half the peak")
        )
        progress(
            f"open loop: {half.rate:.0f}/s p50 {half.p50_ms:.1f} ms p99 {half.p99_ms:.1f} ms, "
            f"{half.errors} errors" + (f"; first: {half.first_error}" if half.first_error else "")
        )
        return report

    def cleanup(self) -> None:
        if self.server is not None:
            self.server.stop()
            if self.options.verbose:
                print(self.server.tail())
        self.db.drop()


# ---------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(report: Report) -> None:
    if report.db == "sqlite":
        not_in = "the pool's connection checks (credentials are cached by the gateway)"
        settle = "WAL checkpoint"
        shape = (
            f"{STATEMENTS_PER_AUTH} statements + BEGIN/COMMIT in 2 transactions per "
            "authorisation, as the gateway's ORM path sends them"
        )
    else:
        not_in = "nothing the gateway sends (no pre-ping; credentials are cached)"
        settle = "VACUUM"
        shape = (
            "2 transactions of one statement each (autocommit), imported from "
            "kessai.core.payments.card.lean"
        )
    print()
    print("Kessai card authorisation (020) benchmark")
    print(f"  database   {report.db_version}, fresh; {settle} before every run")
    print(
        f"  server     kessai serve --workers {report.workers} --no-worker --no-simulators, "
        f"plain HTTP on {HOST}; {os.cpu_count()} CPUs on the machine"
    )
    print(
        f"  load       {report.loadgen}, closed loop, {report.duration:g} s a run; a new "
        "connection per request (the face closes it), for /health too"
    )
    print(f"  storage    {report.storage_method}")
    print(f"             {shape}, rows copied from a real authorisation;")
    print(f"             not in it: {not_in}")
    print(
        "  open loop  Python asyncio client sending on a fixed schedule at half the peak; "
        "latency counted from the scheduled time"
    )
    print()
    header = (
        f"{'phase':<20} {'load':>8} {'rate/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'errors':>7} {'srv cpu':>8} {'all cpu':>8}"
    )
    print(header)
    print("-" * len(header))
    for row in report.rows:
        r = row.result
        server_cpu = f"{r.cpu_server:.2f}" if r.cpu_server else "-"
        print(
            f"{row.phase:<20} {row.concurrency:>8} {r.rate:>9.0f} {r.p50_ms:>8.1f} "
            f"{r.p99_ms:>8.1f} {r.errors:>7} {server_cpu:>8} {r.cpu_machine:>8.2f}"
        )
    print("(cpu: cores used during the run, by the server processes and by the whole machine)")
    if report.spread_rate:
        print("(spread: the 020 storage script with each client writing for a merchant of its own)")
    print()
    storage_ratio = (
        report.peak_auth_rate / report.storage_peak_rate if report.storage_peak_rate else 0
    )
    trivial_ratio = report.peak_auth_rate / report.trivial_rate if report.trivial_rate else 0
    p99_ok = report.half_rate_p99_ms <= P99_TARGET_MS and report.half_rate_errors == 0
    print(
        f"peak authorisations  {report.peak_auth_rate:8.0f}/s at {report.peak_auth_concurrency} "
        "clients"
    )
    print(f"peak storage         {report.storage_peak_rate:8.0f}/s")
    print(f"trivial endpoint     {report.trivial_rate:8.0f}/s")
    print(
        f"auth / storage       {storage_ratio:8.2f}   (peak / peak)  target >= {STORAGE_RATIO_TARGET}  "
        f"{verdict(storage_ratio >= STORAGE_RATIO_TARGET)}"
    )
    print(f"auth / trivial       {trivial_ratio:8.2f}   (no target)")
    if report.spread_rate:
        one, spread = report.one_merchant_rate, report.spread_rate
        goal = STORAGE_RATIO_TARGET * report.storage_peak_rate
        print(
            f"notice counter       at {report.spread_concurrency} clients one merchant {one:.0f}/s, "
            f"a merchant per client {spread:.0f}/s (x{one / spread:.2f}): one merchant's cap >= "
            f"item 1's goal ({STORAGE_RATIO_TARGET} x peak storage = {goal:.0f}/s)  "
            f"{verdict(one >= goal)}"
        )
    if report.capture_storage_peak_rate:
        capture_ratio = report.peak_capture_rate / report.capture_storage_peak_rate
        print(f"peak captures        {report.peak_capture_rate:8.0f}/s   (022 by payment_id)")
        print(f"peak storage 022     {report.capture_storage_peak_rate:8.0f}/s")
        print(
            f"capture / storage    {capture_ratio:8.2f}   (peak / peak)  target >= "
            f"{STORAGE_RATIO_TARGET}  {verdict(capture_ratio >= STORAGE_RATIO_TARGET)}"
        )
    elif report.capture_note:
        print(f"capture / storage         -   ({report.capture_note})")
    if report.round_trips:
        trips = ", ".join(f"{kind} {n}" for kind, n in report.round_trips.items())
        print(f"round trips          {trips}   (per telegram, statements + BEGIN/COMMIT)")
    print(
        f"p99 at half peak     {report.half_rate_p99_ms:8.1f} ms at {report.half_rate_target:.0f}/s"
        f" (p50 {report.half_rate_p50_ms:.1f} ms, {report.half_rate_errors} errors)   "
        f"target <= {P99_TARGET_MS:g} ms  {verdict(p99_ok)}"
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per run")
    parser.add_argument(
        "--concurrency",
        type=lambda s: [int(v) for v in s.split(",") if v.strip()],
        default=[1, 4, 16, 32],
        help="comma list of closed-loop client counts",
    )
    parser.add_argument("--workers", type=int, default=1, help="kessai serve --workers")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("KESSAI_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL),
        help="PostgreSQL database to connect to for CREATE/DROP DATABASE",
    )
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--storage", choices=["auto", "pgbench", "python"], default="auto")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--verbose", action="store_true", help="print the server's log at the end")
    options = parser.parse_args(argv)
    if not options.concurrency or min(options.concurrency) < 1:
        parser.error("--concurrency needs positive integers")
    if options.duration < 1:
        parser.error("--duration must be at least 1 s")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    options = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kessai-bench-") as tmp:
        bench = Bench(options, Path(tmp))
        try:
            bench.setup()
            report = bench.run()
        except (RuntimeError, OSError, psycopg.Error, subprocess.TimeoutExpired) as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            progress("cleanup: stopping the server, dropping the database")
            bench.cleanup()
    print_report(report)
    if options.json:
        figures = asdict(report)
        for row, data in zip(report.rows, figures["rows"], strict=True):
            data["result"]["rate"] = row.result.rate
        options.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
