"""A file worker that dies (SIGKILL) in the middle of a file, mid-line.

Run as ``python -m tests.support.dying_files CALLS`` with the gateway's ``KESSAI_*`` environment
(home, database, acquirer URL, file lanes). It builds the core as the server does and runs files
on its lanes; the acquirer it is handed forwards the first CALLS calls to the real one and kills
the process at the next, so that line is `running` (its write-ahead operation committed, nothing
sent), as is any line another lane had started, and the rest of their chunks `claimed`. Exit
status -9 means the hook fired; anything else is a broken test.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.connectors.base import CardAcquirer
from kessai.core.context import MerchantRef
from kessai.core.files import process


class DiesAfter:
    """The real acquirer for `calls` calls, then a kill -9 of this process."""

    name = "dies-after"

    def __init__(self, real: CardAcquirer, calls: int) -> None:
        self._real = real
        self._left = calls
        self._lock = threading.Lock()  # the file lanes call at once

    def __getattr__(self, method: str) -> Callable[..., object]:
        def call(**kwargs: object) -> object:
            with self._lock:
                if self._left <= 0:
                    os.kill(os.getpid(), signal.SIGKILL)
                    raise AssertionError("SIGKILL did not kill")
                self._left -= 1
            return getattr(self._real, method)(**kwargs)

        return call


def main(calls: str) -> None:
    runtime = build_runtime(Settings())
    real_for = runtime.core.acquirer_for
    hooks: dict[int, DiesAfter] = {}

    def acquirer_for(merchant: MerchantRef) -> DiesAfter:
        return hooks.setdefault(0, DiesAfter(real_for(merchant), int(calls)))

    core = replace(runtime.core, acquirer_for=acquirer_for)  # type: ignore[arg-type]
    while process.run_due(core, lanes=runtime.settings.resolved_file_lanes()):
        pass
    sys.exit("the fault hook never fired")


if __name__ == "__main__":
    main(*sys.argv[1:])
