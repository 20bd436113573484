"""Bank net payments (銀行ネット決済, telegrams 060 ASP and 050; paygent-protocol.md §1.5 060,
§3.6): the application, the buyer's bank choices, the bank's completion notice, expiry.

060 writes an application (`BankNetRequest`) and answers the URL of Kessai's bank-selection page.
Each bank the buyer picks there makes a new payment (10) — PAYGENT's "a new payment_id per
click" — up to `MAX_SELECTIONS` (5011). The bank's completion notice clears one payment of the
application (10 → 40); unpaid payments close (10 → 15) two bank business days after they were made.

050 (bank net direct) has no fields in the sources; Kessai's reading is 060 with a `bank_code`
chosen by the merchant: the payment is made at once and the buyer goes straight to that bank.

Opening a payment at a bank moves no money, so the bank is asked before the payment is written.
Clearing (the bank's completion notice, expiry) is `banknet_clearing`'s.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kessai.connectors.base import NetBank
from kessai.core.context import Core, MerchantRef
from kessai.core.payments import later
from kessai.core.payments.banknet.models import BankNetRequest
from kessai.core.payments.banknet.states import BankNetStatus
from kessai.core.payments.models import Payment
from kessai.core.payments.views import PaymentView
from kessai.kit.clock import add_business_days
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

PAYMENT_TYPE = "05"
DEFAULT_TERM = "0050000"  # asp_payment_term: 5 days from now
MAX_SELECTIONS = 10  # bank choices per application before 5011 (PAYGENT does not publish its own)
PAYMENT_BUSINESS_DAYS = 2  # 10 → 15 two bank business days after the payment was made (§3.6)
# `amount` may have 11 digits, but payments keep 32-bit amounts; no bank's net-banking limit
# comes near this, so more is a contract limit (P011).
MAX_AMOUNT = 2_147_483_647
DEFAULT_RECEIPT_NAME_KANA = "ｹﾂｻｲ"  # the payee on the buyer's bank statement (PAYGENT: ﾍﾟｲｼﾞｪﾝﾄ)
# Direct banks that send the buyer back to return_url with result/payment_id/trading_id (§1.5).
RETURNS_RESULT = frozenset({"D009", "D033", "D034", "D036", "D038", "D039"})
URL_FIELDS = ("return_url", "stop_return_url", "banner_url")
CUSTOMER_FIELDS = (
    "customer_family_name",
    "customer_name",
    "customer_family_name_kana",
    "customer_name_kana",
)


@dataclass(frozen=True, slots=True)
class BankNetApplication:
    """A 060 (or 050, with `bank_code`) as the core needs it."""

    trading_id: str  # "" = Kessai assigns one
    amount: int
    claim_kana: str
    claim_kanji: str
    term: str = DEFAULT_TERM  # asp_payment_term
    site_id: str = ""
    bank_code: str = ""  # 050: the bank the merchant chose
    # customer names and kana, receipt_name(_kana), return_url, stop_return_url, merchant_name,
    # banner_url, free_memo, copy_right: shown on the pages and used for the returns.
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RequestView:
    request_id: int
    merchant_id: int
    trading_id: str
    site_id: str
    amount: int
    claim_kana: str
    claim_kanji: str
    bank_code: str
    selections: int
    paid_payment_id: int | None
    limit_at: datetime
    payment_limit_at: datetime
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, row: BankNetRequest) -> RequestView:
        return cls(
            request_id=row.id,
            merchant_id=row.merchant_id,
            trading_id=row.trading_id,
            site_id=row.site_id,
            amount=row.amount,
            claim_kana=row.claim_kana,
            claim_kanji=row.claim_kanji,
            bank_code=row.bank_code,
            selections=row.selections,
            paid_payment_id=row.paid_payment_id,
            limit_at=row.limit_at,
            payment_limit_at=row.payment_limit_at,
            created_at=row.created_at,
            details=dict(row.details or {}),
        )

    def detail(self, name: str) -> str:
        return str(self.details.get(name) or "")


@dataclass(frozen=True, slots=True)
class Applied:
    request: RequestView
    payment: PaymentView | None = None  # 050: the payment at the merchant's bank


class ApplicationExists(InvalidState):
    """A 060 for a trading_id that already has an application: 5008 paid, 5009 expired, 5010 still
    open. `request` is that application (5010 answers its fields)."""

    def __init__(self, code: str, request: RequestView) -> None:
        super().__init__(code)
        self.request = request


# ---------------------------------------------------------------- deadlines


def selection_limit(now: datetime, term: str) -> datetime:
    """asp_limit_date from asp_payment_term `FDDhhmm`: F=0 adds DD days, hh hours and mm minutes
    to now; F=1 adds DD days and ends that day at 23:59(:59). P010 for a malformed term, P012
    for one that ends now."""
    if len(term) != 7 or not term.isdigit() or term[0] not in "01":
        raise InvalidRequest("P010", field="asp_payment_term")
    days, hours, minutes = int(term[1:3]), int(term[3:5]), int(term[5:7])
    if hours > 23 or minutes > 59:
        raise InvalidRequest("P010", field="asp_payment_term")
    if term[0] == "1":
        return later.end_of_day(later.jst_date(now) + timedelta(days=days))
    limit = now + timedelta(days=days, hours=hours, minutes=minutes)
    if limit <= now:
        raise InvalidRequest("P012")
    return limit


def payment_deadline(made_at: datetime) -> datetime:
    """The end of the second bank business day after `made_at`, Japan time (§3.6)."""
    return later.end_of_day(add_business_days(later.jst_date(made_at), PAYMENT_BUSINESS_DAYS))


# ---------------------------------------------------------------- 060 / 050


def apply(core: Core, merchant: MerchantRef, app: BankNetApplication) -> Applied:
    """Register a bank net application (銀行ネット決済ASP申込); with a bank_code (050) also the
    payment at that bank."""
    core.banknet_for(merchant)  # 060 reaches a bank only later: refuse (P007) before writing
    if app.amount > MAX_AMOUNT:
        raise InvalidRequest("P011")
    for name in URL_FIELDS:
        _check_url(name, app.details.get(name, ""))
    limit = selection_limit(core.now_for(merchant), app.term)
    opened = None
    if app.bank_code:  # 050: open the payment at the merchant's bank first (no money moves)
        bank = bank_of(core, merchant, app.bank_code)
        opened = (bank, _open(core, merchant, bank.code, app.amount))
    trading_id = app.trading_id or f"BN{uuid.uuid4().hex[:20]}"
    try:
        with core.sessions.begin() as session:
            at = later.now(core, merchant)
            return _write(session, merchant, app, trading_id, limit, at, opened)
    except IntegrityError:  # the same trading_id applied at the same moment: it has one now
        with core.sessions() as session:
            row = find_request(session, merchant.id, trading_id)
            assert row is not None
            code = _conflict_code(session, row, core.now_for(merchant))
            raise ApplicationExists(code, RequestView.of(row)) from None


def _write(
    session: Session,
    merchant: MerchantRef,
    app: BankNetApplication,
    trading_id: str,
    limit: datetime,
    at: later.Now,
    opened: tuple[NetBank, str] | None,
) -> Applied:
    existing = find_request(session, merchant.id, trading_id)
    if existing is not None:
        code = _conflict_code(session, existing, at.merchant)
        raise ApplicationExists(code, RequestView.of(existing))
    row = BankNetRequest(
        merchant_id=merchant.id,
        trading_id=trading_id,
        site_id=app.site_id,
        amount=app.amount,
        claim_kana=app.claim_kana,
        claim_kanji=app.claim_kanji,
        bank_code=opened[0].code if opened else "",
        details=_details(app.details),
        selections=0,
        limit_at=limit,
        payment_limit_at=payment_deadline(limit),
        created_at=at.merchant,
    )
    session.add(row)
    session.flush()
    if opened is None:
        return Applied(RequestView.of(row))
    payment = _add_payment(session, merchant, row, *opened, at)
    return Applied(RequestView.of(row), PaymentView.of(payment))


def _details(given: Mapping[str, str]) -> dict[str, str]:
    details = {name: value for name, value in given.items() if value}
    details.setdefault("receipt_name_kana", DEFAULT_RECEIPT_NAME_KANA)
    return details


def _check_url(name: str, url: str) -> None:
    """Buyers are sent to these: only http(s) URLs with a host (no javascript:, no relative)."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest("P010", field=name)


