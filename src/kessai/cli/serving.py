"""The app factory uvicorn imports in each server process (`kessai serve`)."""

from __future__ import annotations

import gc
import json
import os

from starlette.applications import Starlette

from kessai.app import build_runtime, create_app
from kessai.config import Settings
from kessai.observability.logs import configure_logging


def app_from_environment() -> Starlette:
    options = json.loads(os.environ.get("KESSAI_SERVE_OPTIONS", "{}"))
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)  # in each server process
    runtime = build_runtime(settings)
    app = create_app(
        runtime,
        require_client_cert=bool(options.get("require_client_cert")),
        run_worker=bool(options.get("run_worker")),
    )
    freeze_startup_objects()
    return app


def freeze_startup_objects() -> None:
    """What a process has built before it serves (modules, the app, the mappers: ~190,000 objects)
    lives as long as the process: move it out of the garbage collector's reach, so that a full
    collection walks only what requests create. Measured on the 2-core bench machine, a full
    collection stopped every request for 135–150 ms without this and ~17 ms with it
    (bench/README.md, "Full collections")."""
    gc.collect()
    gc.freeze()
