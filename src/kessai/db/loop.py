"""Card telegrams on the event loop: synchronous code whose database I/O is asyncpg.

A telegram's code is synchronous (the ORM, the lean statements, the credential check). In a thread,
each telegram costs a hop from the event loop to the pool and back, and the threads contend for the
GIL (bench/README.md: the hop alone was 10 % of the server's CPU). Here the same code runs in a
greenlet on the event loop (`run`, SQLAlchemy's `greenlet_spawn`), its sessions bound to an engine
whose driver is asyncpg (async psycopg for URLs asyncpg cannot read, `loop_engine`): every statement
suspends the telegram, not the loop, and other telegrams run meanwhile. It is how SQLAlchemy's own
asyncio layer runs the ORM.

Anything else that blocks must leave the loop while on it: a network connector (`OffLoop`) and a
wait (`pause`). Both behave as before in a thread (the worker, files, the CLI).

PostgreSQL only (`loop_engine` answers None for SQLite, whose telegrams keep their threads). The
engine is made inside the running loop (the app's lifespan) and disposed there: its connections
belong to that loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import asyncpg  # type: ignore[import-untyped]
from anyio import to_thread
from sqlalchemy import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util.concurrency import await_, greenlet_spawn, in_greenlet

from kessai.db.session import engine_options

T = TypeVar("T")


def loop_engine(url: str) -> AsyncEngine | None:
    """An engine for code run by `run` on this event loop; None where the database has no async
    driver here (SQLite). asyncpg where it reads the URL as libpq would (`ASYNCPG_OPTIONS`): a
    telegram's statements cost 40-50 % less client CPU on it than on psycopg (bench/driver.py).
    Any other URL option keeps async psycopg, which reads every libpq option."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return None
    if not set(parsed.query) <= ASYNCPG_OPTIONS:
        return create_async_engine(
            parsed.set(drivername="postgresql+psycopg_async"), **engine_options()
        )
    # asyncpg parses the URL itself, libpq's way (sslmode, sslrootcert…); SQLAlchemy's dialect
    # would hand each option to asyncpg.connect as a keyword, which refuses `sslmode`.
    dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
    options = engine_options()
    timeout = options.pop("connect_args")["connect_timeout"]

    async def connect() -> Any:
        return await asyncpg.connect(dsn, timeout=timeout)

    return create_async_engine("postgresql+asyncpg://", async_creator=connect, **options)


# The URL options asyncpg's own parser reads as libpq does (asyncpg.connect's `dsn`); it would
# send any other as a server setting, which the server refuses.
ASYNCPG_OPTIONS = frozenset(
    {"host", "port", "user", "password", "dbname", "database", "passfile"}
    | {"sslmode", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslpassword"}
)


async def run(fn: Callable[..., T], /, *args: Any) -> T:
    """`fn(*args)` on the event loop, its database I/O on an async engine suspending it."""
    return await greenlet_spawn(fn, *args)


def on_loop() -> bool:
    """Whether the caller runs on the event loop under `run` (and must not block)."""
    return in_greenlet()


def blocking(fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """`fn(*args, **kwargs)`, on a worker thread when called on the event loop (`run`): for calls
    that wait on the network or the disk."""
    if not in_greenlet():
        return fn(*args, **kwargs)
    return await_(to_thread.run_sync(partial(fn, *args, **kwargs)))


def pause(seconds: float) -> None:
    """`time.sleep`, or on the event loop a sleep that lets the other telegrams run."""
    if in_greenlet():
        await_(asyncio.sleep(seconds))
    else:
        time.sleep(seconds)


class OffLoop:
    """A connector whose every public call leaves the event loop (`blocking`): an institution
    reached over the network. In-process simulators need no wrapper."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._inner, name)
        if name.startswith("_") or not callable(value):
            return value
        return partial(blocking, value)
