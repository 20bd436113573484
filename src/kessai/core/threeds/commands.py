"""EMV 3-D Secure 2 commands (EMV 3Dセキュア認証, paygent-protocol.md §1.5 450): start an
authentication, let the ACS decide once, and say where the browser goes with the result.

The 450 face and the hosted payment page both call `begin`, then send the buyer to `acs_path`;
the ACS pages call `acs_view` and `answer_challenge`; the result reaches the merchant by a GET to
its term_url (`Decided.redirect_url`), signed with `hc`. A 020 with the auth id then authorises
(`kessai.core.threeds.usage`).

The 3-D Secure server is asked outside any transaction; its answer is then applied under the
authentication's row lock, only if no other answer was applied first — so a double submit of the
challenge answers the first decision again, never makes a second one.
"""

from __future__ import annotations

import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode, urlsplit, urlunsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.connectors.base import CardData, ThreeDSFlow, ThreeDSOutcome
from kessai.core.cards import stored
from kessai.core.cards.models import VaultCard
from kessai.core.context import Core, MerchantRef
from kessai.core.merchants.models import Merchant
from kessai.core.merchants.notification_url import check_notification_url
from kessai.core.payments import later
from kessai.core.threeds import rules
from kessai.core.threeds.models import ThreeDSAuthentication
from kessai.core.threeds.records import expire_if_due, lock
from kessai.core.threeds.signing import result_hash, verify_params
from kessai.kit.errors import InvalidRequest, NotFound, message_for
from kessai.kit.secrets import CardNumber

ACS_PATH = "/3ds/acs"  # + /{auth_id}/{token}: the simulated ACS the buyer is sent to
# The 450 answer's card fields, kept under their protocol names in `details["card"]`.
CARD_FIELDS = (
    "card_brand",
    "acq_id",
    "acq_name",
    "issur_class",
    "issur_name",
    "issur_id",
    "fingerprint",
    "masked_card_number",
)
HIDDEN = "XXXX"  # fingerprint and mask of the timeout notice, which no browser carries


@dataclass(frozen=True, slots=True)
class StoredCardRef:
    """A stored card (カード情報お預り) as 020 names it: customer and customer_card_id."""

    customer_id: str
    customer_card_id: int


@dataclass(frozen=True, slots=True)
class BeginRequest:
    """What to authenticate: `amount` yen at `merchant_name` on `card`; the result goes to
    `term_url` (a GET by the buyer's browser, or by the gateway on timeout)."""

    term_url: str
    merchant_name: str
    amount: int
    card: CardData | StoredCardRef
    cardholder_name: str = ""
    currency_code: str = "JPY"
    site_id: str = ""
    # The gateway's own page (the hosted payment page) as term_url: not checked as a merchant's
    # URL. Its timeout notice still goes through the worker's internal-address check.
    own_term_url: bool = False


@dataclass(frozen=True, slots=True)
class Started:
    """The 450 answer: the auth id (3ds_auth_id), where to send the buyer (`acs_path`, on the
    gateway's public base URL), and the card fields by their protocol names."""

    auth_id: str
    acs_path: str
    card_fields: Mapping[str, str]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class AcsView:
    """What the ACS page shows: the password form (`status` challenge), a wait (waiting: the ACS
    is not answering), or the way back (`redirect_url`, term_url with the result, once decided)."""

    auth_id: str
    status: str
    redirect_url: str
    merchant_name: str
    amount: int
    currency_code: str
    card_brand: str
    masked_card_number: str
    tries_left: int
    term_origin: str  # scheme://host[:port] of term_url: where the page's form may lead
    unrecognised: bool = False  # the password just typed was not one the ACS knows


# ---------------------------------------------------------------- 450: begin


def begin(core: Core, merchant: MerchantRef, req: BeginRequest) -> Started:
    """Start an authentication (EMV 3Dセキュア認証要求): the card sealed in the vault (never a
    security code), the authentication `waiting`, 30 minutes to complete it."""
    server = core.threeds_for(merchant)  # P063 where no 3-D Secure server serves the merchant
    term_url = req.term_url if req.own_term_url else _checked_term_url(req.term_url, merchant.mode)
    valid_term, vault_id = _card_source(core, merchant, req)
    with core.sessions.begin() as session:
        now = core.clock.now()
        row, number_card = _vault_row(core, session, req.card, vault_id)
        card = server.card(number_card)
        fields = {
            "card_brand": card.brand,
            "acq_id": card.issuer.acq_id,
            "acq_name": card.issuer.acq_name,
            "issur_class": card.issuer.issur_class,
            "issur_name": card.issuer.issur_name,
            "issur_id": card.issuer.issur_id,
            "fingerprint": row.fingerprint,
            "masked_card_number": "*" * 12 + row.masked[-4:],
        }
        auth = _new_authentication(merchant, req, term_url, row.id, now)
        auth.details = {"card": fields, "card_valid_term": valid_term, "site_id": req.site_id}
        session.add(auth)
        session.flush()
        path = f"{ACS_PATH}/{auth.auth_id}/{acs_token(core.secret, auth.auth_id)}"
        return Started(auth.auth_id, path, fields, auth.expires_at)


