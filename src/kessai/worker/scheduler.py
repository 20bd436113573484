"""The in-process scheduler: one thread running the periodic jobs until stopped.

`kessai serve` runs it inside the server process (the one-command demo); `kessai worker` runs it
alone.
Each job is idempotent and safe to run in several processes at once (row locks in the core).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select

from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.models import Merchant
from kessai.core.payments import commands

log = logging.getLogger("kessai.worker")


def run_jobs_once(core: Core) -> dict[str, int]:
    """One pass of every job; returns what each did."""
    with core.sessions() as session:
        merchants = {
            m.id: MerchantRef(id=m.id, mode=m.mode) for m in session.scalars(select(Merchant))
        }
    return {
        "expired": commands.expire_due(core),
        "reconciled": commands.reconcile_all(core, merchants),
    }


class Scheduler:
    def __init__(self, core: Core, *, interval: float = 30.0) -> None:
        self._core = core
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kessai-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            _guarded(lambda: run_jobs_once(self._core))
            self._stop.wait(self._interval)


def _guarded(job: Callable[[], dict[str, int]]) -> None:
    try:
        done = job()
        if any(done.values()):
            log.info("worker pass: %s", done)
    except Exception:
        log.exception("worker pass failed; retrying next interval")
