"""Per-method state machines, written as data (PAYGENT status codes of paygent-protocol.md §3).

`notifies(payment_type, status)` and `holds_money(payment_type, status, captured)` are the questions
the shared machinery (history, outbox, ledger) asks of every method's table.
"""

from __future__ import annotations

from enum import StrEnum

from kessai.core.payments.atm import states as atm
from kessai.core.payments.banknet import states as banknet
from kessai.core.payments.card import states as card
from kessai.core.payments.carrier import states as carrier
from kessai.core.payments.cvs import states as cvs
from kessai.core.payments.slip import states as slip
from kessai.core.payments.vaccount import states as vaccount

CARD = "02"
ATM = "01"
CVS = "03"
BANK_NET = "05"
VIRTUAL_ACCOUNT = "07"
CARRIER = "06"
SLIP = "04"

PAYMENT_TYPES = (ATM, CARD, CVS, SLIP, BANK_NET, CARRIER, VIRTUAL_ACCOUNT)


def statuses(payment_type: str) -> tuple[str, ...]:
    """Every status code of `payment_type`'s table (for questions asked of all of them at once,
    such as a reconciliation's SQL asking `holds_money` of every status)."""
    table: dict[str, type[StrEnum]] = {
        CARD: card.CardStatus,
        ATM: atm.AtmStatus,
        CVS: cvs.CvsStatus,
        BANK_NET: banknet.BankNetStatus,
        VIRTUAL_ACCOUNT: vaccount.VaStatus,
        CARRIER: carrier.CarrierStatus,
        SLIP: slip.SlipStatus,
    }
    if payment_type not in table:
        raise ValueError(f"no state table for payment_type {payment_type!r}")
    return tuple(status.value for status in table[payment_type])


def notifies(payment_type: str, status: str) -> bool:
    """Whether the merchant is told about a payment of `payment_type` reaching `status`."""
    if payment_type == CARD:
        return card.notifies_merchant(card.CardStatus(status))
    if payment_type == ATM:
        return atm.notifies_merchant(atm.AtmStatus(status))
    if payment_type == CVS:
        return cvs.notifies_merchant(cvs.CvsStatus(status))
    if payment_type == BANK_NET:
        return banknet.notifies_merchant(banknet.BankNetStatus(status))
    if payment_type == VIRTUAL_ACCOUNT:
        return vaccount.notifies_merchant(vaccount.VaStatus(status))
    if payment_type == CARRIER:
        return carrier.notifies_merchant(carrier.CarrierStatus(status))
    if payment_type == SLIP:
        return slip.notifies_merchant(slip.SlipStatus(status))
    raise ValueError(f"no state table for payment_type {payment_type!r}")


def holds_money(payment_type: str, status: str, *, captured: bool) -> bool:
    """Whether a payment of `payment_type` in `status` is money the merchant is owed (a sale in
    the ledger). `captured`: the payment was ever captured (card and carrier statuses of a request
    in flight depend on it)."""
    if payment_type == CARD:
        return card.is_captured(card.CardStatus(status))
    if payment_type == ATM:
        return atm.holds_money(atm.AtmStatus(status))
    if payment_type == CVS:
        return cvs.holds_money(cvs.CvsStatus(status))
    if payment_type == BANK_NET:
        return banknet.holds_money(banknet.BankNetStatus(status))
    if payment_type == VIRTUAL_ACCOUNT:
        return vaccount.holds_money(vaccount.VaStatus(status))
    if payment_type == CARRIER:
        return carrier.holds_money(carrier.CarrierStatus(status), captured)
    if payment_type == SLIP:
        return slip.holds_money(slip.SlipStatus(status))
    raise ValueError(f"no state table for payment_type {payment_type!r}")
