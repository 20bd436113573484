"""Which statuses are money the merchant is owed, walked over every method's status table (the
ledger books a sale when a payment enters this set and a refund when it leaves it), and the
placeholder payout date."""

from __future__ import annotations

from datetime import date

import pytest

from kessai.core.payments import tables
from kessai.core.payments.atm.states import AtmStatus
from kessai.core.payments.banknet.states import BankNetStatus
from kessai.core.payments.card.states import CardStatus
from kessai.core.payments.carrier.states import CarrierStatus
from kessai.core.payments.cvs.states import CvsStatus
from kessai.core.payments.slip.states import SlipStatus
from kessai.core.payments.vaccount.states import VaStatus
from kessai.core.statements.payout_date import payout_date_for

HOLDING = {
    tables.CARD: (CardStatus, {"40", "41"}),
    tables.ATM: (AtmStatus, {"40"}),
    tables.CVS: (CvsStatus, {"40"}),  # not 43: a preliminary report may be withdrawn
    tables.SLIP: (SlipStatus, {"40"}),
    tables.BANK_NET: (BankNetStatus, {"40"}),
    tables.VIRTUAL_ACCOUNT: (VaStatus, {"40"}),
    tables.CARRIER: (CarrierStatus, {"40", "41", "44"}),
}


@pytest.mark.parametrize("payment_type", sorted(HOLDING))
def test_each_status_of_each_method_is_classified(payment_type):
    statuses, holding = HOLDING[payment_type]
    for status in statuses:
        held = tables.holds_money(payment_type, status.value, captured=False)
        assert held == (status.value in holding), (payment_type, status)


def test_a_carrier_request_in_flight_holds_money_only_after_a_capture():
    for status in ("34", "42"):  # 補正要求中, 売上取消中
        assert tables.holds_money(tables.CARRIER, status, captured=True)
        assert not tables.holds_money(tables.CARRIER, status, captured=False)


@pytest.mark.parametrize(
    ("through", "payout"),
    [
        (date(2026, 11, 30), date(2026, 12, 30)),  # 12/31 is the banks' year-end closure
        (date(2026, 12, 15), date(2027, 1, 29)),  # 1/31 is a Sunday
        (date(2027, 1, 31), date(2027, 2, 26)),  # 2/28 is a Sunday
    ],
)
def test_the_payout_is_the_last_bank_business_day_of_the_next_month(through, payout):
    assert payout_date_for(30000, through) == payout
