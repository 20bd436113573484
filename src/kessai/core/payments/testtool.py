"""PAYGENT's status-simulation tool (paygent-protocol.md §4) over the core: per method, what the
institution can do to a sandbox payment — the buyer pays, the chain confirms, the deadline passes.

One table (`TOOL`) serves `kessai sandbox …` and the sandbox HTTP API. Every move goes through the
method's own command, so it writes the same history and notices as the real institution's report.
Production merchants are refused (S001) before anything is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from kessai.connectors.base import IncomingTransfer
from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.models import Merchant
from kessai.core.payments import later, vaccount
from kessai.core.payments.atm import commands as atm
from kessai.core.payments.banknet import clearing as banknet_clearing
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.banknet.states import BankNetStatus
from kessai.core.payments.card import commands
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.cvs.states import CvsStatus
from kessai.core.payments.models import Payment
from kessai.core.payments.slip import commands as slip
from kessai.core.payments.vaccount import claims, pool, transfers
from kessai.core.payments.vaccount.models import VirtualAccount
from kessai.core.payments.vaccount.states import VaStatus
from kessai.core.payments.views import PaymentView
from kessai.core.threeds import timeouts as threeds_timeouts
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound, SandboxOnly


@dataclass(frozen=True, slots=True)
class MoveInput:
    """What the tool's form asks for; each method reads what it needs."""

    paid_at: datetime | None = None  # when the buyer paid (default: the merchant's now)
    amount: int | None = None  # the amount transferred (virtual account; default: the claim)
    bank_code: str = ""  # ATM, bank net: the bank paid at
    company_id: str = ""  # CVS: the chain paid at
    payer_name: str = ""  # virtual account: 振込依頼人名 (default: the claim's billing_name_kana)


_PRODUCTION = (
    "merchant {} is in production mode: sandbox controls (status moves, test clock) are refused"
)

Move = Callable[[Core, MerchantRef, int, MoveInput], PaymentView]


@dataclass(frozen=True, slots=True)
class MethodMoves:
    name: str
    pay: Move  # `kessai sandbox pay`: the buyer pays
    moves: Mapping[str, Move] = field(default_factory=dict)  # target status → move


