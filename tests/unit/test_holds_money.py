"""Which statuses are money the merchant is owed, walked over every method's status table (the
ledger books a sale when a payment enters this set and a refund when it leaves it)."""

from __future__ import annotations

import pytest

from kessai.core.payments import tables
from kessai.core.payments.atm.states import AtmStatus
from kessai.core.payments.banknet.states import BankNetStatus
from kessai.core.payments.card.states import CardStatus
from kessai.core.payments.carrier.states import CarrierStatus
from kessai.core.payments.cvs.states import CvsStatus
from kessai.core.payments.slip.states import SlipStatus
from kessai.core.payments.vaccount.states import VaStatus

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