def _checked_term_url(url: str, mode: str) -> str:
    """term_url must be http(s) with a host; a production merchant's must not point inside
    (the timeout notice is a GET the gateway itself sends: the notification URL's rules)."""
    try:
        return check_notification_url(url, mode=mode)
    except InvalidRequest:
        raise InvalidRequest("P010", field="term_url") from None


def _card_source(core: Core, merchant: MerchantRef, req: BeginRequest) -> tuple[str, int | None]:
    """(card_valid_term, the stored card's vault row or None for a card given in full)."""
    if isinstance(req.card, CardData):
        return req.card.valid_term, None
    vault_id, valid_term = stored.stored_card_source(
        core,
        merchant,
        customer_id=req.card.customer_id,
        customer_card_id=req.card.customer_card_id,
        site_id=req.site_id,
    )
    return valid_term, vault_id


def _vault_row(
    core: Core, session: Session, card: CardData | StoredCardRef, vault_id: int | None
) -> tuple[VaultCard, CardNumber]:
    """The card's vault row (sealed now for a card given in full) and its number."""
    if isinstance(card, CardData):
        return core.vault.store(session, card.number), card.number
    row = session.get(VaultCard, vault_id)
    if row is None:
        raise NotFound("P025")
    return row, core.vault.open(row)


def _new_authentication(
    merchant: MerchantRef, req: BeginRequest, term_url: str, vault_id: int, now: datetime
) -> ThreeDSAuthentication:
    return ThreeDSAuthentication(
        auth_id=str(uuid.uuid4()),
        merchant_id=merchant.id,
        vault_card_id=vault_id,
        amount=req.amount,
        currency_code=req.currency_code,
        cardholder_name=req.cardholder_name[:64],
        merchant_name=req.merchant_name[:64],
        term_url=term_url,
        status=rules.WAITING,
        trans_status="",
        result="",
        attempt_kbn="",
        response_code="",
        expires_at=now + rules.LIFETIME,
        notice_attempts=0,
        created_at=now,
        updated_at=now,
    )


def acs_token(secret: bytes, auth_id: str) -> str:
    """The unguessable part of the ACS URL (keyed by the server secret): an auth id alone, which
    the merchant holds, does not open the cardholder's page."""
    return later.page_token(secret, "threeds-acs", auth_id)


# ---------------------------------------------------------------- the ACS


def acs_view(core: Core, auth_id: str, token: str) -> AcsView:
    """The ACS page's state, the ACS's first answer applied if none was yet (`decide`).
    NotFound for an unknown id or a wrong token."""
    auth, merchant = _read(core, auth_id, token)
    if auth.status in rules.OPEN_STATUSES and auth.expires_at <= core.clock.now():
        decide(core, auth_id, None)  # times it out
    elif auth.status == rules.WAITING:
        server = core.threeds_for(merchant)
        outcome = server.authenticate(cardholder_name=auth.cardholder_name, amount=auth.amount)
        decide(core, auth_id, outcome)
    return _view(core, auth_id)


def decide(core: Core, auth_id: str, outcome: ThreeDSOutcome | None) -> None:
    """Apply the ACS's first answer to a `waiting` authentication (unless another was applied
    first): a decision ends it, a challenge opens the password page, no answer leaves it
    waiting. An authentication past its 30 minutes times out instead."""
    with core.sessions.begin() as session:
        auth = _locked(session, auth_id)
        now = core.clock.now()
        if expire_if_due(auth, now) or auth.status != rules.WAITING or outcome is None:
            return
        match outcome.flow:
            case ThreeDSFlow.CHALLENGE:
                auth.status, auth.trans_status = rules.CHALLENGE, "C"
            case ThreeDSFlow.NO_ANSWER:
                auth.details = {**auth.details, "no_answer": True}
            case ThreeDSFlow.FRICTIONLESS | ThreeDSFlow.ERROR:
                _apply(auth, outcome)
        auth.updated_at = now


def answer_challenge(core: Core, auth_id: str, token: str, password: str) -> AcsView:
    """The cardholder's password on the challenge page, decided by the ACS once. An answer to a
    decided authentication shows that decision again. After `MAX_CHALLENGE_TRIES` passwords the
    ACS does not recognise, the authentication fails (31007)."""
    auth, merchant = _read(core, auth_id, token)
    if auth.status != rules.CHALLENGE:
        return _view(core, auth_id)
    outcome = core.threeds_for(merchant).challenge(
        cardholder_name=auth.cardholder_name, amount=auth.amount, password=password
    )
    with core.sessions.begin() as session:
        locked = _locked(session, auth_id)
        unrecognised = False
        if not expire_if_due(locked, core.clock.now()) and locked.status == rules.CHALLENGE:
            unrecognised = outcome is None
            _challenge_answered(locked, outcome)
            locked.updated_at = core.clock.now()
    return _view(core, auth_id, unrecognised=unrecognised)