def find_request(session: Session, merchant_id: int, trading_id: str) -> BankNetRequest | None:
    return session.scalar(
        select(BankNetRequest).where(
            BankNetRequest.merchant_id == merchant_id, BankNetRequest.trading_id == trading_id
        )
    )


def _conflict_code(session: Session, row: BankNetRequest, now: datetime) -> str:
    if row.paid_payment_id is not None:
        return "5008"
    if now > row.limit_at and not _has_open_payment(session, row):
        return "5009"
    return "5010"


def _has_open_payment(session: Session, row: BankNetRequest) -> bool:
    query = select(Payment.id).where(
        Payment.merchant_id == row.merchant_id,
        Payment.trading_id == row.trading_id,
        Payment.payment_type == PAYMENT_TYPE,
        Payment.status == BankNetStatus.APPLIED.value,
    )
    return session.scalar(query.limit(1)) is not None


def payment_for_inquiry(
    session: Session, merchant_id: int, payment_id: str, trading_id: str, payment_type: str
) -> int | None:
    """094 by trading_id alone for a bank net application, which has a payment per bank the buyer
    picked: the paid one, else the newest. None (the usual lookup) in every other case, and when
    other methods share the trading_id without a payment_type (13002)."""
    if payment_id or not trading_id or payment_type not in ("", PAYMENT_TYPE):
        return None
    row = find_request(session, merchant_id, trading_id)
    if row is None:
        return None
    if row.paid_payment_id is not None:
        return row.paid_payment_id
    same_trading = select(Payment.id).where(
        Payment.merchant_id == merchant_id, Payment.trading_id == trading_id
    )
    if not payment_type:
        others = same_trading.where(Payment.payment_type != PAYMENT_TYPE).limit(1)
        if session.scalar(others) is not None:
            return None
    newest = same_trading.where(Payment.payment_type == PAYMENT_TYPE).order_by(Payment.id.desc())
    return session.scalar(newest.limit(1))


