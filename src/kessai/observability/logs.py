"""Log lines: plain text for a terminal, or one JSON object per line (`KESSAI_LOG_FORMAT=json`) for a
log shipper. Every record carries the id of the request it happened in (also sent back in the
`X-Request-Id` header). Card numbers are kept out at the source; as a second line of defence, any
run of 15–19 digits (card lengths; test cards need not pass Luhn) and any Luhn-valid run of 13–14
is masked before a line is written. Kessai's own 14-digit time stamps are not Luhn-valid as a rule,
and a masked one costs nothing but a digit or two of a log line."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Literal

REQUEST_ID: ContextVar[str] = ContextVar("kessai_request_id", default="")

_DIGIT_RUN = re.compile(r"(?<!\d)\d{13,19}(?!\d)")


def _luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def redact(text: str) -> str:
    """Mask what could be a card number, keeping the last four digits."""
    return _DIGIT_RUN.sub(_mask, text)


def _mask(match: re.Match[str]) -> str:
    digits = match[0]
    if len(digits) >= 15 or _luhn_valid(digits):
        return "*" * (len(digits) - 4) + digits[-4:]
    return digits


class RequestIdFilter(logging.Filter):
    """Stamps each record with the current request's id ("" outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request_id = getattr(record, "request_id", "")
        return redact(f"{line} request_id={request_id}" if request_id else line)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, request_id, and the
    exception's text when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", ""),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(entry, ensure_ascii=False))


def configure_logging(level: str, fmt: Literal["text", "json"]) -> None:
    """The root logger writes to stderr in `fmt`; uvicorn's own loggers go through it too."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
        logging.getLogger(name).propagate = True