def _atm_pay(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    return atm.pay(
        core, merchant, payment_id, paid_at=inp.paid_at, bank_code=inp.bank_code or "9900"
    )


def _cvs_pay(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    return cvs.pay(
        core, merchant, payment_id, paid_at=inp.paid_at, company_id=inp.company_id or None
    )


def _cvs_settle(confirmed: bool) -> Move:
    def move(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
        return cvs.settle_report(core, merchant, payment_id, confirmed=confirmed)

    return move


def _cvs_paid(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    """→ 40: a reported payment (43) is confirmed; an unpaid one is paid at a chain that does not
    report first."""
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        reported = payment is not None and payment.status == CvsStatus.REPORTED
    if reported:
        return cvs.settle_report(core, merchant, payment_id, confirmed=True)
    return _cvs_pay(core, merchant, payment_id, inp)


def _banknet_paid(
    core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput
) -> PaymentView:
    """→ 40: the bank's completion notice, late (15 → 40) for a payment already closed. Not for
    direct banks (D…), whose buyers pay on the bank's page (§4)."""
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        details = payment.details if payment is not None else {}
        closed = payment is not None and payment.status == BankNetStatus.ABANDONED
    if str(details.get("bank_code", "")).startswith("D"):
        raise InvalidState(
            "S002", message="direct banks (D…) are paid on the bank's page, not by the tool"
        )
    if closed:
        return banknet_clearing.pay_late(core, merchant, payment_id, paid_at=inp.paid_at)
    return banknet_clearing.pay(
        core, merchant, payment_id, paid_at=inp.paid_at, bank_code=inp.bank_code
    )


def _slip_pay(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    return slip.pay(
        core, merchant, payment_id, paid_at=inp.paid_at, company_id=inp.company_id or None
    )


def _slip_settle(confirmed: bool) -> Move:
    def move(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
        return slip.settle_report(core, merchant, payment_id, confirmed=confirmed)

    return move


def _expire(payment_type: str) -> Move:
    def move(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
        return later.expire_now(core, merchant, payment_id, payment_type)

    return move


def _va_pay(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    """A transfer of `inp.amount` (default: the claim) to the payment's account: 10 → 40, or a
    late one 12 → 40; the amount decides the clear_detail (01–04)."""
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        assert payment is not None
        details = dict(payment.details)
    account = pool.AccountKey(
        str(details["virtual_account_bank_code"]),
        str(details["virtual_account_branch_code"]),
        str(details["virtual_account_number"]),
    )
    amount = inp.amount if inp.amount is not None else int(details["claim_amount"])
    payer = inp.payer_name or str(details.get("billing_name_kana") or SANDBOX_PAYER)
    transfers.receive(
        core, _transfer(core, merchant, account, amount, inp, payer), for_payment=payment_id
    )
    with core.sessions() as session:
        paid = session.get(Payment, payment_id)
        assert paid is not None
        return PaymentView.of(paid)


def _va_paid(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    """→ 40: a transfer clears an open claim; a closed one (16) is cleared by hand (06–08)."""
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        closed = payment is not None and payment.status == VaStatus.CLOSED
        claim = int(payment.details.get("claim_amount") or 0) if payment else 0
    if closed:
        amount = inp.amount if inp.amount is not None else claim
        return claims.clear_manually(core, merchant, payment_id, amount)
    return _va_pay(core, merchant, payment_id, inp)


def _va_close(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    return claims.close_now(core, merchant, payment_id)


TOOL: dict[str, MethodMoves] = {
    atm.PAYMENT_TYPE: MethodMoves(
        "ATM (Pay-easy)",
        pay=_atm_pay,
        moves={"40": _atm_pay, "12": _expire(atm.PAYMENT_TYPE)},
    ),
    cvs.PAYMENT_TYPE: MethodMoves(
        "CVS number",
        pay=_cvs_pay,
        moves={
            "43": _cvs_pay,  # 7-Eleven / FamilyMart report first
            "40": _cvs_paid,
            "12": _expire(cvs.PAYMENT_TYPE),
            "61": _cvs_settle(confirmed=False),
        },
    ),
    slip.PAYMENT_TYPE: MethodMoves(
        "CVS payment slip",
        pay=_slip_pay,  # the agency reports the till payment first: 10 → 43
        moves={
            "43": _slip_pay,
            "40": _slip_settle(confirmed=True),
            "61": _slip_settle(confirmed=False),
            "12": _expire(slip.PAYMENT_TYPE),
        },
    ),
    banknet.PAYMENT_TYPE: MethodMoves(
        "bank net",
        pay=_banknet_paid,
        moves={"40": _banknet_paid, "15": _expire(banknet.PAYMENT_TYPE)},
    ),
    vaccount.PAYMENT_TYPE: MethodMoves(
        "virtual account",
        pay=_va_pay,
        moves={"40": _va_paid, "12": _expire(vaccount.PAYMENT_TYPE), "16": _va_close},
    ),
}


# Methods §4 leaves out of the tool ("card, carrier and e-money statuses are changed by
# telegrams"), and how their sandbox payments move instead.
NOT_IN_TOOL: dict[str, str] = {
    carrier.PAYMENT_TYPE: (
        "the buyer approves, cancels or is refused on the sandbox carrier's page (100's "
        "redirect_url / redirect_html); 101, 102 and 103 move it after that, not the tool"
    ),
}


def payment_type_of(core: Core, merchant: MerchantRef, payment_id: int) -> str:
    if merchant.mode != "sandbox":
        raise SandboxOnly(message=_PRODUCTION.format(merchant.id))
    with core.sessions() as session:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.merchant_id != merchant.id:
            raise NotFound("2006")
        return payment.payment_type


def pay(core: Core, merchant: MerchantRef, payment_id: int, inp: MoveInput) -> PaymentView:
    """The buyer pays the payment, as the method's institution would report it."""
    payment_type = payment_type_of(core, merchant, payment_id)
    method = TOOL.get(payment_type)
    if method is None:
        how = NOT_IN_TOOL.get(payment_type, "it is paid through telegrams, not the tool")
        raise InvalidState("S002", message=f"payment_type {payment_type}: {how}")
    return method.pay(core, merchant, payment_id, inp)


def move(
    core: Core, merchant: MerchantRef, payment_id: int, to: str, inp: MoveInput
) -> PaymentView:
    """Move the payment to status `to`, as the tool's move of its method (§4 table)."""
    payment_type = payment_type_of(core, merchant, payment_id)
    method = TOOL.get(payment_type)
    target = method.moves.get(to) if method else None
    if method is None or target is None:
        allowed = ", ".join(sorted(method.moves)) if method else "none"
        raise InvalidState(
            "S002",
            message=f"payment_type {payment_type} cannot be moved to {to} (moves: {allowed})",
        )
    return target(core, merchant, payment_id, inp)


# ---------------------------------------------------------------- transfers nobody claimed

SANDBOX_PAYER = "ｻﾝﾄﾞﾎﾞｯｸｽ ﾀﾛｳ"


def transfer(
    core: Core,
    merchant_id: int,
    account: pool.AccountKey | None,
    amount: int,
    inp: MoveInput | None = None,
) -> transfers.TransferView:
    """The tool's "generate an unmatched transfer": `amount` yen to `account` of a sandbox
    merchant, as the bank would report it, whatever is claimed on it — an account with no open
    claim gives the merchant a 05 payment; one with a claim clears it. Without `account`, a free
    account of the merchant's pool. An account of another merchant → 8003; one no pool has is
    recorded as an unknown account."""
    if amount <= 0:
        raise InvalidRequest("P014", field="amount")
    with core.sessions() as session:
        row = _sandbox_merchant(session.get(Merchant, merchant_id), merchant_id)
        merchant = MerchantRef.of(row)
    key = account or _free_account(core, merchant)
    with core.sessions() as session:
        owner = session.scalar(
            select(VirtualAccount.merchant_id).where(
                VirtualAccount.bank_code == key.bank_code,
                VirtualAccount.branch_code == key.branch_code,
                VirtualAccount.number == key.number,
            )
        )
    if owner is not None and owner != merchant_id:
        raise InvalidRequest("8003")
    inp = inp or MoveInput()
    incoming = _transfer(core, merchant, key, amount, inp, inp.payer_name or SANDBOX_PAYER)
    return transfers.receive(core, incoming)


def _free_account(core: Core, merchant: MerchantRef) -> pool.AccountKey:
    free = [
        a for a in pool.list_accounts(core, merchant.id) if a.payment_id is None and not a.closed
    ]
    if not free:
        free = pool.add_accounts(core, merchant, 1)
    return pool.AccountKey(free[0].bank_code, free[0].branch_code, free[0].number)


def _transfer(
    core: Core,
    merchant: MerchantRef,
    account: pool.AccountKey,
    amount: int,
    inp: MoveInput,
    payer: str,
) -> IncomingTransfer:
    return IncomingTransfer(
        reference=f"SANDBOX-{uuid.uuid4().hex}",
        bank_code=account.bank_code,
        branch_code=account.branch_code,
        account_number=account.number,
        amount=amount,
        transferred_at=inp.paid_at or core.now_for(merchant),
        payer_name=payer,
    )


def slip_payment(
    core: Core,
    merchant_id: int,
    *,
    amount: int,
    company_id: str = "",
    paid_at: datetime | None = None,
    free_field: str = "",
) -> PaymentView:
    """The tool's "generate a slip payment": a slip paid at a till without any application,
    reported to the merchant directly as 43 (§3.4, §4)."""
    with core.sessions() as session:
        row = _sandbox_merchant(session.get(Merchant, merchant_id), merchant_id)
        merchant = MerchantRef.of(row)
    return slip.record_unapplied(
        core, merchant, amount=amount, company_id=company_id, paid_at=paid_at, free_field=free_field
    )


# ---------------------------------------------------------------- the test clock


@dataclass(frozen=True, slots=True)
class TestClockView:
    merchant_id: int
    now: datetime  # the merchant's time
    offset_seconds: int  # its lead over real time
    expired: int = 0  # payments expired by this advance


def clock(core: Core, merchant_id: int) -> TestClockView:
    with core.sessions() as session:
        row = _sandbox_merchant(session.get(Merchant, merchant_id), merchant_id)
        offset = row.clock_offset_seconds
    return TestClockView(merchant_id, core.clock.now() + timedelta(seconds=offset), offset)


def advance_clock(core: Core, merchant_id: int, delta: timedelta) -> TestClockView:
    """Move a sandbox merchant's test clock forward by `delta`, then close at once what that
    passed: every unpaid payment whose deadline is now behind is expired, one by one, each
    re-checked under its row lock (a payment paid before its deadline is never touched); carrier
    payments make the moves their time rules say (reports, authorisation expiry), and 3-D Secure
    authentications left open past their 30 minutes time out (the worker sends the notice). A running
    server picks the new time up within its credential cache's few seconds."""
    if delta <= timedelta(0):
        raise InvalidRequest("P010", field="clock", message="the test clock only moves forward")
    with core.sessions.begin() as session:
        query = select(Merchant).where(Merchant.id == merchant_id).with_for_update()
        row = _sandbox_merchant(session.scalar(query), merchant_id)
        row.clock_offset_seconds += int(delta.total_seconds())
        offset = row.clock_offset_seconds
        threeds_timeouts.bring_forward(session, merchant_id, delta)
    expired = (  # this merchant's only: another tenant's due payments are the worker's
        threeds_timeouts.expire_due(core, merchant_id=merchant_id)
        + later.expire_due(core, merchant_id=merchant_id)
        + claims.close_due(core, merchant_id=merchant_id)
        + carrier.expire_due(core, merchant_id=merchant_id)
        + commands.expire_due(core, merchant_id=merchant_id)
    )
    return TestClockView(
        merchant_id, core.clock.now() + timedelta(seconds=offset), offset, expired=expired
    )


def _sandbox_merchant(row: Merchant | None, merchant_id: int) -> Merchant:
    if row is None:
        raise NotFound("2006", message=f"merchant {merchant_id} does not exist")
    if row.mode != "sandbox":
        raise SandboxOnly(message=_PRODUCTION.format(merchant_id))
    return row