def _challenge_answered(auth: ThreeDSAuthentication, outcome: ThreeDSOutcome | None) -> None:
    if outcome is not None:
        _apply(auth, outcome)
        return
    tries = int(auth.details.get("challenge_failures", 0)) + 1
    auth.details = {**auth.details, "challenge_failures": tries}
    if tries >= rules.MAX_CHALLENGE_TRIES:  # the ACS gives up: not authenticated
        _apply(auth, ThreeDSOutcome(ThreeDSFlow.FRICTIONLESS, trans_status="N"))


def _apply(auth: ThreeDSAuthentication, outcome: ThreeDSOutcome) -> None:
    """The decision, for good: status done, the verdict the term_url GET carries."""
    verdict = rules.verdict(outcome)
    auth.status = rules.DONE
    auth.trans_status = outcome.trans_status
    auth.result, auth.attempt_kbn, auth.response_code = (
        verdict.result,
        verdict.attempt_kbn,
        verdict.response_code,
    )
    auth.details = {
        **auth.details,
        "server_error_code": outcome.server_error_code,
        "requestor_error_code": outcome.requestor_error_code,
    }


# ---------------------------------------------------------------- the result on term_url


def result_params(auth: ThreeDSAuthentication, hash_key: str) -> dict[str, str]:
    """The term_url GET's parameters (§1.5 450), in the documented order, `hc` signed."""
    card: dict[str, str] = dict(auth.details.get("card", {}))
    hidden = auth.status == rules.TIMED_OUT
    params = {
        "result": auth.result,
        "3ds_auth_id": auth.auth_id,
        **{name: card.get(name, "") for name in CARD_FIELDS[:6]},
        "hc": result_hash(auth.result, auth.auth_id, auth.attempt_kbn, hash_key),
        "fingerprint": HIDDEN if hidden else card.get("fingerprint", ""),
        "masked_card_number": HIDDEN if hidden else card.get("masked_card_number", ""),
        "3dsecure_requestor_error_code": str(auth.details.get("requestor_error_code", "")),
        "3dsecure_server_error_code": str(auth.details.get("server_error_code", "")),
        "attempt_kbn": auth.attempt_kbn,
    }
    if auth.result != "0":
        params["response_code"] = auth.response_code
        params["response_detail"] = message_for(auth.response_code)
    return params


def result_url(auth: ThreeDSAuthentication, hash_key: str) -> str:
    """term_url with the result added to its query (UTF-8, as telegram 450 is)."""
    parts = urlsplit(auth.term_url)
    query = "&".join(q for q in (parts.query, urlencode(result_params(auth, hash_key))) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def verify_result(core: Core, merchant_id: int, params: Mapping[str, str]) -> bool:
    """Whether term_url parameters were signed with the merchant's 3-D Secure result hash key
    (what a merchant's term_url handler, and the hosted page, check before trusting them)."""
    with core.sessions() as session:
        merchant = session.get(Merchant, merchant_id)
        return merchant is not None and verify_params(params, merchant.threeds_hash_key)


# ---------------------------------------------------------------- helpers


def _read(core: Core, auth_id: str, token: str) -> tuple[ThreeDSAuthentication, MerchantRef]:
    if not hmac.compare_digest(acs_token(core.secret, auth_id), token):
        raise NotFound("2006")
    with core.sessions() as session:
        auth = session.scalar(
            select(ThreeDSAuthentication).where(ThreeDSAuthentication.auth_id == auth_id)
        )
        if auth is None:
            raise NotFound("2006")
        merchant = session.get(Merchant, auth.merchant_id)
        assert merchant is not None
        return auth, MerchantRef.of(merchant)


def _locked(session: Session, auth_id: str) -> ThreeDSAuthentication:
    auth = lock(session, auth_id)
    if auth is None:
        raise NotFound("2006")
    return auth


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL, without any user information."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def _view(core: Core, auth_id: str, *, unrecognised: bool = False) -> AcsView:
    with core.sessions() as session:
        auth = session.scalar(
            select(ThreeDSAuthentication).where(ThreeDSAuthentication.auth_id == auth_id)
        )
        assert auth is not None
        merchant = session.get(Merchant, auth.merchant_id)
        assert merchant is not None
        decided = auth.status in (rules.DONE, rules.TIMED_OUT)
        card = auth.details.get("card", {})
        return AcsView(
            auth_id=auth.auth_id,
            status=auth.status,
            redirect_url=result_url(auth, merchant.threeds_hash_key) if decided else "",
            merchant_name=auth.merchant_name,
            amount=auth.amount,
            currency_code=auth.currency_code,
            card_brand=str(card.get("card_brand", "")),
            masked_card_number=str(card.get("masked_card_number", "")),
            tries_left=rules.MAX_CHALLENGE_TRIES - int(auth.details.get("challenge_failures", 0)),
            term_origin=_origin(auth.term_url),
            unrecognised=unrecognised,
        )
