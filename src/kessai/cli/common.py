"""What every CLI command shares: the settings, one readable error line, and the guard that turns
expected errors into that line instead of a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import click

from kessai.config import Settings
from kessai.kit.errors import KessaiError

F = TypeVar("F", bound=Callable[..., Any])


def load_settings() -> Settings:
    """The settings of a command that works on an existing database: without one (a `kessai` run
    outside the checkout, a typo in KESSAI_HOME) it stops with one line, before any key is made."""
    settings = Settings()
    require_database(settings)
    return settings


def require_database(settings: Settings) -> None:
    """Stop with one line unless the database exists, is reachable and its schema is current."""
    from sqlalchemy.exc import DBAPIError

    from kessai.db.migrate import schema_status, sqlite_path

    url = settings.resolved_database_url()
    where = sqlite_path(url) or redact(url)
    home = f"KESSAI_HOME (now {settings.home.resolve()})"
    try:
        status = schema_status(url)
    except DBAPIError as error:
        fail(f"cannot reach the database at {where}: {str(error.orig).strip().splitlines()[0]}")
    match status:
        case "absent":
            fail(f"no database at {where}; run `kessai migrate` or set {home}")
        case "empty":
            fail(f"the database at {where} has no schema; run `kessai migrate` or set {home}")
        case "behind":
            fail(f"the database at {where} needs upgrading; run `kessai migrate`")
        case "unknown":
            fail(f"the database at {where} was migrated by a newer Kessai; upgrade this one")
        case "current":
            return


def fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def guard(func: F) -> F:
    """Turn expected errors into one readable line instead of a traceback."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except KessaiError as error:
            fail(error.message)
        except (RuntimeError, ValueError, OSError) as error:
            fail(str(error))

    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper  # type: ignore[return-value]


def redact(url: str) -> str:
    """A database URL as logs and messages show it: without its password."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url
