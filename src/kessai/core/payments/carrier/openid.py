"""Carrier user authentication (ユーザ認証, telegram 104) and OpenID release (105).

104 sends the buyer to the carrier's login page (au かんたん決済 and d払い offer it); once logged in,
the buyer returns to the merchant's `redirect_url` with the carrier's `open_id`. A later 100 with that
`open_id` bills the same buyer: the carrier already knows them, so its page only asks for approval
(no login). 105 releases the OpenID; a payment may not use it afterwards (P010). Issuing an OpenID
moves no money, so the carrier is asked once the buyer has logged in, without a write-ahead row.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.context import Core, MerchantRef
from kessai.core.payments import later, repository
from kessai.core.payments.carrier.models import CarrierOpenId
from kessai.core.payments.carrier.states import TABLES, CareerType, CarrierTable
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

PENDING, ACTIVE, CANCELLED, RELEASED = "pending", "active", "cancelled", "released"


@dataclass(frozen=True, slots=True)
class AuthenticationRequest:
    """104: which carrier, and where the buyer returns to (with `open_id`, or without)."""

    career_type: str
    redirect_url: str
    cancel_url: str
    site_id: str = ""


@dataclass(frozen=True, slots=True)
class OpenIdView:
    grant_id: int
    merchant_id: int
    career_type: str
    status: str
    open_id: str
    redirect_url: str
    cancel_url: str

    @classmethod
    def of(cls, row: CarrierOpenId) -> OpenIdView:
        return cls(
            grant_id=row.id,
            merchant_id=row.merchant_id,
            career_type=row.career_type,
            status=row.status,
            open_id=row.open_id or "",
            redirect_url=row.redirect_url,
            cancel_url=row.cancel_url,
        )

    @property
    def table(self) -> CarrierTable:
        return TABLES[CareerType(self.career_type)]


def check_url(value: str, field: str) -> str:
    """A URL the buyer's browser can be sent back to: absolute http(s); P010 otherwise."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidRequest("P010", field=field)
    return value


def authentication_table(career_type: str) -> CarrierTable:
    """The carrier of a 104; P010 unless it offers user authentication."""
    try:
        table = TABLES[CareerType(career_type.lstrip("0") or "0")]
    except ValueError:
        raise InvalidRequest("P010", field="career_type") from None
    if not table.openid:
        raise InvalidRequest(
            "P010", field="career_type", message=f"{table.name}はユーザ認証に対応していません。"
        )
    return table


def request_authentication(
    core: Core, merchant: MerchantRef, req: AuthenticationRequest
) -> OpenIdView:
    """Start a user authentication (104): the buyer is to log in on the carrier's page."""
    authentication_table(req.career_type)
    check_url(req.redirect_url, "redirect_url")
    check_url(req.cancel_url, "cancel_url")
    with core.sessions.begin() as session:
        now = core.now_for(merchant)
        row = CarrierOpenId(
            merchant_id=merchant.id,
            site_id=req.site_id,
            career_type=req.career_type.lstrip("0"),
            status=PENDING,
            redirect_url=req.redirect_url,
            cancel_url=req.cancel_url,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        return OpenIdView.of(row)


def login_token(secret: bytes, grant_id: int) -> str:
    """The unguessable part of the carrier login page URL of one 104."""
    return later.page_token(secret, "carrier-auth", grant_id)


def pending(core: Core, grant_id: int, token: str) -> OpenIdView:
    """The authentication a carrier login page shows; NotFound for a wrong token."""
    if not hmac.compare_digest(login_token(core.secret, grant_id), token):
        raise NotFound("2006")
    with core.sessions() as session:
        row = session.get(CarrierOpenId, grant_id)
        if row is None:
            raise NotFound("2006")
        return OpenIdView.of(row)


def log_in(core: Core, grant_id: int, token: str, login_id: str) -> OpenIdView:
    """The buyer logged in on the carrier's page: the carrier issues the OpenID. Logging in again
    answers the same OpenID; an authentication the buyer left → 2004."""
    view = pending(core, grant_id, token)
    if view.status == ACTIVE:
        return view
    if view.status != PENDING:
        raise InvalidState("2004")
    merchant = _merchant(core, view.merchant_id)
    open_id = core.carrier_for(merchant).authenticate(
        idempotency_key=f"openid-{grant_id}", career_type=view.career_type, login_id=login_id
    )
    with core.sessions.begin() as session:
        row = _locked(session, grant_id)
        if row.status == PENDING:
            row.status, row.open_id, row.login_id = ACTIVE, open_id, login_id[:64]
            row.updated_at = core.now_for(merchant)
        return OpenIdView.of(row)


def go_back(core: Core, grant_id: int, token: str) -> OpenIdView:
    """The buyer went back without logging in."""
    view = pending(core, grant_id, token)
    if view.status != PENDING:
        return view
    with core.sessions.begin() as session:
        row = _locked(session, grant_id)
        if row.status == PENDING:
            row.status = CANCELLED
        return OpenIdView.of(row)


def login_of(core: Core, merchant: MerchantRef, career_type: str, open_id: str) -> str:
    """The carrier login an active `open_id` of this merchant and carrier stands for (100);
    P010 for an OpenID that is unknown, released, or another carrier's."""
    with core.sessions() as session:
        row = _by_open_id(session, merchant, open_id)
        if row is None or row.status != ACTIVE or row.career_type != career_type:
            raise InvalidRequest("P010", field="open_id")
        return row.login_id


def release(core: Core, merchant: MerchantRef, open_id: str, career_type: str = "") -> None:
    """Release an OpenID (105): the carrier forgets it and no payment may use it any more.
    Releasing it again changes nothing; an unknown OpenID (or another carrier's) → P010."""
    with core.sessions() as session:
        row = _by_open_id(session, merchant, open_id)
        wrong_carrier = bool(career_type) and row is not None and row.career_type != career_type
        if row is None or row.status not in (ACTIVE, RELEASED) or wrong_carrier:
            raise InvalidRequest("P010", field="open_id")
        if row.status == RELEASED:
            return
    core.carrier_for(merchant).release(open_id=open_id)
    with core.sessions.begin() as session:
        row = _by_open_id(session, merchant, open_id, lock=True)
        assert row is not None
        row.status = RELEASED
        row.updated_at = core.now_for(merchant)


def _by_open_id(
    session: Session, merchant: MerchantRef, open_id: str, *, lock: bool = False
) -> CarrierOpenId | None:
    query = select(CarrierOpenId).where(
        CarrierOpenId.merchant_id == merchant.id, CarrierOpenId.open_id == open_id
    )
    return session.scalar(query.with_for_update() if lock else query)


def _locked(session: Session, grant_id: int) -> CarrierOpenId:
    row = session.scalar(
        select(CarrierOpenId).where(CarrierOpenId.id == grant_id).with_for_update()
    )
    if row is None:
        raise NotFound("2006")
    return row


def _merchant(core: Core, merchant_id: int) -> MerchantRef:
    with core.sessions() as session:
        return MerchantRef.of(repository.merchant_of(session, merchant_id))
