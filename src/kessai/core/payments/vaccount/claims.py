"""Virtual-account claims (仮想口座決済申込, telegram 070): the payment and the account it holds;
its deadline (12), its closing after the grace (16), and clearing it (40) by a transfer or by hand.

Deadlines (§3.7): the buyer transfers by `expire_date` (today + expire_days, 0–364); the bank may
report a transfer up to 2 bank business days later, so the claim expires (10 → 12) at the end of
that second business day; a late transfer still clears it until the merchant's grace has passed
too (`terms`), when it closes (10/12 → 16) and a rotating account returns to the pool. 16 → 40
only by hand (clear_detail 06–08).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.connectors.base import IncomingTransfer
from kessai.core.context import Core, MerchantRef
from kessai.core.payments import later, repository
from kessai.core.payments.models import Payment
from kessai.core.payments.vaccount import PAYMENT_TYPE, pool
from kessai.core.payments.vaccount.models import (
    VirtualAccount,
    VirtualAccountClaim,
    VirtualAccountTransfer,
)
from kessai.core.payments.vaccount.states import (
    OPEN,
    TRANSITIONS,
    ClearDetail,
    VaOperation,
    VaStatus,
    classify,
)
from kessai.core.payments.vaccount.terms import terms_of
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import JST, add_business_days, jst_stamp
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

DEFAULT_EXPIRE_DAYS = 30
MAX_EXPIRE_DAYS = 364
BANK_LAG_DAYS = 2  # business days the bank may take to report a transfer made on the last day
NO_FREE_ACCOUNT = "8001"
NUMBERING_MISMATCH = "8002"
NOT_THE_MERCHANTS = "8003"


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """070: what to claim, and for fixed numbering (`fixed`) whose account (`account`, or a new
    one for a new customer)."""

    trading_id: str
    claim_amount: int
    billing_name: str = ""
    billing_name_kana: str = ""
    expire_days: int = DEFAULT_EXPIRE_DAYS
    site_id: str = ""
    fixed: bool = False
    account: pool.AccountKey | None = None
    fix_numbering_registered: str = ""


def apply(core: Core, merchant: MerchantRef, req: ClaimRequest) -> PaymentView:
    """Register a claim and hand out the account the buyer transfers to. A sandbox merchant's
    empty pool fills itself; a production one answers 8001 until the operator adds accounts."""
    core.virtual_bank_for(merchant)  # no bank serves the merchant: P007, not an empty pool's 8001
    for attempt in range(3):
        try:
            return _apply_once(core, merchant, req)
        except InvalidState as error:
            refill = merchant.mode == "sandbox" and req.account is None and attempt < 2
            if error.code != NO_FREE_ACCOUNT or not refill:
                raise
        pool.add_accounts(core, merchant, pool.SANDBOX_BATCH)
    raise AssertionError("unreachable")


def _apply_once(core: Core, merchant: MerchantRef, req: ClaimRequest) -> PaymentView:
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        expire = later.deadline(at.merchant, req.expire_days, MAX_EXPIRE_DAYS)
        due = _end_of(add_business_days(expire.date(), BANK_LAG_DAYS))
        grace = timedelta(days=terms_of(session, merchant.id).grace_days)
        account = _account_for(session, merchant, req)
        if req.fixed:
            account.fixed = True
            account.fix_numbering_registered = (
                req.fix_numbering_registered or account.fix_numbering_registered
            )
        payment = later.add(
            session,
            merchant,
            at,
            payment_type=PAYMENT_TYPE,
            trading_id=req.trading_id,
            amount=req.claim_amount,
            site_id=req.site_id,
            due=due,
            details=_claim_details(req, account, expire),
        )
        account.payment_id = payment.id
        account.updated_at = at.merchant
        session.add(
            VirtualAccountClaim(payment_id=payment.id, account_id=account.id, closes_at=due + grace)
        )
        return PaymentView.of(payment)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=JST)


def _account_for(session: Session, merchant: MerchantRef, req: ClaimRequest) -> VirtualAccount:
    """Rotating: a free account of the pool (8001 none). Fixed: the named account, which must be
    the merchant's (8003) fixed one (8002) and not awaiting another transfer (8001); or, for a
    new customer, a free account of the pool, which becomes theirs."""
    if req.account is None:
        account = pool.take_free(session, merchant.id)
        if account is None:
            raise InvalidState(NO_FREE_ACCOUNT)
        return account
    account = pool.find(session, req.account)
    if account is None or account.merchant_id != merchant.id or account.closed_at is not None:
        raise InvalidRequest(NOT_THE_MERCHANTS)
    if not account.fixed:
        if req.fixed:
            raise InvalidRequest(NUMBERING_MISMATCH)
        raise InvalidRequest(
            "P010",
            field="virtual_account_number",
            message="回転型（numbering_type=0）の口座はKessaiが選びます。口座を指定しないでください。",
        )
    if not req.fixed:
        raise InvalidRequest(NUMBERING_MISMATCH)
    holder = session.get(Payment, account.payment_id) if account.payment_id else None
    if holder is not None and holder.status == VaStatus.APPLIED:
        raise InvalidState(
            NO_FREE_ACCOUNT, message="指定された仮想口座には入金待ちの請求があります。"
        )
    return account  # an expired (12) claim still holding it is superseded by this one


def _claim_details(req: ClaimRequest, account: VirtualAccount, expire: datetime) -> dict[str, Any]:
    expire_date = jst_stamp(expire, "%Y%m%d")
    return account_details(account) | {
        "claim_amount": req.claim_amount,
        "billing_name": req.billing_name,
        "billing_name_kana": req.billing_name_kana,
        "expire_date": expire_date,
        "payment_limit_date": expire_date,  # 091/094: the buyer's deadline, not the bank's lag
    }


def account_details(account: VirtualAccount) -> dict[str, Any]:
    """The account's fields as the protocol names them (070 reply, 091, 094)."""
    return {
        "virtual_account_bank_code": account.bank_code,
        "virtual_account_bank_name": account.bank_name,
        "virtual_account_branch_code": account.branch_code,
        "virtual_account_branch_name": account.branch_name,
        "virtual_account_deposit_kind": account.deposit_kind,
        "virtual_account_number": account.number,
        "numbering_type": "1" if account.fixed else "0",
        "fix_numbering_registered": account.fix_numbering_registered,
    }


