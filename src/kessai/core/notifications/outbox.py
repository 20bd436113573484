"""Writing notices into the outbox, inside the transaction of the change they report.

`payment_notice_id` is a per-merchant sequence (paygent-protocol.md §1.5 091): it is taken by bumping
the merchant's row in `notice_counters` with UPDATE … RETURNING, whose row lock lasts until commit, so
two changes committing at once never get the same number and a rolled-back change leaves no gap.
The bump is the last statement before commit, to hold that lock as briefly as possible.

A notice is pushed to its merchant's notification URL, or — when its payment was made on a link page
whose signed request carried an `inform_url` and the merchant's `inform_url_mode` is `replace` — to
that `inform_url` (issue #19), kept on the notice as `push_url`. The link page and its payments
share the merchant and trading_id (core.link.standing reads them so), and so does this lookup.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kessai.core.link.models import LinkRequest
from kessai.core.merchants.models import Merchant
from kessai.core.notifications.models import Notice, NoticeCounter
from kessai.core.payments.models import Payment
from kessai.kit.clock import jst_stamp


def record_change(
    session: Session, payment: Payment, now: datetime, *, deliver_at: datetime | None = None
) -> None:
    """Add the notice for `payment`'s current status (no commit: the caller's transaction).
    `now` dates the change; `deliver_at` (default `now`) is when delivery may start."""
    payment.notice_count = (payment.notice_count or 0) + 1
    url = push_url(session, payment)
    status = "pending" if url or _has_notification_url(session, payment.merchant_id) else "skipped"
    session.flush()  # everything else first: the counter's lock is held from here to commit
    notice_id = session.execute(
        update(NoticeCounter)
        .where(NoticeCounter.merchant_id == payment.merchant_id)
        .values(last_notice_id=NoticeCounter.last_notice_id + 1)
        .returning(NoticeCounter.last_notice_id)
    ).scalar_one()
    session.add(
        Notice(
            merchant_id=payment.merchant_id,
            payment_notice_id=notice_id,
            payment_id=payment.id,
            payment_seq=payment.notice_count,
            payment_status=payment.status,
            fields=notice_fields(payment, notice_id, now),
            site_id=payment.site_id,
            push_url=url,
            delivery_status=status,
            next_attempt_at=(deliver_at or now) if status == "pending" else None,
            created_at=now,
        )
    )


def _has_notification_url(session: Session, merchant_id: int) -> bool:
    """Whether a notice with no push_url of its own has somewhere to go. One that has not is
    written `skipped` at once (091 pull has it): left `pending`, it would be read by every
    delivery claim until the housekeeping marked it (delivery.skip_unaddressed, the same rule)."""
    merchant = session.get(Merchant, merchant_id)
    return bool(merchant is not None and merchant.notification_url)


def push_url(session: Session, payment: Payment) -> str | None:
    """The `inform_url` this payment's notices go to instead of the merchant's notification URL;
    None when they go there (no link request with one, or the merchant ignores it)."""
    if not payment.trading_id:
        return None
    row = session.execute(
        select(LinkRequest.params, Merchant.inform_url_mode)
        .join(Merchant, Merchant.id == LinkRequest.merchant_id)
        .where(
            LinkRequest.merchant_id == payment.merchant_id,
            LinkRequest.trading_id == payment.trading_id,
        )
    ).first()
    if row is None or row.inform_url_mode != "replace":
        return None
    return str((row.params or {}).get("inform_url") or "") or None


def _stamp_iso(value: object) -> str:
    """A time kept in `details` as ISO text (when the buyer paid), as a protocol stamp."""
    return jst_stamp(datetime.fromisoformat(value)) if isinstance(value, str) and value else ""


# Notice fields a method keeps in its payment's details under their protocol names (§1.5 091):
# the virtual account's clearing (and its buyer's deadline as payment_limit_date), a card
# payment's 3-D Secure attempt_kbn.
DETAIL_FIELDS = (
    "payment_limit_date",
    "attempt_kbn",
    "clear_detail",
    "claim_amount",
    "excess_deficiency_amount",
    "adjustment_amount",
    "virtual_account_bank_code",
    "virtual_account_branch_code",
    "virtual_account_number",
    "billing_name",
    "billing_name_kana",
    "transfer_client_name",
    "transfer_bank_name",
    "transfer_branch_name",
    "transfer_date",
)


def notice_fields(payment: Payment, notice_id: int, now: datetime) -> dict[str, str]:
    """The 091 / push fields of a payment (§1.5 091), as strings."""
    details = payment.details or {}
    kept = {name: str(details[name]) for name in DETAIL_FIELDS if name in details}
    return _common_fields(payment, notice_id, now) | kept


def _common_fields(payment: Payment, notice_id: int, now: datetime) -> dict[str, str]:
    """The common fields, the card's acquirer (acq_*), the carrier's extras (career_*)."""
    details = payment.details or {}
    card = payment.payment_type == "02"  # other methods keep their institution out of acq_*
    return {
        "payment_notice_id": str(notice_id),
        "change_date": jst_stamp(now),
        "payment_id": str(payment.id),
        "trading_id": payment.trading_id,
        "payment_type": payment.payment_type,
        "payment_status": payment.status,
        "payment_amount": str(payment.amount),
        "payment_init_date": jst_stamp(payment.created_at),
        # A slip prints its own deadline before its validity (due_at) ends.
        "payment_limit_date": str(
            details.get("payment_limit_date") or jst_stamp(payment.due_at, "%Y%m%d")
        ),
        "bank_code": str(details.get("bank_code", "")),
        "user_payment_date": _stamp_iso(details.get("user_payment_date")),
        "cvs_company_id": str(details.get("cvs_company_id", "")),
        "bar_code": str(details.get("bar_code", "")),
        "cancel_date": jst_stamp(payment.cancelled_at),
        "payment_date": jst_stamp(payment.captured_at),
        "related_payment_id": str(payment.related_payment_id or ""),
        "acq_id": payment.institution_code if card else "",
        "acq_name": payment.institution_name if card else "",
        "payment_class": str(details.get("payment_class", "")),
        "split_count": str(details.get("split_count", "")),
        "issur_name": str(details.get("issur_name", "")),
        "career_type": str(details.get("career_type", "")),
        "pc_mobile_type": str(details.get("pc_mobile_type", "")),
        "career_payment_id": str(details.get("career_payment_id", "")),
        "site_id": payment.site_id,
        "customer_id": str(details.get("customer_id", "")),
        "customer_card_id": str(details.get("customer_card_id", "")),
        "fingerprint": str(details.get("fingerprint", "")),
    }


def record_file_notice(
    session: Session, merchant_id: int, file_id: int, fields: dict[str, str], now: datetime
) -> None:
    """Add the file payment notice of a finished file (no commit: the caller's transaction).

    It goes to the merchant's notification URL with the same retries and `result=0` ack as a
    payment notice, but it is not one of the merchant's payment notices: its number is the file's
    id negated, outside 091's sequence (which counts from 1), so 091 pull never sees it."""
    addressed = _has_notification_url(session, merchant_id)
    session.add(
        Notice(
            merchant_id=merchant_id,
            payment_notice_id=-file_id,
            payment_id=None,
            kind="file",
            payment_seq=0,
            payment_status="",
            fields=fields,
            site_id="",
            push_url=None,
            delivery_status="pending" if addressed else "skipped",
            next_attempt_at=now if addressed else None,
            created_at=now,
        )
    )
