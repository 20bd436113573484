"""Reading the console's forms into core values: the search criteria, paging, amounts, dates.

Bad input never reaches the core: each reader raises InvalidRequest with a message for people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from starlette.datastructures import QueryParams

from kessai.core.payments.labels import ALL_STATUSES, METHOD_NAMES
from kessai.core.payments.queries import SORTS, PaymentSearch, Period
from kessai.kit.errors import InvalidRequest

PAGE_SIZES = (20, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_AMOUNT = 99_999_999

# The search form's fields (what a page link or the CSV link repeats).
SEARCH_FIELDS = (
    "trading_id",
    "trading_match",
    "payment_id",
    "status",
    "method",
    "institution",
    "created_from",
    "created_to",
    "due_from",
    "due_to",
    "paid_from",
    "paid_to",
    "amount_min",
    "amount_max",
    "sort",
    "order",
    "per_page",
)


@dataclass(frozen=True, slots=True)
class Paging:
    page: int
    per_page: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def search_criteria(query: QueryParams) -> PaymentSearch:
    """The search form → PaymentSearch; InvalidRequest names the field that is wrong."""
    statuses = tuple(s for s in query.getlist("status") if s in ALL_STATUSES)
    methods = tuple(m for m in query.getlist("method") if m in METHOD_NAMES)
    sort = query.get("sort", "created_at")
    return PaymentSearch(
        trading_id=query.get("trading_id", "").strip()[:25],
        trading_prefix=query.get("trading_match") == "prefix",
        payment_id=_int(query.get("payment_id", ""), "決済ID", maximum=MAX_ID),
        statuses=statuses,
        methods=methods,
        institution=query.get("institution", "").strip()[:64],
        created=_days(query, "created", "取引日時"),
        due=_days(query, "due", "支払期限日"),
        paid=_days(query, "paid", "消込日時"),
        amount_min=_int(query.get("amount_min", ""), "決済金額（下限）", maximum=MAX_AMOUNT),
        amount_max=_int(query.get("amount_max", ""), "決済金額（上限）", maximum=MAX_AMOUNT),
        sort=sort if sort in SORTS else "created_at",
        descending=query.get("order", "desc") != "asc",
    )


def paging(query: QueryParams) -> Paging:
    per_page = _int(query.get("per_page", ""), "表示件数", maximum=max(PAGE_SIZES))
    page = _int(query.get("page", ""), "ページ", maximum=10**7) or 1
    return Paging(max(page, 1), per_page if per_page in PAGE_SIZES else DEFAULT_PAGE_SIZE)


def query_string(query: QueryParams, **changes: str | int) -> str:
    """The search's query string with some fields changed (page links, sort links, CSV)."""
    pairs = [(k, v) for k, v in query.multi_items() if k in SEARCH_FIELDS and k not in changes]
    pairs += [(k, str(v)) for k, v in changes.items() if v != ""]
    return urlencode(pairs)


def amount(value: str, label: str) -> int:
    found = _int(value, label, maximum=MAX_AMOUNT)
    if found is None or found <= 0:
        raise InvalidRequest(message=f"{label}を1円以上で入力してください。")
    return found


MAX_ID = 2**62  # a payment ID beyond it is not one of ours (a 64-bit column cannot be asked)


def payment_ids(values: list[str]) -> list[int]:
    """The ticked payment IDs: ASCII digits within range only (a value such as "²" passes
    `str.isdigit` but is no ID); anything else is not a payment and is left out."""
    return [int(v) for v in values if v.isascii() and v.isdigit() and 0 < int(v) <= MAX_ID]


def _int(value: str, label: str, *, maximum: int) -> int | None:
    value = value.strip().replace(",", "")
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or int(value) > maximum:
        raise InvalidRequest(message=f"{label}は{maximum:,}以下の半角数字で入力してください。")
    return int(value)


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _days(query: QueryParams, prefix: str, label: str) -> Period:
    first = _day(query.get(f"{prefix}_from", ""), label)
    last = _day(query.get(f"{prefix}_to", ""), label)
    if first and last and first > last:
        raise InvalidRequest(message=f"{label}の期間の開始日が終了日より後になっています。")
    return Period.of_days(first, last)


def day(value: str, label: str) -> date | None:
    """A date field (YYYY-MM-DD or YYYY/MM/DD; empty: None); InvalidRequest names `label`."""
    return _day(value, label)


def _day(value: str, label: str) -> date | None:
    value = value.strip().replace("/", "-")
    if not value:
        return None
    if not _DAY.match(value):
        raise InvalidRequest(message=f"{label}はYYYY-MM-DDの形式で入力してください。")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidRequest(message=f"{label}の日付が正しくありません。") from None
