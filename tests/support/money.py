"""Money events of every method, made through the core as the institutions would (card through the
sandbox acquirer, the others through the status-simulation tool), and the ledger read back."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from kessai.app import Runtime
from kessai.connectors.base import CardData
from kessai.core.context import MerchantRef
from kessai.core.ledger import accounts
from kessai.core.ledger.models import LedgerEntry
from kessai.core.payments import testtool
from kessai.core.payments.atm import commands as atm
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.card import commands as card
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.refs import PaymentRef
from kessai.core.payments.vaccount import claims
from kessai.kit.secrets import CardNumber

OK_CARD = "4900000000000000"


def card_payment(runtime: Runtime, merchant: MerchantRef, amount: int, *, capture: bool) -> int:
    result = card.authorize(
        runtime.core,
        merchant,
        AuthorizeRequest(
            trading_id=f"C{amount}",
            amount=amount,
            capture=capture,
            card=CardData(CardNumber(OK_CARD), "1230"),
        ),
    )
    assert result.ok and result.payment is not None, result
    return result.payment.payment_id


def card_refund(runtime: Runtime, merchant: MerchantRef, payment_id: int) -> None:
    assert card.refund(runtime.core, merchant, PaymentRef(payment_id=str(payment_id))).ok


def atm_paid(runtime: Runtime, merchant: MerchantRef, amount: int) -> int:
    view = atm.apply(
        runtime.core,
        merchant,
        atm.AtmRequest(
            trading_id="ATM", amount=amount, payment_detail="テスト", payment_detail_kana="ﾃｽﾄ"
        ),
    )
    testtool.pay(runtime.core, merchant, view.payment_id, testtool.MoveInput())
    return view.payment_id


def cvs_paid(runtime: Runtime, merchant: MerchantRef, amount: int) -> int:
    view = cvs.apply(
        runtime.core,
        merchant,
        cvs.CvsRequest(
            trading_id="CVS",
            amount=amount,
            cvs_type="",
            cvs_company_id="00C002",
            customer_family_name="山田",
            customer_name="太郎",
            customer_tel="0312345678",
        ),
    )
    testtool.move(runtime.core, merchant, view.payment_id, "40", testtool.MoveInput())
    return view.payment_id


def slip_reported(runtime: Runtime, merchant: MerchantRef, amount: int) -> int:
    """A slip paid at a till, reported (速報, 43) but not confirmed yet."""
    return testtool.slip_payment(runtime.core, merchant.id, amount=amount).payment_id


def slip_move(runtime: Runtime, merchant: MerchantRef, payment_id: int, to: str) -> None:
    testtool.move(runtime.core, merchant, payment_id, to, testtool.MoveInput())


def banknet_paid(runtime: Runtime, merchant: MerchantRef, amount: int) -> int:
    applied = banknet.apply(
        runtime.core,
        merchant,
        banknet.BankNetApplication(
            trading_id="", amount=amount, claim_kana="ﾃｽﾄ", claim_kanji="テスト", bank_code="0001"
        ),
    )
    assert applied.payment is not None
    testtool.move(runtime.core, merchant, applied.payment.payment_id, "40", testtool.MoveInput())
    return applied.payment.payment_id


def va_claim_paid(runtime: Runtime, merchant: MerchantRef, claim: int, paid: int) -> int:
    view = claims.apply(
        runtime.core,
        merchant,
        claims.ClaimRequest(trading_id="VA", claim_amount=claim, billing_name_kana="ﾃｽﾄ"),
    )
    testtool.pay(runtime.core, merchant, view.payment_id, testtool.MoveInput(amount=paid))
    return view.payment_id


def va_unclaimed(runtime: Runtime, merchant: MerchantRef, amount: int) -> int:
    """A transfer to a free account: a payment that arrives paid (05, 消込済 at once)."""
    made = testtool.transfer(runtime.core, merchant.id, None, amount)
    assert made.payment_id is not None
    return made.payment_id


def entries(runtime: Runtime, merchant_id: int) -> list[LedgerEntry]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(LedgerEntry)
                .where(LedgerEntry.merchant_id == merchant_id)
                .order_by(LedgerEntry.id)
            )
        )


def sold(runtime: Runtime, merchant_id: int) -> dict[int, int]:
    """Per payment: sales minus refunds in the ledger."""
    net: dict[int, int] = defaultdict(int)
    for e in entries(runtime, merchant_id):
        if e.payment_id is not None and e.kind in ("sale", "refund"):
            net[e.payment_id] += e.amount if e.kind == "sale" else -e.amount
    return dict(net)


def payable(runtime: Runtime, merchant_id: int) -> int:
    """What Kessai owes the merchant (credit balance of its payable account)."""
    code = accounts.payable(merchant_id)
    return sum(
        (e.credit == code) * e.amount - (e.debit == code) * e.amount
        for e in entries(runtime, merchant_id)
    )
