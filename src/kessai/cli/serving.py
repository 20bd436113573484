"""The app factory uvicorn imports in each server process (`kessai serve`)."""

from __future__ import annotations

import json
import os

from starlette.applications import Starlette

from kessai.app import build_runtime, create_app
from kessai.config import Settings


def app_from_environment() -> Starlette:
    options = json.loads(os.environ.get("KESSAI_SERVE_OPTIONS", "{}"))
    runtime = build_runtime(Settings())
    return create_app(
        runtime,
        require_client_cert=bool(options.get("require_client_cert")),
        run_worker=bool(options.get("run_worker")),
    )
