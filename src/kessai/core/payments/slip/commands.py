"""CVS payment slips (コンビニ払込票, telegram 040; paygent-protocol.md §1.5 040, §3.4): a printable
slip whose GS1-128 barcode any chain the collection agency lists takes at the till; the payment is
reported the day after (43), then confirmed (40) or withdrawn (61); unpaid, it expires (12). The
shared mechanics of methods paid later are in `later`; the barcode's layout is `kit.cvs_barcode`'s.

Two dates, as real slips print them: the payment deadline (支払期限, `payment_limit_date`, 1–364 days)
the buyer is asked to pay by, and the slip's validity (有効期限, `bill_expiration_date`, inferred to be
days too and not before the deadline), the last day a till still takes it. The barcode carries the
validity, and the payment expires when it has passed (`due_at`); without `bill_expiration_date` the
two are the same day.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.models import Merchant
from kessai.core.payments import later
from kessai.core.payments.cvs.commands import CHAINS
from kessai.core.payments.models import Payment
from kessai.core.payments.slip.states import INITIAL, TRANSITIONS, SlipOperation, SlipStatus
from kessai.core.payments.views import PaymentView
from kessai.kit import cvs_barcode
from kessai.kit.clock import as_utc, jst_stamp
from kessai.kit.errors import InvalidRequest

PAYMENT_TYPE = "04"
DEFAULT_LIMIT_DAYS = 30  # (infer) the module type's default for methods paid later (§1.8)
MAX_LIMIT_DAYS = 364
MAX_AMOUNT = 299_999  # 収納代行 at the tills stops below 300,000 yen (the field allows 6 digits)
MAX_ITEMS = 20
TAX_SEPARATE = "1"  # tax_class 1: item amounts exclude the tax, sales_tax_amount is added to them
SLIP_PAGE = "cvs-slip"


@dataclass(frozen=True, slots=True)
class SlipItem:
    """One line of the slip's statement (明細): item_date_N / item_detail_N / item_amount_N."""

    amount: int
    detail: str = ""
    day: date | None = None


@dataclass(frozen=True, slots=True)
class Payer:
    """Whom the slip is addressed to: a person (customer_type 0) or a company (1), whose name is
    in `family_name` with its department and representative."""

    family_name: str
    zip_code: str
    address: tuple[str, str, str]
    tel: str
    customer_type: str = "0"
    name: str = ""
    family_name_kana: str = ""
    name_kana: str = ""
    dept: str = ""
    representative: str = ""
    tel_type: str = ""


@dataclass(frozen=True, slots=True)
class SlipRequest:
    trading_id: str
    amount: int
    payer: Payer
    items: tuple[SlipItem, ...] = ()
    tax_class: str = "0"
    sales_tax_amount: int = 0
    site_info: str = ""
    limit_days: int = DEFAULT_LIMIT_DAYS
    expiration_days: int | None = None


@dataclass(frozen=True, slots=True)
class SlipDocument:
    """What the buyer's slip page and PDF show: the payment and whom it is paid to."""

    payment: PaymentView
    payee: str

    def chains(self) -> list[str]:
        """The names of the chains that take the slip."""
        ids = self.payment.detail("usable_cvs_company_id").split("-")
        return [CHAINS.get(chain, chain) for chain in ids if chain]


def slip_token(secret: bytes, payment_id: int) -> str:
    """The unguessable part of a slip's page and PDF URLs."""
    return later.page_token(secret, SLIP_PAGE, payment_id)


def document(core: Core, payment_id: int, token: str) -> SlipDocument:
    """The slip behind a page URL; NotFound for a wrong token or another method."""
    view = later.page_payment(core, SLIP_PAGE, PAYMENT_TYPE, payment_id, token)
    with core.sessions() as session:
        merchant = session.get(Merchant, view.merchant_id)
        payee = merchant.name if merchant else ""
    return SlipDocument(view, payee)


