"""Shared fixtures: a real database (SQLite or PostgreSQL, chosen by KESSAI_TEST_DB), migrated by
Alembic; the real gateway on a port; merchants created through the core.

KESSAI_TEST_DB=sqlite (default) uses a file under the test's temporary directory.
KESSAI_TEST_DB=postgresql creates a fresh database on the server of KESSAI_TEST_DATABASE_URL
(or KESSAI_TEST_PG_URL; default postgresql+psycopg://postgres@127.0.0.1:5432/test) for the run and
drops it afterwards.

Tests that drive a Debian program (chromium, w3m, nginx) skip when it is missing, with a reason
naming it (`needs_system_package`); the run ends with one line that lists them and the command that
installs them, so `make test` passes on a machine with only Python and make.
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
from tests.support.system import SYSTEM_DEPS_COMMAND, SYSTEM_SKIP

PG_ADMIN_URL = (
    os.environ.get("KESSAI_TEST_DATABASE_URL")
    or os.environ.get("KESSAI_TEST_PG_URL")
    or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Count the tests skipped for a missing program (printed last, by pytest_unconfigure)."""
    packages: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        if SYSTEM_SKIP in reason:
            package = reason.split(SYSTEM_SKIP, 1)[1].split(":", 1)[0]
            packages[package] = packages.get(package, 0) + 1
    if packages:
        listed = ", ".join(f"{count} need {name}" for name, count in sorted(packages.items()))
        terminalreporter.config.stash[_SYSTEM_SKIPS] = (
            f"SKIPPED {sum(packages.values())} tests for missing programs ({listed}); "
            f"enable them with: {SYSTEM_DEPS_COMMAND}"
        )


_SYSTEM_SKIPS = pytest.StashKey[str]()


def pytest_unconfigure(config: pytest.Config) -> None:
    """The run's very last line: which tests skipped for a missing program, and the one command."""
    line = config.stash.get(_SYSTEM_SKIPS, None)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if line and reporter is not None:
        reporter.write_line(line, yellow=True, bold=True)


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
