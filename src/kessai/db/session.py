"""Engine and session factory.

SQLite runs in WAL mode and every transaction starts with `BEGIN IMMEDIATE`, so writers are serialised
up front instead of failing on upgrade (SQLite's single writer). PostgreSQL uses row locks
(`SELECT … FOR UPDATE`) in the repositories.

`pinned_sessions` gives one request a session factory bound to a single checked-out connection, so
a telegram's credential check and its command's transactions cost one pool checkout.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import psycopg
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        _sqlite_pragmas(engine)
        return engine
    return create_engine(url, **(engine_options() | kwargs))


def engine_options() -> dict[str, Any]:
    """The pool of a PostgreSQL engine (threads' or the event loop's, `kessai.db.loop`)."""
    # No pre-ping: it costs a round trip at every checkout. A connection the server dropped fails
    # its statement with a clear OperationalError, SQLAlchemy then invalidates the whole pool (its
    # disconnect handling), and the next checkout connects afresh; `pool_recycle` retires
    # connections before idle-timeouts in proxies or the server can cut them.
    return {
        "pool_size": 20,
        "max_overflow": 20,
        "pool_recycle": 1800,
        "connect_args": {"connect_timeout": 10},
    }


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def pinned_sessions(sessions: sessionmaker[Session]) -> Iterator[sessionmaker[Session]]:
    """`sessions`, bound to one connection checked out for the duration of the block. Each
    `begin()` still commits its own transaction on that connection; nothing is held between
    them but the idle connection itself (no transaction, no lock)."""
    bind = sessions.kw.get("bind")
    if not isinstance(bind, Engine):  # already pinned, or bound to something else: leave it
        yield sessions
        return
    with bind.connect() as connection:
        pinned = copy.copy(_PINNED)  # not a new sessionmaker: each makes a class of its own
        pinned.kw = {**_PINNED.kw, "bind": connection}
        yield pinned


_PINNED: sessionmaker[Session] = sessionmaker(expire_on_commit=False)


def engine_of(sessions: sessionmaker[Session]) -> Engine:
    """The engine `sessions` write through (pinned or not)."""
    bind = sessions.kw["bind"]
    return bind if isinstance(bind, Engine) else bind.engine


def dialect_of(sessions: sessionmaker[Session]) -> str:
    """ "postgresql" or "sqlite": the database `sessions` write to."""
    bind = sessions.kw.get("bind")
    return bind.dialect.name if isinstance(bind, Engine | Connection) else ""


def execute_seen(connection: Connection, sql: str, params: Mapping[str, Any]) -> Any:
    """`sql` on a new cursor of the connection's psycopg connection, the engine's cursor events
    fired around it as for any statement (instrumentation and tests see it). Returns the cursor."""
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    connection.dispatch.before_cursor_execute(connection, cursor, sql, params, None, False)
    cursor.execute(sql, params)
    connection.dispatch.after_cursor_execute(connection, cursor, sql, params, None, False)
    return cursor


def one_statement(connection: Connection, sql: str, params: Mapping[str, Any]) -> Any:
    """Run `sql` (psycopg's %(name)s parameters) as a transaction of its own in autocommit: one
    round trip, no BEGIN, no COMMIT (PostgreSQL makes a single statement atomic). The driver keeps
    it prepared (psycopg from its fifth use on the connection, asyncpg at once). Returns the first
    row, or None. A connection the server dropped is invalidated, so the pool replaces it; the
    error reaches the caller. The engine's cursor events fire as for any statement
    (instrumentation and tests see it)."""
    assert not connection.in_transaction(), "one_statement runs between transactions"
    driver = connection.connection.driver_connection
    if isinstance(driver, asyncpg.Connection):  # a telegram on the event loop (kessai.db.loop)
        return _one_statement_on_asyncpg(connection, driver, sql, params)
    if isinstance(driver, psycopg.AsyncConnection):  # the same, for URLs asyncpg cannot take
        return _one_statement_on_loop(connection, driver, sql, params)
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    dbapi.autocommit = True
    try:
        cursor = execute_seen(connection, sql, params)
        return cursor.fetchone() if cursor.description else None
    except Exception:
        if dbapi.closed:
            connection.invalidate()
        raise
    finally:
        if not dbapi.closed:
            dbapi.autocommit = False


def _one_statement_on_asyncpg(
    connection: Connection, driver: Any, sql: str, params: Mapping[str, Any]
) -> Any:
    """`one_statement` on asyncpg, straight on the driver: outside a transaction asyncpg runs a
    statement in autocommit, so the exchange is the statement and its row, one suspension."""
    from sqlalchemy.util.concurrency import await_

    text, names = _positional(sql)
    dispatch = connection.dispatch
    dispatch.before_cursor_execute(connection, None, sql, params, None, False)
    try:
        row = await_(driver.fetchrow(text, *[params[name] for name in names]))
    except Exception:
        if driver.is_closed():
            connection.invalidate()
        raise
    dispatch.after_cursor_execute(connection, None, sql, params, None, False)
    return row


_PARAMETER = re.compile(r"%\((\w+)\)s")


@functools.lru_cache(maxsize=64)
def _positional(sql: str) -> tuple[str, tuple[str, ...]]:
    """`sql` with asyncpg's $1, $2… for psycopg's %(name)s, and the names in their order."""
    names = tuple(dict.fromkeys(_PARAMETER.findall(sql)))
    number = {name: f"${index}" for index, name in enumerate(names, 1)}
    return _PARAMETER.sub(lambda match: number[match[1]], sql).replace("%%", "%"), names


def _one_statement_on_loop(
    connection: Connection,
    driver: psycopg.AsyncConnection[Any],
    sql: str,
    params: Mapping[str, Any],
) -> Any:
    """`one_statement` on an async psycopg connection (`kessai.db.loop`): the whole exchange
    (autocommit on, the statement, its row, autocommit off) is one suspension of the telegram,
    straight on the driver, not four through SQLAlchemy's adapter."""
    from sqlalchemy.util.concurrency import await_

    async def exchange() -> Any:
        await driver.set_autocommit(True)
        try:
            cursor = driver.cursor()
            dispatch = connection.dispatch
            dispatch.before_cursor_execute(connection, cursor, sql, params, None, False)
            await cursor.execute(sql, params)
            dispatch.after_cursor_execute(connection, cursor, sql, params, None, False)
            return await cursor.fetchone() if cursor.description else None
        finally:
            if not driver.closed:
                await driver.set_autocommit(False)

    try:
        return await_(exchange())
    except Exception:
        if driver.closed:
            connection.invalidate()
        raise
