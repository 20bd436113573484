"""The in-process scheduler: one thread running the periodic jobs until stopped, one pushing
notices to merchants (which must go out within seconds, not at the next 30-second pass), and one
running submitted files (ファイル決済) chunk by chunk, on `KESSAI_FILE_LANES` lanes.

`kessai serve` runs it inside the server process (the one-command demo); `kessai worker` runs it
alone.
Each job is idempotent and safe to run in several processes at once (row locks in the core).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from sqlalchemy import select

from kessai.config import Settings
from kessai.core.cards import schedule as card_refresh
from kessai.core.context import Core, MerchantRef
from kessai.core.files import process as files
from kessai.core.merchants.models import Merchant
from kessai.core.notifications.inquiry import purge_old_notices
from kessai.core.payments import later
from kessai.core.payments.card import commands
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.vaccount import claims as vaccount_claims
from kessai.worker.outbox import DeliveryLoop, deliver_due
from kessai.worker.threeds import run_threeds_jobs

log = logging.getLogger("kessai.worker")

FILE_IDLE_SECONDS = 1.0


def run_jobs_once(core: Core, settings: Settings) -> dict[str, int]:
    """One pass of every job, notice delivery and a few chunks of files included."""
    return {
        **run_periodic_jobs(core, settings),
        "file_lines": files.run_due(core, lanes=settings.resolved_file_lanes()),
        **deliver_due(core, settings),
    }


def run_periodic_jobs(core: Core, settings: Settings) -> dict[str, int]:
    """Expiries (and virtual-account closings), the reconciler, the notice purge, the 3-D Secure
    timeouts and the monthly 洗替 of merchants who asked for it (a batch of cards per pass): the
    jobs that are fine every 30 seconds."""
    with core.sessions() as session:
        merchants = {m.id: MerchantRef.of(m) for m in session.scalars(select(Merchant))}
    return {
        "expired": commands.expire_due(core) + later.expire_due(core) + carrier.expire_due(core),
        "closed": vaccount_claims.close_due(core),  # virtual accounts past deadline + grace (16)
        "reconciled": commands.reconcile_all(core, merchants)
        + carrier.reconcile_all(core, merchants),
        "purged": purge_old_notices(core, keep_days=settings.notice_retention_days),
        **run_threeds_jobs(core, settings),  # 3-D Secure timeouts and their term_url notices
        "cards_refreshed": card_refresh.refresh_due(core),
    }


class Scheduler:
    def __init__(self, core: Core, settings: Settings, *, interval: float = 30.0) -> None:
        self._core = core
        self._settings = settings
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="kessai-worker", daemon=True)
        self._delivery = DeliveryLoop(core, settings)
        self._files = threading.Thread(target=self._file_loop, name="kessai-files", daemon=True)

    def start(self) -> None:
        self._delivery.start()
        self._thread.start()
        self._files.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._files.join(timeout=10)
        self._delivery.stop()

    def _file_loop(self) -> None:
        """Files run as soon as they come: chunk after chunk while there is work, a short nap
        when there is none (a file's lines must not wait for the 30-second pass)."""
        while not self._stop.is_set():
            ran = 0
            try:
                ran = files.run_due(self._core, lanes=self._settings.resolved_file_lanes())
            except Exception:
                log.exception("file pass failed; retrying shortly")
            if not ran:
                self._stop.wait(FILE_IDLE_SECONDS)

    def _loop(self) -> None:
        while not self._stop.is_set():
            _guarded(lambda: run_periodic_jobs(self._core, self._settings))
            self._stop.wait(self._interval)


def _guarded(job: Callable[[], dict[str, int]]) -> None:
    try:
        done = job()
        if any(done.values()):
            log.info("worker pass: %s", done)
    except Exception:
        log.exception("worker pass failed; retrying next interval")