# ---------------------------------------------------------------- clearing


def open_claim(session: Session, account: VirtualAccount, at: later.Now) -> Payment | None:
    """The claim a transfer to `account` (locked) clears now, locked; None when there is none.
    A claim past its deadline or grace is expired or closed first, as the jobs would have."""
    if account.payment_id is None:
        return None
    payment = repository.lock_payment(session, account.payment_id)
    later.expire_if_due(session, payment, at)
    claim = session.get(VirtualAccountClaim, payment.id)
    if claim is not None and payment.status in OPEN and claim.closes_at < at.merchant:
        _close(session, account, payment, at)
    return payment if payment.status in OPEN else None


def clear(
    session: Session,
    payment: Payment,
    *,
    amount: int,
    detail: ClearDetail,
    at: later.Now,
    operation: VaOperation,
    transfer: IncomingTransfer | None = None,
) -> None:
    """40 with the transfer's amount as the payment's, the claim and the difference kept beside
    it: `excess_deficiency_amount` is how far the amount is from the claim (its direction is
    the clear_detail), `adjustment_amount` the shortfall written off (02)."""
    target = TRANSITIONS.get((VaStatus(payment.status), operation))
    if target is None:
        raise InvalidState("2004")
    claim = int(payment.details.get("claim_amount") or 0)
    adjusted = claim - amount if detail is ClearDetail.SHORT_ADJUSTED else 0
    payment.amount = amount
    payment.captured_at = transfer.transferred_at if transfer else at.merchant
    payment.details = {
        **payment.details,
        "clear_detail": detail.value,
        "excess_deficiency_amount": abs(amount - claim),
        "adjustment_amount": adjusted,
        **(transfer_details(transfer) if transfer else {}),
    }
    later.set_status(session, payment, target.value, operation=operation.value, at=at)


def transfer_details(transfer: IncomingTransfer) -> dict[str, Any]:
    return {
        "transfer_client_name": transfer.payer_name,
        "transfer_bank_name": transfer.payer_bank_name,
        "transfer_branch_name": transfer.payer_branch_name,
        "transfer_date": jst_stamp(transfer.transferred_at, "%Y%m%d"),
    }


