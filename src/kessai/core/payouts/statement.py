"""A payout statement (支払明細) as a plain value: what the statement close publishes as JSON and
what the statement's PDF is drawn from.

The JSON contract (`kessai settle close … --json`)::

    {"statement_id", "merchant_id", "period_from", "period_through", "payout_date",
     "lines": [{"payment_type", "count", "gross", "refunds", "fees"}],
     "fees_total", "tax", "adjustments", "carried_in", "payout_amount", "carried_forward"}

Dates are ``YYYY-MM-DD``, amounts int yen. `Statement.from_json` reads exactly that and refuses
anything else (a missing or extra key, a float, a boolean for a number) with the field named.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from kessai.kit.errors import InvalidRequest

INVOICE_NUMBER = re.compile(r"T[0-9]{13}", re.ASCII)  # 適格請求書発行事業者登録番号
_LINE_KEYS = ("payment_type", "count", "gross", "refunds", "fees")
_KEYS = (
    "statement_id",
    "merchant_id",
    "period_from",
    "period_through",
    "payout_date",
    "lines",
    "fees_total",
    "tax",
    "adjustments",
    "carried_in",
    "payout_amount",
    "carried_forward",
)


@dataclass(frozen=True, slots=True)
class StatementLine:
    """One payment method's figures in the period (amounts in yen; fees before tax)."""

    payment_type: str  # PAYGENT's code: 01 ATM, 02 card, 03 CVS, …
    count: int
    gross: int
    refunds: int
    fees: int


@dataclass(frozen=True, slots=True)
class Statement:
    """One payout statement, field for field the statement close's JSON."""

    statement_id: str
    merchant_id: int
    period_from: date
    period_through: date
    payout_date: date
    lines: tuple[StatementLine, ...]
    fees_total: int  # before tax, the 10 % taxable amount
    tax: int  # consumption tax on fees_total
    adjustments: int
    carried_in: int
    payout_amount: int
    carried_forward: int

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Statement:
        """The statement in `data` (a parsed JSON object of the contract above)."""
        _exact_keys(data, _KEYS, "statement")
        return cls(
            statement_id=_text(data, "statement_id"),
            merchant_id=_int(data, "merchant_id"),
            period_from=_date(data, "period_from"),
            period_through=_date(data, "period_through"),
            payout_date=_date(data, "payout_date"),
            lines=tuple(_line(line) for line in _list(data, "lines")),
            **{key: _int(data, key) for key in _KEYS[6:]},
        )


@dataclass(frozen=True, slots=True)
class StatementDocument:
    """What the statement's PDF prints: the statement, who it is for and who issues it.

    The statement is also the operator's qualified invoice (適格請求書) for its fees: it carries the
    operator's registration number and the fees and tax per tax rate (10 %)."""

    statement: Statement
    merchant_name: str
    issuer_name: str
    registration_number: str  # T + 13 digits
    tax_rate_percent: int = 10

    def __post_init__(self) -> None:
        if not INVOICE_NUMBER.fullmatch(self.registration_number):
            raise InvalidRequest(
                field="registration_number",
                message="the invoice registration number is T and 13 digits "
                f"(KESSAI_INVOICE_REGISTRATION_NUMBER), not {self.registration_number!r}",
            )


def _line(value: Any) -> StatementLine:
    if not isinstance(value, Mapping):
        raise InvalidRequest(field="lines", message="each statement line is an object")
    _exact_keys(value, _LINE_KEYS, "statement line")
    return StatementLine(
        payment_type=_text(value, "payment_type"),
        **{key: _int(value, key) for key in _LINE_KEYS[1:]},
    )


def _exact_keys(data: Mapping[str, Any], keys: tuple[str, ...], what: str) -> None:
    missing, extra = set(keys) - set(data), set(data) - set(keys)
    if missing or extra:
        raise InvalidRequest(
            message=f"{what}: missing {sorted(missing)}, unexpected {sorted(extra)}"
        )


def _int(data: Mapping[str, Any], key: str) -> int:
    value = data[key]
    if type(value) is not int:  # bool is an int subclass; a float is not yen
        raise InvalidRequest(field=key, message=f"{key} must be an integer, not {value!r}")
    return value


def _text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if not isinstance(value, str) or not value:
        raise InvalidRequest(field=key, message=f"{key} must be a non-empty string")
    return value


def _date(data: Mapping[str, Any], key: str) -> date:
    value = _text(data, key)
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value, re.ASCII):
        raise InvalidRequest(field=key, message=f"{key} must be YYYY-MM-DD, not {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(field=key, message=f"{key} is not a date: {value!r}") from None


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data[key]
    if not isinstance(value, list):
        raise InvalidRequest(field=key, message=f"{key} must be a list")
    return value
