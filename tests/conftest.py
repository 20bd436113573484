"""Shared fixtures: a real database (SQLite or PostgreSQL, chosen by KESSAI_TEST_DB), migrated by
Alembic; the real gateway on a port; merchants created through the core.

KESSAI_TEST_DB=sqlite (default) uses a file under the test's temporary directory.
KESSAI_TEST_DB=postgresql creates a fresh database on KESSAI_TEST_PG_URL (default
postgresql+psycopg://postgres@127.0.0.1:5432/test) for the run and drops it afterwards.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from kessai.app import Runtime, build_runtime, create_app
from kessai.config import Settings
from kessai.core.merchants.commands import NewMerchant, create_merchant
from kessai.db.migrate import upgrade
from tests.support.servers import serve_app

PG_ADMIN_URL = os.environ.get(
    "KESSAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def test_db_kind() -> str:
    return os.environ.get("KESSAI_TEST_DB", "sqlite")


test_db_kind.__test__ = False  # type: ignore[attr-defined]


@dataclass
class TestClock:
    """Real time plus an offset the tests can move forward (expiries, deadlines)."""

    __test__ = False
    offset: timedelta = field(default_factory=timedelta)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


@pytest.fixture(scope="session")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every log record of the run, as an operator would keep them (grepped for card numbers)."""
    path = tmp_path_factory.mktemp("logs") / "kessai.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for noisy in ("hpack", "httpcore", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.INFO)
    # httpx is the merchants' side here (it logs the URLs the tests request, query strings and
    # all); the gateway's own records are what the card-number search is about.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if test_db_kind() == "postgresql":
        yield from _fresh_postgres_database()
        return
    path = tmp_path_factory.mktemp("db") / "kessai.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    yield url


def _fresh_postgres_database() -> Iterator[str]:
    name = f"kessai_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def clock() -> TestClock:
    return TestClock()


@pytest.fixture(autouse=True)
def _reset_clock(clock: TestClock) -> Iterator[None]:
    yield
    clock.offset = timedelta()


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="session")
def runtime(database_url: str, home: Path, clock: TestClock, log_file: Path) -> Iterator[Runtime]:
    settings = Settings(home=home, database_url=database_url)
    rt = build_runtime(settings, clock=clock)
    yield rt
    rt.engine.dispose()


@pytest.fixture(scope="session")
def server(runtime: Runtime) -> Iterator[str]:
    """The gateway on a free port of 127.0.0.1 (plain HTTP, as the embedded demo)."""
    with serve_app(create_app(runtime), http="h11") as base_url:
        yield base_url


@pytest.fixture
def merchant(runtime: Runtime) -> NewMerchant:
    """A fresh sandbox merchant per test: tests never see each other's payments or notices."""
    return make_merchant(runtime)


def make_merchant(runtime: Runtime, **kwargs: object) -> NewMerchant:
    with runtime.core.sessions.begin() as session:
        return create_merchant(
            session,
            secret=runtime.core.secret,
            now=runtime.core.clock.now(),
            name="テスト加盟店",
            **kwargs,  # type: ignore[arg-type]
        )
