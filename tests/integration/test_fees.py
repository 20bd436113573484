"""Fee schedules: per method and card brand, effective from a date, a change never rewriting the
past; set and shown by `kessai fees`."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from kessai.app import Runtime
from kessai.core.statements.fees import FeeBook, PayoutFees, set_fee, set_payout_fees
from kessai.kit.errors import InvalidRequest
from tests.conftest import make_merchant
from tests.integration.test_cli import kessai

NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


def _set(runtime: Runtime, merchant_id: int, method: str, **kw) -> None:
    with runtime.core.sessions.begin() as session:
        set_fee(session, merchant_id, method, now=NOW, **kw)


def _book(runtime: Runtime, merchant_id: int) -> FeeBook:
    with runtime.core.sessions() as session:
        return FeeBook.load(session, merchant_id)


def test_the_fee_in_effect_is_the_latest_set_from_on_or_before_the_day(runtime):
    mid = make_merchant(runtime).merchant_id
    _set(runtime, mid, "02", rate_bp=325, fixed=0, effective_from=date(2026, 1, 1))
    _set(runtime, mid, "02", rate_bp=300, fixed=None, effective_from=date(2026, 7, 1))
    book = _book(runtime, mid)
    assert book.fee("02", "", date(2025, 12, 31)).rate_bp == 0
    assert book.fee("02", "", date(2026, 6, 30)).rate_bp == 325
    assert book.fee("02", "", date(2026, 7, 1)).rate_bp == 300
    assert book.fee("03", "", date(2026, 7, 1)).rate_bp == 0


def test_a_brands_fee_wins_over_the_card_fee_and_only_cards_have_brands(runtime):
    mid = make_merchant(runtime).merchant_id
    _set(runtime, mid, "02", rate_bp=300, fixed=0, effective_from=date(2026, 1, 1))
    _set(runtime, mid, "02", rate_bp=360, fixed=5, effective_from=date(2026, 1, 1), brand="amex")
    book = _book(runtime, mid)
    assert book.fee("02", "AMEX", date(2026, 2, 1)).on_sale(1000) == 41
    assert book.fee("02", "VISA", date(2026, 2, 1)).on_sale(1000) == 30
    with pytest.raises(InvalidRequest):
        _set(runtime, mid, "03", rate_bp=1, fixed=0, effective_from=date(2026, 1, 1), brand="X")


def test_payout_fees_keep_the_part_not_given(runtime):
    mid = make_merchant(runtime).merchant_id
    with runtime.core.sessions.begin() as session:
        set_payout_fees(
            session, mid, transfer_fee=250, monthly_fee=1000, effective_from=date(2026, 1, 1),
            now=NOW,
        )  # fmt: skip
        set_payout_fees(
            session, mid, transfer_fee=None, monthly_fee=0, effective_from=date(2026, 3, 1),
            now=NOW,
        )  # fmt: skip
    book = _book(runtime, mid)
    assert book.payout_fees(date(2026, 2, 1)) == PayoutFees(250, 1000)
    assert book.payout_fees(date(2026, 3, 1)) == PayoutFees(250, 0)


def test_cli_sets_and_shows_fees(tmp_path):
    kessai(tmp_path, "migrate")
    mid = json.loads(kessai(tmp_path, "merchant", "create", "--json").stdout)["merchant_id"]
    kessai(tmp_path, "fees", "set", str(mid), "--method", "02", "--rate", "3.25", "--fixed", "10",
           "--from", "2026-01-01")  # fmt: skip
    kessai(tmp_path, "fees", "set", str(mid), "--transfer-fee", "275", "--from", "2026-01-01")
    shown = json.loads(
        kessai(tmp_path, "fees", "show", str(mid), "--on", "2026-02-01", "--json").stdout
    )
    assert shown["methods"] == [{"method": "02", "brand": "", "rate": "3.25", "fixed": 10}]
    assert (shown["transfer_fee"], shown["monthly_fee"]) == (275, 0)
    bad = kessai(tmp_path, "fees", "set", str(mid), "--method", "02", "--rate", "3.255",
                 check=False)  # fmt: skip
    assert bad.returncode != 0 and "0.01" in bad.stderr and "Traceback" not in bad.stderr