def clear_manually(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    amount: int | None,
    *,
    transfer_id: int | None = None,
) -> PaymentView:
    """An operator clears a closed claim (16 → 40, clear_detail 06 exact / 07 short / 08 over)
    with `amount` yen, or with a recorded transfer no payment has yet (to a closed or unknown
    account; its amount unless `amount` is given)."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        payment = later.locked(session, merchant, payment_id, PAYMENT_TYPE)
        if payment.status != VaStatus.CLOSED:
            raise InvalidState("2004")
        row = _unassigned_transfer(session, merchant, transfer_id) if transfer_id else None
        amount = amount if amount is not None else (row.amount if row else None)
        if amount is None or amount <= 0:
            raise InvalidRequest("P014", field="amount")
        claim = int(payment.details.get("claim_amount") or 0)
        detail = classify(claim, amount, manual=True)
        clear(
            session,
            payment,
            amount=amount,
            detail=detail,
            at=at,
            operation=VaOperation.CLEAR_MANUALLY,
            transfer=_as_incoming(row) if row else None,
        )
        if row is not None:
            row.merchant_id, row.payment_id, row.clear_detail = (
                merchant.id,
                payment.id,
                detail.value,
            )
        return PaymentView.of(payment)


def _unassigned_transfer(
    session: Session, merchant: MerchantRef, transfer_id: int
) -> VirtualAccountTransfer:
    query = select(VirtualAccountTransfer).where(VirtualAccountTransfer.id == transfer_id)
    row = session.scalar(query.with_for_update())
    if row is None or row.merchant_id not in (None, merchant.id):
        raise NotFound(message=f"no transfer {transfer_id} for merchant {merchant.id}")
    if row.payment_id is not None:
        raise InvalidState(
            message=f"transfer {transfer_id} already cleared payment {row.payment_id}"
        )
    return row


def _as_incoming(row: VirtualAccountTransfer) -> IncomingTransfer:
    return IncomingTransfer(
        reference=row.reference,
        bank_code=row.bank_code,
        branch_code=row.branch_code,
        account_number=row.account_number,
        amount=row.amount,
        transferred_at=row.transferred_at,
        payer_name=row.payer_name,
        payer_bank_name=row.payer_bank_name,
        payer_branch_name=row.payer_branch_name,
    )


# ---------------------------------------------------------------- closing (16)


def _close(session: Session, account: VirtualAccount, payment: Payment, at: later.Now) -> None:
    """10/12 → 16; the account (locked) is let go if this claim still holds it."""
    target = TRANSITIONS[(VaStatus(payment.status), VaOperation.CLOSE)]
    later.set_status(session, payment, target.value, operation=VaOperation.CLOSE.value, at=at)
    if account.payment_id == payment.id:
        pool.release(account, at.merchant)


def close_now(core: Core, merchant: MerchantRef, payment_id: int) -> PaymentView:
    """The status-simulation tool's 12 → 16: the grace ends now (an unexpired claim → 2004)."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        claim = session.get(VirtualAccountClaim, payment_id)
        if claim is None:
            raise NotFound("2006")
        account = pool.lock(session, claim.account_id)
        payment = later.locked(session, merchant, payment_id, PAYMENT_TYPE)
        if payment.status != VaStatus.EXPIRED:
            raise InvalidState("2004")
        claim.closes_at = at.merchant
        _close(session, account, payment, at)
        return PaymentView.of(payment)


def close_due(core: Core, *, batch: int = 500, merchant_id: int | None = None) -> int:
    """10/12 → 16 for every claim past deadline + grace (of one merchant with `merchant_id`), on
    each merchant's own time (`later.due_candidates`), one by one, each under its account's and
    its payment's locks (a transfer clearing it meanwhile wins)."""
    closed = 0
    for payment_id, at in later.due_candidates(
        core, partial(_closing, batch), merchant_id=merchant_id
    ):
        with core.sessions.begin() as session:
            closed += _close_if_due(session, payment_id, at)
    return closed


def _closing(
    limit: int, session: Session, now: datetime, merchant_id: int | None, exclude: set[int]
) -> list[int]:
    """A `later.Finder`: open claims past their closing time."""
    query = (
        select(VirtualAccountClaim.payment_id)
        .join(Payment, Payment.id == VirtualAccountClaim.payment_id)
        .where(Payment.status.in_([s.value for s in OPEN]), VirtualAccountClaim.closes_at < now)
    )
    if merchant_id is not None:
        query = query.where(Payment.merchant_id == merchant_id)
    if exclude:
        query = query.where(Payment.merchant_id.not_in(list(exclude)))
    return list(session.scalars(query.limit(limit)))


def _close_if_due(session: Session, payment_id: int, at: later.Now) -> bool:
    claim = session.get(VirtualAccountClaim, payment_id)
    assert claim is not None
    account = pool.lock(session, claim.account_id)
    payment = repository.lock_payment(session, payment_id)
    if payment.status not in OPEN or claim.closes_at >= at.merchant:
        return False
    _close(session, account, payment, at)
    return True
