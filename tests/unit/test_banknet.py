"""Bank net's pure parts: the state table (§3.6), asp_payment_term, the two-business-day
deadline, the sandbox bank list (zengin-code, §4) and the sandbox bank's answers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from kessai.connectors.base import Outcome
from kessai.connectors.sandbox.banknet import DIRECT_BANKS, SandboxBankNet, sandbox_banks
from kessai.core.payments.banknet.commands import payment_deadline, selection_limit
from kessai.core.payments.banknet.states import TRANSITIONS, BankNetOperation, BankNetStatus
from kessai.core.payments.tables import notifies
from kessai.kit.clock import JST
from kessai.kit.errors import InvalidRequest

NOW = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)  # Wednesday 12:00 in Japan


def test_only_15_and_40_are_notified():
    assert [s.value for s in BankNetStatus if notifies("05", s.value)] == ["15", "40"]


def test_the_table_moves_money_only_from_10_and_late_from_15():
    paid = {start for (start, _), end in TRANSITIONS.items() if end is BankNetStatus.PAID}
    assert paid == {BankNetStatus.APPLIED, BankNetStatus.ABANDONED}
    assert not any(start is BankNetStatus.PAID for start, _ in TRANSITIONS)  # 40 is final
    for operation in (BankNetOperation.REFUSE, BankNetOperation.ABANDON):
        assert TRANSITIONS[(BankNetStatus.APPLIED, operation)] is BankNetStatus.APPLIED


class TestTerm:
    def test_default_is_five_days_from_now(self):
        assert selection_limit(NOW, "0050000") == NOW + timedelta(days=5)

    def test_flag_0_adds_days_hours_and_minutes(self):
        assert selection_limit(NOW, "0012345") == NOW + timedelta(days=1, hours=23, minutes=45)

    def test_flag_1_ends_the_day_at_235959_japan_time(self):
        limit = selection_limit(NOW, "1030000").astimezone(JST)
        assert (limit.date(), limit.hour, limit.minute, limit.second) == (
            date(2026, 4, 4),
            23,
            59,
            59,
        )
        assert selection_limit(NOW, "1001230") == selection_limit(NOW, "1000000")  # hhmm ignored

    @pytest.mark.parametrize(
        ("term", "code"),
        [
            ("2050000", "P010"),
            ("0002400", "P010"),
            ("0000060", "P010"),
            ("005000", "P010"),
            ("0000000", "P012"),
        ],
    )
    def test_bad_terms(self, term, code):
        with pytest.raises(InvalidRequest) as error:
            selection_limit(NOW, term)
        assert error.value.code == code


def test_deadline_is_the_end_of_the_second_bank_business_day():
    friday = datetime(2026, 4, 3, 12, 0, tzinfo=JST)
    assert payment_deadline(friday) == datetime(2026, 4, 7, 23, 59, 59, tzinfo=JST)  # Tuesday
    before_golden_week = datetime(2026, 5, 1, 9, 0, tzinfo=JST)  # Friday; 5/3–5/6 holidays
    assert payment_deadline(before_golden_week).date() == date(2026, 5, 8)


def test_sandbox_banks_are_the_section_4_list_named_by_zengin_code():
    banks = {bank.code: bank for bank in sandbox_banks()}
    assert list(banks) == ["0001", "0005", "0010", "0017", "9900", *DIRECT_BANKS]
    assert banks["0001"].name == "みずほ銀行" and banks["9900"].name == "ゆうちょ銀行"
    assert banks["0005"].name == "三菱UFJ銀行"  # full-width letters made half-width
    assert banks["D036"].name == "楽天銀行（ダイレクト）" and banks["D036"].direct
    assert banks["D008"].name == "ダイレクト接続銀行（D008）"
    assert not banks["0010"].direct


class TestSandboxBank:
    def test_paid_once_and_the_amount_echoed(self):
        bank = SandboxBankNet()
        reference = bank.open(idempotency_key="k", bank_code="0001", amount=500)
        assert bank.open(idempotency_key="k", bank_code="0001", amount=500) == reference
        first = bank.complete(reference=reference, approve=True)
        assert (first.outcome, first.amount) == (Outcome.SUCCEEDED, 500)
        assert bank.complete(reference=reference, approve=False) == first  # money moved once

    def test_a_refusal_may_be_followed_by_a_payment(self):
        bank = SandboxBankNet()
        reference = bank.open(idempotency_key="k", bank_code="D009", amount=500)
        assert bank.complete(reference=reference, approve=False).outcome is Outcome.DECLINED
        assert bank.complete(reference=reference, approve=True).outcome is Outcome.SUCCEEDED

    def test_unknown_bank_is_a_programming_error(self):
        with pytest.raises(ValueError):
            SandboxBankNet().open(idempotency_key="k", bank_code="0009", amount=1)
