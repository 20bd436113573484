"""Schema migrations (Alembic), run programmatically so `kessai migrate` needs no alembic.ini."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to `revision` (idempotent)."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


SchemaStatus = Literal["absent", "empty", "behind", "current", "unknown"]


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///"))
    return None


def head_revision() -> str:
    """The revision this code's schema is at."""
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None
    return head


def schema_status(url: str, engine: Engine | None = None) -> SchemaStatus:
    """Where the database at `url` stands against this code, without creating anything: `absent`
    (no SQLite file), `empty` (no schema), `behind` (run migrate), `current`, or `unknown` (a
    revision this code does not know: a newer release migrated it). Connection errors propagate."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        return "absent"
    owned = engine is None
    engine = engine or create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:  # read directly: alembic's context logs each time
            has_table = inspect(connection).has_table("alembic_version")
            revision = (
                connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                if has_table
                else None
            )
    finally:
        if owned:
            engine.dispose()
    if revision is None:
        return "empty"
    if revision == head_revision():
        return "current"
    script = ScriptDirectory.from_config(alembic_config(url))
    known = {rev.revision for rev in script.walk_revisions()}
    return "behind" if revision in known else "unknown"
