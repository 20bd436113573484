"""Group commit for one-statement transactions run side by side (PostgreSQL).

The hot paths write each transaction as ONE statement sent in autocommit (`session.one_statement`):
one round trip and one commit each. A file's chunk runs its lines on threads of their own, each
through its telegram's ordinary code; while a `StatementGroup` is current in those threads, their
one-statement transactions wait for each other and are committed together: once every line still
running has handed in its next statement, they go to the database as one pipelined transaction (one
round trip, one WAL flush instead of one per statement), and each thread gets its own statement's
row back. A commit costs PostgreSQL more CPU than most of these statements themselves.

Nothing of a statement's meaning changes: each is still atomic; it sees every statement committed
before it, including those earlier in its group (READ COMMITTED takes a snapshot per statement); its
row reaches its thread only after the group's COMMIT, so a write-ahead mark is durable before the
thread acts on it. A group that fails as a whole (a deadlock, a serialisation failure, a statement's
own error) is rolled back and its statements are run again one at a time in autocommit, so an error
reaches only the thread whose statement caused it. Statements that depend on another thread's
outcome (the same trading_id twice) must not share a group: the caller keeps them apart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

from kessai.db.session import execute_seen, one_statement

log = logging.getLogger("kessai.db")

_CURRENT: ContextVar[StatementGroup | None] = ContextVar("kessai_statement_group", default=None)


def run_statement(sessions: sessionmaker[Session], sql: str, params: Mapping[str, Any]) -> Any:
    """A one-statement transaction: through the current thread's group if it has one, otherwise
    alone in autocommit on a connection of `sessions`. Returns the first row, or None."""
    group = _CURRENT.get()
    if group is not None:
        return group.run(sql, params)
    bind = sessions.kw["bind"]
    if isinstance(bind, Connection):  # pinned: the telegram's own connection
        return one_statement(bind, sql, params)
    with bind.connect() as connection:
        return one_statement(connection, sql, params)


@dataclass
class _Statement:
    sql: str
    params: Mapping[str, Any]
    row: Any = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class StatementGroup:
    """The one-statement transactions of `members` threads, committed together (see module doc).
    Each member joins in its own thread (`member()`); a member that ends, or steps out, no longer
    holds the others back."""

    engine: Engine
    members: int
    flushes: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _pending: list[_Statement] = field(default_factory=list)
    _connection: Connection | None = None

    @contextmanager
    def member(self) -> Iterator[None]:
        """This thread's one-statement transactions go through the group until the block ends."""
        token = _CURRENT.set(self)
        try:
            yield
        finally:
            _CURRENT.reset(token)
            self._leave()

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def run(self, sql: str, params: Mapping[str, Any]) -> Any:
        statement = _Statement(sql, params)
        with self._cond:
            self._pending.append(statement)
            self._flush_if_all_in()
            while not statement.done:
                self._cond.wait()
        if statement.error is not None:
            raise statement.error
        return statement.row

    def _leave(self) -> None:
        with self._cond:
            self.members -= 1
            self._flush_if_all_in()

    def _flush_if_all_in(self) -> None:
        """With the condition held: when every member still running waits on a statement, run
        them (in this thread; the others are all waiting) and wake everyone."""
        if not self._pending or len(self._pending) < self.members:
            return
        batch, self._pending = self._pending, []
        try:
            self._execute(batch)
        finally:
            for statement in batch:
                statement.done = True
            self._cond.notify_all()

    def _execute(self, batch: list[_Statement]) -> None:
        if self._connection is None:
            self._connection = self.engine.connect()
        connection = self._connection
        try:
            together = len(batch) > 1 and self._together(connection, batch)
        except Exception as error:  # the connection is gone: every statement of the group failed
            for statement in batch:
                statement.error = error
            return
        if not together:
            for statement in batch:  # alone, or again one at a time after the group failed
                try:
                    statement.row = one_statement(connection, statement.sql, statement.params)
                except Exception as error:  # the statement's own error, for its own thread
                    statement.error = error
        self.flushes += 1

    def _together(self, connection: Connection, batch: list[_Statement]) -> bool:
        """The batch as one transaction, pipelined; False (rolled back) when it failed."""
        dbapi = connection.connection.dbapi_connection
        assert isinstance(dbapi, psycopg.Connection)
        try:
            with dbapi.pipeline():
                cursors = [execute_seen(connection, st.sql, st.params) for st in batch]
            rows = [cursor.fetchone() if cursor.description else None for cursor in cursors]
            dbapi.commit()
        except Exception as error:  # the database's, or a parameter psycopg could not adapt
            if dbapi.closed:
                connection.invalidate()
                connection.close()
                self._connection = None
                raise
            dbapi.rollback()
            log.info(
                "a group of %d one-statement transactions was rolled back (%s: %s); "
                "running them one at a time",
                len(batch),
                type(error).__name__,
                str(error).splitlines()[0] if str(error) else "",
            )
            return False
        for statement, row in zip(batch, rows, strict=True):
            statement.row = row
        return True
