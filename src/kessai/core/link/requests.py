"""Opening a hosted payment page from a signed link request (§2.1–§2.4), and reading it back.

One page per merchant and trading_id: the first request's content is kept, a later request with the
same trading_id gets the same page (and URL) unless its amount differs (P010), the order is paid
already (6001), a number was issued for it already (6003) or the page has expired (6002). Nothing is
written for a refused request.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.link import params, standing
from kessai.core.link.hashing import signature_matches, signed_fields
from kessai.core.link.models import LinkRequest
from kessai.core.merchants.models import Merchant
from kessai.core.merchants.notification_url import check_notification_url
from kessai.core.payments import later
from kessai.kit.errors import InvalidRequest, KessaiError, NotFound, message_for

DEFAULT_TERM_DAYS = 5


class LinkError(KessaiError):
    """A link request or page refused: 6001–6005, or the P codes of its fields."""

    code = "6005"


@dataclass(frozen=True, slots=True)
class LinkPage:
    """A hosted payment page as its face shows it. `standing` is `open`, `paid` (a payment made for
    its trading_id succeeded), `issued` (a number to pay with was issued) or `expired`."""

    token: str
    merchant: MerchantRef
    merchant_name: str
    trading_id: str
    amount: int
    payment_types: tuple[str, ...]
    params: Mapping[str, str]
    charset: str
    limit_at: datetime
    created_at: datetime
    standing: str
    payment_id: int | None  # the payment behind `paid` / `issued`
    card_failures: int

    def param(self, name: str) -> str:
        return self.params.get(name, "")

    @property
    def merchant_id(self) -> int:
        return self.merchant.id


def open_link(core: Core, fields: Mapping[str, str], *, charset: str) -> LinkPage:
    """The page for a decoded link request: found by trading_id, or created."""
    merchant_id = _merchant_id(fields)
    with core.sessions.begin() as session:
        merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            raise InvalidRequest("P010", field="seq_merchant_id", message=_NO_MERCHANT)
        _check_signature(fields, merchant)
        _check_charset(fields)
        params.check_fields(fields)
        check_scheme_rules(fields, merchant.link_signature)
        ref = MerchantRef.of(merchant)
        existing = _find(session, merchant_id, fields["trading_id"])
        if existing is not None:
            return _reopened(core, session, merchant, existing, fields)
    check_inform_url(fields, merchant)  # may resolve a host name: outside the transaction
    try:
        return _create(core, merchant, ref, fields, charset)
    except IntegrityError:  # the same trading_id created concurrently: that one is the page
        return open_link(core, fields, charset=charset)


def page(core: Core, token: str) -> LinkPage:
    """The page behind a URL token; NotFound (2006) for an unknown token."""
    with core.sessions() as session:
        row = session.scalars(select(LinkRequest).where(LinkRequest.token == token)).first()
        if row is None:
            raise NotFound("2006")
        return view_in(core, session, row)


def view_in(core: Core, session: Session, row: LinkRequest) -> LinkPage:
    """The page of a row read in the caller's transaction."""
    merchant = session.get(Merchant, row.merchant_id)
    assert merchant is not None
    return _view(core, session, merchant, row)


_NO_MERCHANT = "マーチャントIDに該当する加盟店がありません。"


def _merchant_id(fields: Mapping[str, str]) -> int:
    """The merchant named, only in its canonical form (no leading zero, ASCII digits: 6005)."""
    value = fields.get("seq_merchant_id", "")
    if not value:
        raise InvalidRequest(
            "P005" if "seq_merchant_id" not in fields else "P006", field="seq_merchant_id"
        )
    params.check_canonical(fields, ("seq_merchant_id",))
    return int(value)


def _check_signature(fields: Mapping[str, str], merchant: Merchant) -> None:
    """6005 unless every value the merchant's scheme signs is canonical and `hc` signs them."""
    scheme = merchant.link_signature
    params.check_canonical(fields, signed_fields(scheme))
    if not signature_matches(fields, merchant.link_hash_key, scheme, fields.get("hc", "")):
        raise LinkError("6005")


def check_scheme_rules(fields: Mapping[str, str], scheme: str) -> None:
    """On the `paygent` scheme the page never uses stored cards and never skips 3-D Secure (P010).

    §2.3 does not sign `stock_card_mode` at all, and `use_card_conf_number`, `customer_id` and
    `threedsecure_ryaku` stand side by side in its concatenation, so a buyer can turn a signed
    `use_card_conf_number=1` into `threedsecure_ryaku=1`, or a customer_id into a shorter one, under
    the same `hc`. Only the hmac scheme can say what the merchant meant there."""
    if scheme != "paygent":
        return
    for name, refused in (("stock_card_mode", ("1", "2")), ("threedsecure_ryaku", ("1",))):
        if fields.get(name, "") in refused:
            message = message_for("P010", name) + _HMAC_ONLY
            raise InvalidRequest("P010", field=name, message=message)


