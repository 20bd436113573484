"""Alembic environment: the URL comes from the caller's config (kessai.db.migrate)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from kessai.db import models
from kessai.db.session import make_engine

config = context.config
target_metadata = models.Base.metadata


def run_migrations_online() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url not set"
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable, url)
        return
    engine = make_engine(url)
    with engine.connect() as connection:
        _run(connection, url)
    engine.dispose()


def _run(connection, url: str) -> None:  # type: ignore[no-untyped-def]
    is_pg = url.startswith("postgresql")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=not is_pg,
        compare_type=True,
        compare_server_default=True,
    )
    if not is_pg:
        # SQLite alters a table by copying it into a new one and dropping the old: with foreign
        # keys enforced, dropping `merchants` under rows that refer to it fails. Alembic's advice:
        # enforcement off while migrating (a no-op inside a transaction, so before it), every
        # reference checked after, then on again.
        _sqlite_pragma(connection, "PRAGMA foreign_keys=OFF")
    with context.begin_transaction():
        if is_pg:
            # Two processes migrating at once (several API servers starting) take turns.
            connection.execute(text("SELECT pg_advisory_xact_lock(846301)"))
            connection.execute(text("SET LOCAL lock_timeout = '10s'"))
        context.run_migrations()
    if not is_pg:
        broken = _sqlite_pragma(connection, "PRAGMA foreign_key_check")
        _sqlite_pragma(connection, "PRAGMA foreign_keys=ON")
        if broken:
            raise RuntimeError(f"the migration left rows whose references are broken: {broken[:5]}")


def _sqlite_pragma(connection, pragma: str) -> list[object]:  # type: ignore[no-untyped-def]
    # On the driver's own connection: through SQLAlchemy the statement would first open the
    # engine's BEGIN IMMEDIATE (kessai.db.session), and these pragmas do nothing in a transaction.
    cursor = connection.connection.driver_connection.execute(pragma)
    rows: list[object] = cursor.fetchall()
    cursor.close()
    return rows


run_migrations_online()