def apply(core: Core, merchant: MerchantRef, req: SlipRequest) -> PaymentView:
    """Register a slip payment (コンビニ払込票申込): checks, a number from the agency, the barcode."""
    _check_amounts(req)
    today = later.now(core, merchant).merchant
    if not 1 <= req.limit_days <= MAX_LIMIT_DAYS:
        raise InvalidRequest("P012")
    deadline = later.deadline(today, req.limit_days, MAX_LIMIT_DAYS)
    valid_until = deadline
    if req.expiration_days is not None:
        if req.expiration_days < req.limit_days:
            raise InvalidRequest("P012")
        valid_until = later.deadline(today, req.expiration_days, MAX_LIMIT_DAYS)
    number = core.slip_for(merchant).issue(idempotency_key=uuid.uuid4().hex, amount=req.amount)
    code = cvs_barcode.SlipCode(
        company_code=number.company_code,
        free_field=number.slip_number,
        deadline=valid_until.date(),
        amount=req.amount,
        stamp=cvs_barcode.needs_stamp(req.amount, req.sales_tax_amount),
    ).digits()
    return later.create(
        core,
        merchant,
        payment_type=PAYMENT_TYPE,
        trading_id=req.trading_id,
        amount=req.amount,
        site_id="",  # 040 is not site-aware (§1.5)
        due=valid_until,
        details=_details(req, code, number.slip_number, number.chains, deadline),
    )


def _check_amounts(req: SlipRequest) -> None:
    """P011 over the tills' limit; P010 when the tax or the statement's lines do not add up to
    the amount (tax_class 1: lines + tax; otherwise the lines alone, the tax being inside)."""
    if req.amount > MAX_AMOUNT:
        raise InvalidRequest("P011")
    if req.sales_tax_amount > req.amount:
        raise InvalidRequest("P010", field="sales_tax_amount")
    if len(req.items) > MAX_ITEMS:
        raise InvalidRequest("P010", field=f"item_amount_{MAX_ITEMS + 1}")
    if not req.items:
        return
    total = sum(item.amount for item in req.items)
    if req.tax_class == TAX_SEPARATE:
        total += req.sales_tax_amount
    if total != req.amount:
        raise InvalidRequest(
            "P010",
            field="item_amount",
            message=f'"item_amount"の合計（{total}円）が決済金額（{req.amount}円）と一致しません。',
        )


def _details(
    req: SlipRequest, code: str, slip_number: str, chains: tuple[str, ...], deadline: datetime
) -> dict[str, object]:
    payer = req.payer
    return {
        "bar_code": code,
        "slip_number": slip_number,
        "usable_cvs_company_id": "-".join(chains),
        "payment_limit_date": jst_stamp(deadline, "%Y%m%d"),  # 支払期限, as printed
        "tax_class": req.tax_class,
        "sales_tax_amount": req.sales_tax_amount,
        "site_info": req.site_info,
        "customer_type": payer.customer_type,
        "customer_family_name": payer.family_name,
        "customer_name": payer.name,
        "customer_family_name_kana": payer.family_name_kana,
        "customer_name_kana": payer.name_kana,
        "customer_dept": payer.dept,
        "customer_representative": payer.representative,
        "customer_zip_code": payer.zip_code,
        "customer_address_1": payer.address[0],
        "customer_address_2": payer.address[1],
        "customer_address_3": payer.address[2],
        "customer_tel_type": payer.tel_type,
        "customer_tel": payer.tel,
        "items": [
            {
                "date": item.day.strftime("%Y%m%d") if item.day else "",
                "detail": item.detail,
                "amount": item.amount,
            }
            for item in req.items
        ],
    }