def check_inform_url(fields: Mapping[str, str], merchant: Merchant) -> None:
    """P010 for an `inform_url` the notices would be pushed to (inform_url_mode `replace`) that a
    production merchant may not use: the notification URL's SSRF guard, applied to it as to the
    merchant's own URL (and again at send time, worker.outbox)."""
    url = fields.get("inform_url", "")
    if not url or merchant.inform_url_mode != "replace":
        return
    try:
        check_notification_url(url, mode=merchant.mode)
    except InvalidRequest as error:
        raise InvalidRequest(
            "P010", field="inform_url", message=message_for("P010", "inform_url")
        ) from error


_HMAC_ONLY = "（保存カードと3Dセキュア省略は署名方式hmacの加盟店のみ使えます）"


def _check_charset(fields: Mapping[str, str]) -> None:
    """6004 for characters Windows-31J cannot hold, whatever the request's own charset."""
    for name, value in fields.items():
        try:
            value.encode("cp932")
        except UnicodeEncodeError:
            raise LinkError("6004", field=name) from None


def _find(session: Session, merchant_id: int, trading_id: str) -> LinkRequest | None:
    return session.scalars(
        select(LinkRequest).where(
            LinkRequest.merchant_id == merchant_id, LinkRequest.trading_id == trading_id
        )
    ).first()


def _reopened(
    core: Core, session: Session, merchant: Merchant, row: LinkRequest, fields: Mapping[str, str]
) -> LinkPage:
    if int(fields["id"]) != row.amount:
        raise InvalidRequest("P010", field="id")
    view = _view(core, session, merchant, row)
    refuse_unless_open(view)
    return view


def refuse_unless_open(view: LinkPage) -> None:
    """6001 for a paid order, 6003 for one whose buyer holds a number, 6002 for an expired page."""
    match view.standing:
        case "paid":
            raise LinkError("6001")
        case "issued":
            raise LinkError("6003")
        case "expired":
            raise LinkError("6002")


def _create(
    core: Core, merchant: Merchant, ref: MerchantRef, fields: Mapping[str, str], charset: str
) -> LinkPage:
    offered = params.offered_methods(fields, merchant.methods())
    params.check_fixed_names(fields, offered)
    now = core.now_for(ref)
    with core.sessions.begin() as session:
        if standing.of_payments(session, merchant.id, fields["trading_id"])[0] == "paid":
            raise LinkError("6001")  # paid through another face under the same trading_id
        row = LinkRequest(
            merchant_id=merchant.id,
            trading_id=fields["trading_id"],
            token=secrets.token_urlsafe(24),
            amount=int(fields["id"]),
            payment_types=",".join(offered),
            params={k: v for k, v in fields.items() if k != "hc"},
            charset=charset,
            limit_at=_limit(fields, now),
            status="open",
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return _view(core, session, merchant, row)


def _limit(fields: Mapping[str, str], now: datetime) -> datetime:
    """The page's validity: `payment_term_min` minutes, or the end of the Japanese day
    `payment_term_day` days on (default 5; 0 = today)."""
    if fields.get("payment_term_min"):
        return now + timedelta(minutes=int(fields["payment_term_min"]))
    days = int(fields.get("payment_term_day") or DEFAULT_TERM_DAYS)
    return later.deadline(now, days)


def _view(core: Core, session: Session, merchant: Merchant, row: LinkRequest) -> LinkPage:
    ref = MerchantRef.of(merchant)
    shown, payment_id = standing.of_payments(session, merchant.id, row.trading_id)
    if shown == "open" and core.now_for(ref) > row.limit_at:
        shown = "expired"
    return LinkPage(
        token=row.token,
        merchant=ref,
        merchant_name=row.params.get("merchant_name") or merchant.name,
        trading_id=row.trading_id,
        amount=row.amount,
        payment_types=tuple(code for code in row.payment_types.split(",") if code),
        params=dict(row.params),
        charset=row.charset,
        limit_at=row.limit_at,
        created_at=row.created_at,
        standing=shown,
        payment_id=payment_id,
        card_failures=row.card_failures,
    )
