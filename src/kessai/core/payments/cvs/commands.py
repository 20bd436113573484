"""CVS number payments (コンビニ番号方式, telegram 030) at the seven chains (paygent-protocol.md
§1.5 030, §3.3): apply, paid at the till (7-Eleven and FamilyMart report first: 43, then 40 or 61),
expired. The shared mechanics of methods paid later are in `later`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.payments import later
from kessai.core.payments.cvs.states import TRANSITIONS, CvsOperation, CvsStatus
from kessai.core.payments.models import Payment
from kessai.core.payments.views import PaymentView
from kessai.kit.errors import InvalidRequest

PAYMENT_TYPE = "03"
DEFAULT_LIMIT_DAYS = 30
MAX_AMOUNT = 299_999  # the chains' till limit per payment (収納代行 is below 300,000 yen)

CHAINS: dict[str, str] = {
    "00C001": "セブン-イレブン",
    "00C002": "ローソン",
    "00C004": "ミニストップ",
    "00C005": "ファミリーマート",
    "00C006": "サークルK・サンクス",
    "00C014": "デイリーヤマザキ",
    "00C016": "セイコーマート",
}
SEVEN_ELEVEN = "00C001"
# Chains that first send a preliminary payment report (速報): 10 → 43 → 40 (§3.3).
REPORTING_CHAINS = frozenset({SEVEN_ELEVEN, "00C005"})
# cvs_type → the chains a number is good at, for connection type A (§1.5 030); the first issues it.
CVS_TYPES: dict[str, tuple[str, ...]] = {
    "01": ("00C016",),
    "02": ("00C002", "00C004", "00C014"),
    "03": ("00C001",),
    "04": ("00C005", "00C006"),
}


@dataclass(frozen=True, slots=True)
class CvsRequest:
    trading_id: str
    amount: int
    cvs_type: str
    cvs_company_id: str
    customer_family_name: str
    customer_name: str
    customer_tel: str
    limit_days: int = DEFAULT_LIMIT_DAYS
    customer_family_name_kana: str = ""
    customer_name_kana: str = ""
    site_id: str = ""
    sales_type: str = ""  # 1 prepaid / 3 postpaid; 7-Eleven needs it


def usable_chains(cvs_type: str, cvs_company_id: str) -> tuple[str, ...]:
    """The chains of the request: `cvs_type` wins over `cvs_company_id` (§1.5 030)."""
    if cvs_type:
        if cvs_type not in CVS_TYPES:
            raise InvalidRequest("P010", field="cvs_type")
        return CVS_TYPES[cvs_type]
    if cvs_company_id not in CHAINS:
        raise InvalidRequest("P010" if cvs_company_id else "P005", field="cvs_company_id")
    return (cvs_company_id,)


RECEIPT_PAGE = "cvs-receipt"


def receipt_token(secret: bytes, payment_id: int) -> str:
    """The unguessable part of a payment's receipt page URL (keyed by the server secret)."""
    return later.page_token(secret, RECEIPT_PAGE, payment_id)


def receipt(core: Core, payment_id: int, token: str) -> PaymentView:
    """The payment a receipt page shows; NotFound for a wrong token or another method."""
    return later.page_payment(core, RECEIPT_PAGE, PAYMENT_TYPE, payment_id, token)


def apply(core: Core, merchant: MerchantRef, req: CvsRequest) -> PaymentView:
    """Register a CVS payment and issue the chain's number the buyer pays with."""
    if req.amount > MAX_AMOUNT:
        raise InvalidRequest("P011")
    chains = usable_chains(req.cvs_type, req.cvs_company_id)
    if SEVEN_ELEVEN in chains and not req.sales_type:
        raise InvalidRequest("P005", field="sales_type")
    due = later.deadline(core.now_for(merchant), req.limit_days)
    receipt = core.cvs_for(merchant).issue(
        idempotency_key=uuid.uuid4().hex,
        company_id=chains[0],
        amount=req.amount,
        customer_tel=req.customer_tel,
    )
    return later.create(
        core,
        merchant,
        payment_type=PAYMENT_TYPE,
        trading_id=req.trading_id,
        amount=req.amount,
        site_id=req.site_id,
        due=due,
        details={
            "cvs_company_id": chains[0],
            "usable_cvs_company_id": "-".join(chains),
            "receipt_number": receipt.receipt_number,
            "conf_number": receipt.conf_number,
            "customer_family_name": req.customer_family_name,
            "customer_name": req.customer_name,
            "customer_family_name_kana": req.customer_family_name_kana,
            "customer_name_kana": req.customer_name_kana,
            "customer_tel": req.customer_tel,
            "sales_type": req.sales_type,
        },
    )


def pay(
    core: Core,
    merchant: MerchantRef,
    payment_id: int,
    *,
    paid_at: datetime | None = None,
    company_id: str | None = None,
) -> PaymentView:
    """The buyer pays at the till: 10 → 40, or 10 → 43 at chains that report first. Paid after
    the deadline → 2004; paid again → the first payment stands."""
    with core.sessions.begin() as session:
        at = later.now(core, merchant)
        paid_at = paid_at or at.merchant
        payment, to_pay = later.payable(
            session,
            merchant,
            payment_id,
            PAYMENT_TYPE,
            paid_at,
            done=(CvsStatus.PAID, CvsStatus.REPORTED),
        )
        if not to_pay:
            return PaymentView.of(payment)
        chain = company_id or str(payment.details["cvs_company_id"])
        if chain not in str(payment.details.get("usable_cvs_company_id", "")).split("-"):
            raise InvalidRequest("P010", field="cvs_company_id")
        operation = CvsOperation.REPORT if chain in REPORTING_CHAINS else CvsOperation.PAY
        payment.details = {
            **payment.details,
            "cvs_company_id": chain,
            "user_payment_date": paid_at.isoformat(),
        }
        if operation is CvsOperation.PAY:
            payment.captured_at = paid_at
        _move(session, payment, operation, at)
        return PaymentView.of(payment)


def settle_report(
    core: Core, merchant: MerchantRef, payment_id: int, *, confirmed: bool
) -> PaymentView:
    """The chain confirms (43 → 40) or withdraws (43 → 61) its preliminary report."""
    return later.settle_report(
        core,
        merchant,
        payment_id,
        payment_type=PAYMENT_TYPE,
        transitions=TRANSITIONS,
        confirmed=confirmed,
    )


def expire_due(core: Core) -> int:
    """10 → 12 for every unpaid CVS payment past its deadline."""
    return later.expire_due(core, payment_type=PAYMENT_TYPE)


def _move(session: Session, payment: Payment, operation: CvsOperation, at: later.Now) -> None:
    later.move(session, payment, TRANSITIONS, operation, at)
