"""The app factory uvicorn imports in each server process (`kessai serve`)."""

from __future__ import annotations

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
    return create_app(
        runtime,
        require_client_cert=bool(options.get("require_client_cert")),
        run_worker=bool(options.get("run_worker")),
    )
