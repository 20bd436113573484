"""File payment (ファイル決済): a large 020 (authorisation) file run by the real worker on PostgreSQL.

    .venv/bin/python bench/file_payment.py                  # 10,000 then 100,000 lines
    .venv/bin/python bench/file_payment.py --lines 20000    # 2,000 then 20,000 lines, ~2 min here
    .venv/bin/python bench/file_payment.py --lines 100000 --rate 20 --json /tmp/files.json

One run: a fresh PostgreSQL database `kessai_bench_<random>` (dropped at the end), `kessai migrate`,
a sandbox merchant (`kessai merchant create --json`), and `kessai serve --no-worker --no-simulators`
on a free port of 127.0.0.1 for the telegrams. Then, for a small file (`--lines` / 10) and the full
one:

1. **Telegrams with no file running.** Ordinary 020 telegrams (card 4900000000000000, approved by
   the sandbox) sent open loop at `--rate` per second for `--window` seconds (bench/auth.py's
   client: latency from each request's scheduled time, so a stalled server cannot hide its queue).
2. **The file.** A CSV of `trading_id,payment_amount,card_number,card_valid_term` lines (every card
   approved), submitted with `kessai files submit MERCHANT_ID FILE --type 020 --json` (the card
   numbers are sealed in the vault then; not timed). A `kessai worker` process is started and runs
   it, as in production. While it runs, progress (lines done, rate, the worker's RSS) is printed.
3. **Telegrams while the file runs** (full file only): the same telegrams, rate and window as in 1,
   started once the worker is running lines. The window must end before the file does, or the
   figure is marked.
4. **Report.** Lines per second (first line done → last line done, from the lines' own timestamps;
   and wall time from starting the worker), the worker's peak RSS (`VmHWM` of its process, read
   just before it is stopped) for both file sizes, and the telegrams' p99 with and without the file
   and their ratio. Targets (issue #15): ≥ 1,000 lines/s, peak RSS flat in the file size (the big
   file's peak at most 1.25 × the small one's), telegram p99 at most doubled.

Only 127.0.0.1 is contacted; every phase is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench/auth.py's client and helpers
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import psycopg
from auth import (
    DEFAULT_ADMIN_URL,
    HOST,
    Database,
    LoadResult,
    Server,
    Target,
    auth_body_base,
    kessai,
    progress,
    run_open_python,
)

LINES_PER_S_TARGET: Final = 1000.0
RSS_FLAT_TARGET: Final = 1.25  # big file's peak over the small one's
P99_RATIO_TARGET: Final = 2.0
OK_CARD: Final = "4900000000000000"
FILE_TIMEOUT: Final = 1800.0  # seconds: a file that takes longer is reported as a failure


@dataclass
class FileRun:
    lines: int
    submit_s: float = 0.0
    lines_per_s: float = 0.0  # first line done → last line done
    wall_lines_per_s: float = 0.0  # worker started → file done (includes the worker's start-up)
    peak_rss_mib: float = 0.0
    rss_samples_mib: list[float] = field(default_factory=list)
    ok_lines: int = 0
    error_lines: int = 0
    telegrams: LoadResult | None = None
    window_inside_file: bool = True


@dataclass
class Report:
    db_version: str
    rate: float
    window: float
    idle: LoadResult | None = None
    runs: list[FileRun] = field(default_factory=list)


# ---------------------------------------------------------------- the worker process


def status_kib(pid: int, name: str) -> int:
    found = re.search(rf"^{name}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.M)
    return int(found.group(1)) if found else 0


class Worker:
    """`kessai worker` in its own process group (the same command operators run)."""

    def __init__(self, env: dict[str, str], logfile: Path) -> None:
        import subprocess

        self._log = logfile.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kessai", "worker"],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started = time.perf_counter()

    def peak_mib(self) -> float:
        return status_kib(self.proc.pid, "VmHWM") / 1024

    def rss_mib(self) -> float:
        return status_kib(self.proc.pid, "VmRSS") / 1024

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._log.close()


# ---------------------------------------------------------------- one file


def write_file(path: Path, lines: int, prefix: str) -> None:
    with path.open("w", encoding="cp932", newline="") as out:
        out.write("trading_id,payment_amount,card_number,card_valid_term\r\n")
        for n in range(lines):
            out.write(f"{prefix}{n:07d},{300 + n % 2000},{OK_CARD},1230\r\n")


def file_state(db: Database, receipt_id: str) -> tuple[str, int]:
    with psycopg.connect(**db.conninfo()) as conn:  # type: ignore[arg-type]
        row = conn.execute(
            "SELECT f.status, (SELECT count(*) FROM payment_file_lines l "
            "WHERE l.file_id = f.id AND l.status = 'done') FROM payment_files f "
            "WHERE f.receipt_id = %s",
            (receipt_id,),
        ).fetchone()
    assert row is not None
    return str(row[0]), int(row[1])


def line_figures(db: Database, receipt_id: str) -> tuple[float, int, int]:
    """Seconds from the first line done to the last, and the lines answered ok / with an error."""
    with psycopg.connect(**db.conninfo()) as conn:  # type: ignore[arg-type]
        row = conn.execute(
            "SELECT extract(epoch FROM max(l.updated_at) - min(l.updated_at)), "
            "count(*) FILTER (WHERE l.result = '0'), count(*) FILTER (WHERE l.result <> '0') "
            "FROM payment_file_lines l JOIN payment_files f ON f.id = l.file_id "
            "WHERE f.receipt_id = %s",
            (receipt_id,),
        ).fetchone()
    assert row is not None
    return float(row[0] or 0.0), int(row[1]), int(row[2])


class Bench:
    def __init__(self, options: argparse.Namespace, workdir: Path) -> None:
        self.options = options
        self.workdir = workdir
        self.db = Database("postgresql", options.admin_url, workdir)
        self.env = {
            **os.environ,
            "KESSAI_HOME": str(workdir),
            "KESSAI_DATABASE_URL": self.db.kessai_url,
            "KESSAI_LOG_LEVEL": "WARNING",
        }
        self.creds: dict[str, Any] = {}

    def setup(self) -> None:
        progress("setup: a fresh PostgreSQL database, migrating, one sandbox merchant")
        self.db.create()
        kessai(["migrate"], self.env)
        self.creds = json.loads(
            kessai(["merchant", "create", "--json", "--name", "files"], self.env)
        )
        self.server = Server(self.env, 1, self.workdir / "server.log")
        self.server.wait_ready()
        self.target = Target(self.server.port, "/n/card/request", auth_body_base(self.creds))
        run_open_python(self.target, prefix="WARM", rate=self.options.rate, duration=3)
        progress(f"setup: kessai serve on {HOST}:{self.server.port}")

    def telegrams(self, prefix: str) -> LoadResult:
        return run_open_python(
            self.target, prefix=prefix, rate=self.options.rate, duration=self.options.window
        )

    def run_file(self, lines: int, *, with_telegrams: bool) -> FileRun:
        run = FileRun(lines=lines)
        path = self.workdir / f"file-{lines}.csv"
        write_file(path, lines, f"F{lines}X")
        progress(f"file of {lines:,} lines: submitting ({path.stat().st_size / 1e6:.1f} MB)")
        started = time.perf_counter()
        merchant = str(self.creds["merchant_id"])
        submitted = kessai(  # 100,000 cards sealed and stored: minutes on a busy machine
            ["files", "submit", merchant, str(path), "--type", "020", "--json"],
            self.env,
            timeout=FILE_TIMEOUT,
        )
        receipt_id = json.loads(submitted)["file_receipt_id"]
        run.submit_s = time.perf_counter() - started
        progress(f"  accepted as {receipt_id} in {run.submit_s:.1f} s; starting kessai worker")
        self.db.settle()
        worker = Worker(self.env, self.workdir / f"worker-{lines}.log")
        try:
            done_at = self._watch(worker, receipt_id, lines, run, with_telegrams)
            run.peak_rss_mib = worker.peak_mib()
        finally:
            worker.stop()
        seconds, run.ok_lines, run.error_lines = line_figures(self.db, receipt_id)
        run.lines_per_s = (lines - 1) / seconds if seconds > 0 else 0.0
        run.wall_lines_per_s = lines / (done_at - worker.started)
        return run

    def _watch(
        self, worker: Worker, receipt_id: str, lines: int, run: FileRun, with_telegrams: bool
    ) -> float:
        """Until the file is done: progress every few seconds; the telegrams in a thread once the
        worker runs lines. Returns when the file was seen done (perf_counter)."""
        box: list[LoadResult] = []
        load: threading.Thread | None = None
        window_end = 0.0
        last_print = 0.0
        while True:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"kessai worker exited: see {self.workdir}/worker-{lines}.log")
            status, done = file_state(self.db, receipt_id)
            now = time.perf_counter()
            run.rss_samples_mib.append(round(worker.rss_mib(), 1))
            if with_telegrams and load is None and done > 0:
                load = threading.Thread(target=lambda: box.append(self.telegrams(f"T{lines}X")))
                load.start()
                window_end = now + self.options.window
            if status == "done":
                break
            if now - last_print >= 5:
                rate = done / (now - worker.started)
                progress(
                    f"  {done:,} / {lines:,} lines  {rate:,.0f} lines/s since start  "
                    f"worker RSS {worker.rss_mib():.0f} MiB"
                )
                last_print = now
            if now - worker.started > FILE_TIMEOUT:
                raise RuntimeError(f"the file did not finish in {FILE_TIMEOUT:g} s")
            time.sleep(0.5)
        if load is not None:
            load.join()
            run.telegrams = box[0]
            run.window_inside_file = window_end <= now
        return now

    def run(self) -> Report:
        report = Report(self.db.version(), self.options.rate, self.options.window)
        small = max(1, self.options.lines // 10)
        run = self.run_file(small, with_telegrams=False)
        report.runs.append(run)
        progress(
            f"telegrams with no file running: {self.options.rate:g}/s for {self.options.window:g} s"
        )
        self.db.settle()
        report.idle = self.telegrams("IDLEX")
        report.runs.append(self.run_file(self.options.lines, with_telegrams=True))
        return report

    def close(self) -> None:
        if getattr(self, "server", None) is not None:
            self.server.stop()
        self.db.drop()


# ---------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def print_report(report: Report) -> None:
    print()
    print("File payment (020 authorisation files) on", report.db_version)
    print(f"  machine    {os.cpu_count()} CPUs; kessai serve --workers 1 and one kessai worker")
    print()
    print(
        f"{'lines':>9} {'submit s':>9} {'lines/s':>9} {'wall l/s':>9} {'peak RSS MiB':>13} {'ok':>8} {'errors':>7}"
    )
    for run in report.runs:
        print(
            f"{run.lines:>9,} {run.submit_s:>9.1f} {run.lines_per_s:>9,.0f} "
            f"{run.wall_lines_per_s:>9,.0f} {run.peak_rss_mib:>13.1f} {run.ok_lines:>8,} "
            f"{run.error_lines:>7,}"
        )
    print()
    idle, big = report.idle, report.runs[-1]
    busy = big.telegrams
    print(f"020 telegrams, open loop {report.rate:g}/s for {report.window:g} s:")
    print(f"{'':22} {'sent ok':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for name, result in (("no file running", idle), (f"{big.lines:,}-line file", busy)):
        if result is not None:
            print(
                f"{name:22} {result.requests:>8} {result.p50_ms:>8.1f} {result.p99_ms:>8.1f} "
                f"{result.errors:>7}"
            )
    print()
    small = report.runs[0]
    flat = big.peak_rss_mib / small.peak_rss_mib if small.peak_rss_mib else 0.0
    print(
        f"lines/s            {big.lines_per_s:,.0f}   target >= {LINES_PER_S_TARGET:,.0f}   "
        f"{verdict(big.lines_per_s >= LINES_PER_S_TARGET)}"
    )
    print(
        f"peak RSS           {small.peak_rss_mib:.1f} MiB ({small.lines:,} lines) -> "
        f"{big.peak_rss_mib:.1f} MiB ({big.lines:,} lines), x{flat:.2f}   "
        f"target <= x{RSS_FLAT_TARGET:g}   {verdict(0 < flat <= RSS_FLAT_TARGET)}"
    )
    if idle is not None and busy is not None and idle.p99_ms > 0:
        ratio = busy.p99_ms / idle.p99_ms
        note = "" if big.window_inside_file else "  (the file finished before the window ended)"
        print(
            f"telegram p99       {idle.p99_ms:.1f} ms -> {busy.p99_ms:.1f} ms, x{ratio:.2f}   "
            f"target <= x{P99_RATIO_TARGET:g}   {verdict(ratio <= P99_RATIO_TARGET)}{note}"
        )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--lines", type=int, default=100_000, help="the big file; the small is 1/10"
    )
    parser.add_argument("--rate", type=float, default=20.0, help="020 telegrams per second")
    parser.add_argument("--window", type=float, default=15.0, help="seconds of telegrams")
    parser.add_argument(
        "--admin-url", default=os.environ.get("KESSAI_BENCH_ADMIN_URL", DEFAULT_ADMIN_URL)
    )
    parser.add_argument("--json", type=Path)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kessai-files-bench-") as tmp:
        bench = Bench(options, Path(tmp))
        try:
            bench.setup()
            report = bench.run()
        finally:
            bench.close()
    print_report(report)
    if options.json:
        options.json.write_text(json.dumps(asdict(report), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
