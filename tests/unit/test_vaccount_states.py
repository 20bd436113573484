"""The virtual-account state table (§3.7) and the clear_detail of a transfer against its claim."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kessai.core.payments.vaccount.states import (
    OPEN,
    STATUS_NAMES,
    TRANSITIONS,
    ClearDetail,
    VaOperation,
    VaStatus,
    classify,
    notifies_merchant,
)

yen = st.integers(min_value=1, max_value=9_999_999)


def test_only_a_closed_claim_is_cleared_by_hand_and_only_open_ones_by_a_transfer() -> None:
    by_transfer = {status for (status, op) in TRANSITIONS if op is VaOperation.TRANSFER}
    by_hand = {status for (status, op) in TRANSITIONS if op is VaOperation.CLEAR_MANUALLY}
    assert by_transfer == set(OPEN) and by_hand == {VaStatus.CLOSED}


def test_paid_is_final_and_every_status_has_a_name() -> None:
    assert not [op for (status, op) in TRANSITIONS if status is VaStatus.PAID]
    assert set(STATUS_NAMES) == set(VaStatus)


def test_12_16_and_40_are_notified_not_10() -> None:
    assert [s for s in VaStatus if notifies_merchant(s)] == [
        VaStatus.EXPIRED,
        VaStatus.CLOSED,
        VaStatus.PAID,
    ]


def test_the_details_of_the_protocol() -> None:
    assert classify(1000, 1000) is ClearDetail.EXACT
    assert classify(1000, 990, tolerance=10) is ClearDetail.SHORT_ADJUSTED
    assert classify(1000, 989, tolerance=10) is ClearDetail.SHORT
    assert classify(1000, 1001, tolerance=10) is ClearDetail.OVER
    assert classify(1000, 990, tolerance=10, manual=True) is ClearDetail.MANUAL_SHORT
    assert [d.value for d in ClearDetail] == [f"0{n}" for n in range(1, 9)]


@given(claim=yen, transferred=yen, tolerance=st.integers(min_value=0, max_value=10_000))
def test_automatic_detail_follows_the_difference(
    claim: int, transferred: int, tolerance: int
) -> None:
    detail = classify(claim, transferred, tolerance=tolerance)
    short = claim - transferred
    expected = (
        ClearDetail.EXACT
        if short == 0
        else ClearDetail.OVER
        if short < 0
        else ClearDetail.SHORT_ADJUSTED
        if short <= tolerance
        else ClearDetail.SHORT
    )
    assert detail is expected


@given(claim=yen, transferred=yen, tolerance=st.integers(min_value=0, max_value=10_000))
def test_manual_detail_ignores_the_tolerance(claim: int, transferred: int, tolerance: int) -> None:
    manual = classify(claim, transferred, tolerance=tolerance, manual=True)
    automatic = classify(claim, transferred)
    shift = {
        ClearDetail.EXACT: ClearDetail.MANUAL_EXACT,
        ClearDetail.SHORT: ClearDetail.MANUAL_SHORT,
        ClearDetail.OVER: ClearDetail.MANUAL_OVER,
    }
    assert manual is shift[automatic]