def pay(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    *,
    paid_at: datetime | None = None,
    company_id: str | None = None,
) -> PaymentView:
    """The buyer pays the slip at a till and the agency reports it (速報): 10 → 43. At a chain
    the slip does not list → P010; after its validity → 2004; paid again → the first payment
    stands."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        paid_at = paid_at or at.merchant
        payment, to_pay = later.payable(
            session,
            merchant,
            payment_id,
            PAYMENT_TYPE,
            paid_at,
            done=(SlipStatus.REPORTED, SlipStatus.PAID),
        )
        if not to_pay:
            return PaymentView.of(payment)
        if paid_at < payment.created_at:
            raise InvalidRequest("P010", field="paid_at", message="paid before the slip existed")
        chains = str(payment.details.get("usable_cvs_company_id", "")).split("-")
        chain = company_id or chains[0]
        if chain not in chains:
            raise InvalidRequest("P010", field="cvs_company_id")
        payment.details = {
            **payment.details,
            "cvs_company_id": chain,
            "user_payment_date": paid_at.isoformat(),
        }
        _move(session, payment, SlipOperation.REPORT, at)
        return PaymentView.of(payment)


def settle_report(
    core: Core, merchant: MerchantRef, payment_id: int, *, confirmed: bool
) -> PaymentView:
    """The agency confirms (43 → 40, paid on today's date) or withdraws (43 → 61) its report."""
    return later.settle_report(
        core,
        merchant,
        payment_id,
        payment_type=PAYMENT_TYPE,
        transitions=TRANSITIONS,
        confirmed=confirmed,
    )


def record_unapplied(
    core: Core,
    merchant: MerchantRef,
    *,
    amount: int,
    company_id: str = "",
    paid_at: datetime | None = None,
    free_field: str = "",
) -> PaymentView:
    """A slip paid at a till that no 040 applied for (the buyer's own print of a slip layout):
    the agency's report creates the payment directly in 43 (§3.4). `free_field` is the barcode's
    free-use field (≤ 21 digits; default: a number from the agency); the barcode's deadline is
    the day it was paid."""
    if amount <= 0:
        raise InvalidRequest("P014")
    if amount > MAX_AMOUNT:
        raise InvalidRequest("P011")
    if free_field and not (free_field.isascii() and free_field.isdigit() and len(free_field) <= 21):
        raise InvalidRequest("P010", field="free_field")
    paid_at = paid_at or later.now(core, merchant).merchant
    number = core.slip_for(merchant).issue(idempotency_key=uuid.uuid4().hex, amount=amount)
    chain = company_id or number.chains[0]
    if chain not in number.chains:
        raise InvalidRequest("P010", field="cvs_company_id")
    day = later.deadline(paid_at, 0)
    code = cvs_barcode.SlipCode(
        company_code=number.company_code,
        free_field=free_field or number.slip_number,
        deadline=day.date(),
        amount=amount,
        stamp=cvs_barcode.needs_stamp(amount),
    ).digits()
    return later.create(
        core,
        merchant,
        payment_type=PAYMENT_TYPE,
        trading_id="",
        amount=amount,
        site_id="",
        due=day,
        status=INITIAL[SlipOperation.REPORT_UNAPPLIED].value,
        operation=SlipOperation.REPORT_UNAPPLIED.value,
        details={
            "bar_code": code,
            "slip_number": code[8:29],
            "usable_cvs_company_id": "-".join(number.chains),
            "payment_limit_date": jst_stamp(day, "%Y%m%d"),
            "cvs_company_id": chain,
            "user_payment_date": paid_at.isoformat(),
            "unapplied": True,
        },
    )


def expire_due(core: Core) -> int:
    """10 → 12 for every unpaid slip past its validity."""
    return later.expire_due(core, payment_type=PAYMENT_TYPE)


def paid_on(view: PaymentView) -> datetime | None:
    """When the buyer paid at the till (user_payment_date), if they have."""
    paid = view.detail("user_payment_date")
    return as_utc(datetime.fromisoformat(paid)) if paid else None


def _move(session: Session, payment: Payment, operation: SlipOperation, at: later.Now) -> None:
    later.move(session, payment, TRANSITIONS, operation, at)