# ---------------------------------------------------------------- the buyer picks a bank


def bank_of(core: Core, merchant: MerchantRef, bank_code: str) -> NetBank:
    """One of the banks the merchant's buyers may choose; P010 for another code."""
    for bank in core.banknet_for(merchant).banks():
        if bank.code == bank_code:
            return bank
    raise InvalidRequest("P010", field="bank_code")


def choose_bank(core: Core, merchant: MerchantRef, request_id: int, bank_code: str) -> PaymentView:
    """The buyer picks a bank on the selection page: a new payment (10) at that bank. 5008 when
    the application is paid, 5009 when banks can no longer be chosen, 5011 after too many."""
    bank = bank_of(core, merchant, bank_code)
    with core.sessions() as session:
        row = locate_request(session, merchant, request_id)
        _check_choosable(row, core.now_for(merchant))
        amount = row.amount
    reference = _open(core, merchant, bank.code, amount)
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        row = locate_request(session, merchant, request_id, lock=True)
        _check_choosable(row, at.merchant)
        row.selections += 1
        return PaymentView.of(_add_payment(session, merchant, row, bank, reference, at))


def _check_choosable(row: BankNetRequest, now: datetime) -> None:
    if row.paid_payment_id is not None:
        raise InvalidState("5008")
    if now > row.limit_at:
        raise InvalidState("5009")
    if row.selections >= MAX_SELECTIONS:
        raise InvalidState("5011")


def _open(core: Core, merchant: MerchantRef, bank_code: str, amount: int) -> str:
    return core.banknet_for(merchant).open(
        idempotency_key=uuid.uuid4().hex, bank_code=bank_code, amount=amount
    )


def _add_payment(
    session: Session,
    merchant: MerchantRef,
    row: BankNetRequest,
    bank: NetBank,
    reference: str,
    at: later.Now,
) -> Payment:
    return later.add(
        session,
        merchant,
        at=at,
        payment_type=PAYMENT_TYPE,
        trading_id=row.trading_id,
        amount=row.amount,
        site_id=row.site_id,
        due=payment_deadline(at.merchant),
        institution_ref=reference,
        details={
            "request_id": row.id,
            "bank_code": bank.code,
            "bank_name": bank.name,
            "claim_kana": row.claim_kana,
            "claim_kanji": row.claim_kanji,
            **{name: row.details[name] for name in CUSTOMER_FIELDS if name in row.details},
        },
    )


def locate_request(
    session: Session, merchant: MerchantRef, request_id: int, *, lock: bool = False
) -> BankNetRequest:
    query = select(BankNetRequest).where(BankNetRequest.id == request_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None or row.merchant_id != merchant.id:
        raise NotFound("2006")
    return row
