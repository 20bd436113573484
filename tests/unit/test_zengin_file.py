"""The payout bank file (総合振込) read back field by field; payouts it cannot carry held, not lost."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from kessai.config import Settings
from kessai.core.payouts.accounts import BankAccount, bank_account
from kessai.core.payouts.zengin import Payout, Requester, requester, write_transfer_file
from kessai.kit.errors import InvalidRequest
from kessai.kit.zengin_chars import ALLOWED
from tests.support.zengin import parse, records

OPERATOR = Requester(
    code="1234567890",
    name="ｹｯｻｲ(ｶ",
    bank_code="0005",
    bank_name="ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ",
    branch_code="001",
    branch_name="ﾄｳｷﾖｳｴｲｷﾞﾖｳﾌﾞﾆｼｸﾞﾁ",  # 19 characters: the file's 15 keep the first 15
    account_type="1",
    account_number="0123456",
)
MIZUHO = bank_account("0001-001-1-1234567", "カ）ヤマダショウテン")
GONE = BankAccount("0002", "ｷｴﾀ", "001", "ﾎﾝﾃﾝ", "1", "7654321", "ﾀﾅｶ ﾊﾅｺ")


def test_a_file_of_two_transfers_reads_back_field_by_field() -> None:
    second = bank_account("0005-001-2-0000042", "スズキ　イチロウ")
    written = write_transfer_file(
        [Payout(30001, 123_456, MIZUHO, "S1"), Payout(30002, 7, second)],
        requester=OPERATOR,
        transfer_date=date(2026, 12, 30),
    )
    header, first, other, trailer, end = parse(written.content)
    assert header == {
        "data_kind": "1",
        "type_code": "21",
        "code_kind": "0",
        "requester_code": "1234567890",
        "requester_name": "ｹｯｻｲ(ｶ".ljust(40),
        "transfer_date": "1230",
        "bank_code": "0005",
        "bank_name": "ﾐﾂﾋﾞｼﾕ-ｴﾌｼﾞｴｲ".ljust(15),
        "branch_code": "001",
        "branch_name": "ﾄｳｷﾖｳｴｲｷﾞﾖｳﾌﾞﾆｼ",
        "account_type": "1",
        "account_number": "0123456",
        "dummy": " " * 17,
    }
    assert first == {
        "data_kind": "2",
        "bank_code": "0001",
        "bank_name": "ﾐｽﾞﾎ".ljust(15),
        "branch_code": "001",
        "branch_name": "ﾄｳｷﾖｳ".ljust(15),
        "clearing_house": "0000",
        "account_type": "1",
        "account_number": "1234567",
        "holder": "ｶ)ﾔﾏﾀﾞｼﾖｳﾃﾝ".ljust(30),
        "amount": "0000123456",
        "new_code": "0",
        "customer_code_1": "0000030001",
        "customer_code_2": "0000000000",
        "transfer_type": "7",
        "edi_flag": " ",
        "dummy": " " * 7,
    }
    assert (other["account_type"], other["holder"].rstrip(), other["amount"]) == (
        "2",
        "ｽｽﾞｷ ｲﾁﾛｳ",
        "0000000007",
    )
    assert (trailer["count"], trailer["total"]) == ("000002", "000000123463")
    assert end == {"data_kind": "9", "dummy": " " * 119}
    assert written.total == 123_463 and not written.held


def test_the_kana_are_single_shift_jis_bytes() -> None:
    content = write_transfer_file(
        [Payout(30001, 1, MIZUHO)], requester=OPERATOR, transfer_date=date(2027, 1, 4)
    ).content
    data = records(content)[1]
    assert data[5:20] == b"\xd0\xbd\xde\xce" + b" " * 11  # ﾐｽﾞﾎ in JIS X 0201


def test_payouts_without_a_valid_account_are_held_with_the_reason_not_dropped() -> None:
    bad_holder = BankAccount("0001", "ﾐｽﾞﾎ", "001", "ﾄｳｷﾖｳ", "1", "1234567", "山田")
    payouts = [
        Payout(30001, 1000, MIZUHO),
        Payout(30002, 2000, None),
        Payout(30003, 3000, GONE),
        Payout(30004, 4000, bad_holder),
        Payout(30005, 0, MIZUHO),
    ]
    written = write_transfer_file(payouts, requester=OPERATOR, transfer_date=date(2026, 12, 30))
    assert [p.merchant_id for p in written.transferred] == [30001]
    reasons = {h.payout.merchant_id: h.reason for h in written.held}
    assert "no bank account registered" in reasons[30002]
    assert "bank code 0002" in reasons[30003]
    assert "account holder" in reasons[30004]
    assert "amount 0" in reasons[30005]
    trailer = parse(written.content)[-2]
    assert (trailer["count"], trailer["total"]) == ("000001", "000000001000")


def test_without_line_breaks_the_file_is_bare_120_byte_records() -> None:
    content = write_transfer_file(
        [Payout(30001, 5, MIZUHO)],
        requester=OPERATOR,
        transfer_date=date(2026, 12, 30),
        line_breaks=False,
    ).content
    assert len(content) == 4 * 120
    assert [r["data_kind"] for r in parse(content, line_breaks=False)] == ["1", "2", "8", "9"]


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(1, 999_999_999), st.integers(1, 9_999_999_999)), max_size=8))
def test_trailer_counts_and_totals_what_the_data_records_carry(
    payouts: list[tuple[int, int]],
) -> None:
    written = write_transfer_file(
        [Payout(mid, amount, MIZUHO) for mid, amount in payouts],
        requester=OPERATOR,
        transfer_date=date(2026, 12, 30),
    )
    parsed = parse(written.content)
    data = [r for r in parsed if r["data_kind"] == "2"]
    assert [(int(r["customer_code_1"]), int(r["amount"])) for r in data] == payouts
    assert int(parsed[-2]["count"]) == len(payouts)
    assert int(parsed[-2]["total"]) == sum(a for _, a in payouts)


def test_requester_comes_from_the_settings_with_the_directory_names() -> None:
    operator = requester(
        Settings(
            payout_requester_code="0000012345",
            payout_requester_name="けっさい",
            payout_source_account="0001-001-2-7777777",
        )
    )
    assert (operator.name, operator.bank_name, operator.branch_name) == ("ｹﾂｻｲ", "ﾐｽﾞﾎ", "ﾄｳｷﾖｳ")
    with pytest.raises(InvalidRequest, match="KESSAI_PAYOUT_REQUESTER_CODE"):
        requester(Settings())
    with pytest.raises(InvalidRequest, match="bank code 0002"):
        requester(
            Settings(
                payout_requester_code="0000012345",
                payout_requester_name="ｹｯｻｲ",
                payout_source_account="0002-001-1-7777777",
            )
        )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("payout_requester_code", "12345"),
        ("payout_requester_name", "決済"),
        ("payout_source_account", "0001-001-4-1234567"),
    ],
)
def test_operator_settings_the_bank_cannot_take_are_refused_at_start(name: str, value: str) -> None:
    with pytest.raises(ValueError):
        Settings(**{name: value})


@settings(max_examples=100)
@given(
    st.text(alphabet=st.sampled_from([*sorted(ALLOWED), "ガ", "パ", "ぁ", "ー", "Ａ"]), max_size=40)
)
def test_any_holder_the_settings_accept_reads_back_unchanged(typed: str) -> None:
    try:
        account = bank_account("0001-001-1-1234567", typed)
    except InvalidRequest:
        event("refused")
        return
    event("accepted")
    written = write_transfer_file(
        [Payout(1, 1, account)], requester=OPERATOR, transfer_date=date(2026, 12, 30)
    )
    assert not written.held
    assert parse(written.content)[1]["holder"] == account.holder.ljust(30)
