"""What every CLI command shares: the settings, one readable error line, and the guard that turns
expected errors into that line instead of a traceback."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from kessai.config import Settings
from kessai.kit.errors import KessaiError

F = TypeVar("F", bound=Callable[..., Any])


def load_settings() -> Settings:
    return Settings()


def fail(message: str) -> None:
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
