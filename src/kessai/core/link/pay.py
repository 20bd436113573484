"""Paying on the hosted page: each method's step, over the same core commands the module type uses.

Every step takes the page's token, checks the page is still open (6001 paid, 6003 a number issued,
6002 expired) and holds the page's lease while it works, so a double-clicked pay button or two tabs
never make two payments: the second submission waits for, or is refused while, the first runs
(`InProgress`), and then finds the page paid. The payment carries the request's trading_id and
amount, so it is the same record whichever face made it, and its notices go out as any other's.

URL shapes are the web face's: `start_bank_net` answers the application (the face builds the
selection page URL from its merchant_id and trading_id) and `start_carrier` the payment (the face
builds the carrier page URL from its payment_id).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from types import MappingProxyType
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.connectors.base import CardData
from kessai.core.cards import stored
from kessai.core.context import Core
from kessai.core.link import params
from kessai.core.link.models import LinkRequest
from kessai.core.link.requests import (
    DEFAULT_TERM_DAYS,
    LinkPage,
    refuse_unless_open,
    view_in,
)
from kessai.core.payments.atm import commands as atm
from kessai.core.payments.banknet import commands as banknet
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.carrier import commands as carrier
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.models import Payment
from kessai.core.payments.views import PaymentView
from kessai.core.threeds import commands as threeds
from kessai.kit.errors import InProgress, InvalidRequest, NotFound, message_for
from kessai.kit.secrets import CardNumber, SecurityCode

# The CVS chains of the link type (PRODUCT.md §2): 7-Eleven, Lawson, FamilyMart, Seicomart.
LINK_CVS_CHAINS = ("00C001", "00C002", "00C005", "00C016")
# The carriers the page offers: d払い, auかんたん決済, ソフトバンクまとめて支払い(B).
LINK_CARRIERS = ("5", "4", "6")
NOTHING: Mapping[str, str] = MappingProxyType({})
TIMED_OUT = "31013"  # 3-D Secure: nobody answered the ACS within 30 minutes
MAX_CARD_FAILURES = 5  # then the page refuses cards ([LINK] 付録B)
LEASE = timedelta(minutes=2)  # a submission's hold on the page; outlives any institution call
DEFAULT_DETAIL = "お支払い一式"
DEFAULT_DETAIL_KANA = "ｵｼﾊﾗｲｲｯｼｷ"

# 支払区分 the buyer may pick, by the request's payment_class (§2.2 card): 0 one-time only, 1 all
# contracted, 2 all but bonus. 10 一括, 61 分割, 80 リボ, 23 ボーナス一括.
PAYMENT_CLASSES = {"0": ("10",), "1": ("10", "61", "80", "23"), "2": ("10", "61", "80")}
SPLIT_COUNTS = ("3", "5", "6", "10", "12", "15", "18", "20", "24")


@dataclass(frozen=True, slots=True)
class Buyer:
    """The buyer's details as entered on the page (fields the merchant fixed are taken from the
    request instead)."""

    family_name: str = ""
    name: str = ""
    family_name_kana: str = ""
    name_kana: str = ""
    tel: str = ""


@dataclass(frozen=True, slots=True)
class CardEntry:
    number: CardNumber
    valid_term: str  # MMYY
    security_code: SecurityCode | None
    holder_name: str
    payment_class: str = "10"
    split_count: str = ""
    save: bool = False  # "keep this card" (stock_card_mode=1; mode 2 keeps it anyway)


@dataclass(frozen=True, slots=True)
class StoredChoice:
    """A card the customer stored earlier (stock_card_mode 1/2 with customer_id)."""

    customer_card_id: int
    payment_class: str = "10"
    split_count: str = ""


@dataclass(frozen=True, slots=True)
class CardOutcome:
    """`authorised`, `declined` (enter again), `locked` (too many declines) or `redirect` (to the
    3-D Secure ACS at `redirect_url`)."""

    status: str
    payment: PaymentView | None = None
    response_code: str = ""
    message: str = ""
    redirect_url: str = ""


# ---------------------------------------------------------------- reading


def current_payment(core: Core, shown: LinkPage) -> PaymentView | None:
    """The payment behind a page that is paid or has an issued number."""
    if shown.payment_id is None:
        return None
    with core.sessions() as session:
        row = session.get(Payment, shown.payment_id)
        return PaymentView.of(row) if row is not None else None


def carriers(shown: LinkPage) -> tuple[str, ...]:
    """The career_type codes the page offers (none unless the request offers carrier billing)."""
    return LINK_CARRIERS if "06" in shown.payment_types else ()


def payment_classes(shown: LinkPage) -> tuple[str, ...]:
    return PAYMENT_CLASSES[shown.param("payment_class") or "0"]


# ---------------------------------------------------------------- CVS and ATM


def apply_cvs(core: Core, token: str, *, chain: str, buyer: Buyer) -> PaymentView:
    """Issue a CVS number (コンビニ決済番号) at `chain` for the page's order."""
    with _lease(core, token, "03") as shown:
        if chain not in LINK_CVS_CHAINS:
            raise InvalidRequest("P010", field="cvs_company_id")
        who = _buyer(shown, buyer, required=("family_name", "name", "tel"))
        return cvs.apply(
            core,
            shown.merchant,
            cvs.CvsRequest(
                trading_id=shown.trading_id,
                amount=shown.amount,
                cvs_type="",
                cvs_company_id=chain,
                customer_family_name=who.family_name,
                customer_name=who.name,
                customer_tel=who.tel,
                limit_days=_term_days(shown),
                customer_family_name_kana=who.family_name_kana,
                customer_name_kana=who.name_kana,
                site_id=shown.param("site_id"),
                sales_type="1" if chain == cvs.SEVEN_ELEVEN else "",  # paid before delivery
            ),
        )


def apply_atm(core: Core, token: str, *, buyer: Buyer) -> PaymentView:
    """Issue Pay-easy numbers (ATM決済) for the page's order."""
    with _lease(core, token, "01") as shown:
        who = _buyer(shown, buyer, required=("family_name", "name"))
        return atm.apply(
            core,
            shown.merchant,
            atm.AtmRequest(
                trading_id=shown.trading_id,
                amount=shown.amount,
                payment_detail=shown.param("payment_detail") or DEFAULT_DETAIL,
                payment_detail_kana=shown.param("payment_detail_kana") or DEFAULT_DETAIL_KANA,
                limit_days=_term_days(shown),
                customer_family_name=who.family_name,
                customer_name=who.name,
                customer_family_name_kana=who.family_name_kana,
                customer_name_kana=who.name_kana,
                site_id=shown.param("site_id"),
            ),
        )


# ---------------------------------------------------------------- bank net and carrier


def start_bank_net(core: Core, token: str, *, back_url: str) -> banknet.RequestView:
    """The bank net application of the page's order (made once; a buyer coming back to choose
    again gets the same one). The buyer returns to `back_url` from the banks' pages."""
    with _lease(core, token, "05") as shown:
        application = banknet.BankNetApplication(
            trading_id=shown.trading_id,
            amount=shown.amount,
            claim_kana=shown.param("payment_detail_kana") or DEFAULT_DETAIL_KANA,
            claim_kanji=shown.param("payment_detail") or DEFAULT_DETAIL,
            site_id=shown.param("site_id"),
            details={
                "return_url": back_url,
                "stop_return_url": back_url,
                "merchant_name": shown.merchant_name,
                "customer_family_name": shown.param("customer_family_name"),
                "customer_name": shown.param("customer_name"),
            },
        )
        try:
            return banknet.apply(core, shown.merchant, application).request
        except banknet.ApplicationExists as exists:
            if exists.code != "5010":  # 5008 paid shows as paid; 5009: the application expired
                raise
            return exists.request


def start_carrier(
    core: Core, token: str, *, career_type: str, back_url: str, cancel_url: str
) -> PaymentView:
    """A carrier payment for the page's order; the buyer approves it on the carrier's page."""
    with _lease(core, token, "06") as shown:
        if career_type not in LINK_CARRIERS:
            raise InvalidRequest("P010", field="career_type")
        return carrier.apply(
            core,
            shown.merchant,
            carrier.CarrierRequest(
                career_type=career_type,
                amount=shown.amount,
                return_url=back_url,
                cancel_url=cancel_url,
                trading_id=shown.trading_id,
                site_id=shown.param("site_id"),
                sales_flg=shown.param("sales_flg") or "0",
            ),
        )


# ---------------------------------------------------------------- card


def pay_by_card(
    core: Core, token: str, entry: CardEntry, *, base_url: str, keep: Mapping[str, str] = NOTHING
) -> CardOutcome:
    """Authorise (オーソリ) the page's order on the entered card; with `sales_flg=1` capture too.
    Unless the request skips it (`threedsecure_ryaku=1`), the card goes through EMV 3-D Secure
    first: the outcome is a `redirect` to the ACS, which sends the buyer back to the page's
    `/card/3ds` (`finish_card_3ds`), with `keep` (the page's own parameters, such as its
    language) on that URL. A card the buyer (or the request) wants kept is stored for the
    request's customer_id once it has paid."""
    with _lease(core, token, "02") as shown:
        if shown.card_failures >= MAX_CARD_FAILURES:
            return CardOutcome("locked", response_code="2001")
        _check_card_entry(shown, entry)
        card = CardData(entry.number, entry.valid_term, entry.security_code)
        save = _save_wanted(shown, entry.save)
        if shown.param("threedsecure_ryaku") != "1":
            choice = _choice(entry.payment_class, entry.split_count, save=save, keep=keep)
            return _start_3ds(core, shown, card, entry.holder_name, choice, base_url)
        request = _authorize_request(shown, entry.payment_class, entry.split_count)
        outcome = _authorised(core, shown, replace(request, card=card))
        return _kept(core, shown, outcome, save=save, holder=entry.holder_name)


def stored_cards(core: Core, shown: LinkPage) -> list[stored.StoredCardView]:
    """The request's customer's stored cards that can still pay (not expired, not closed by 洗替;
    none unless stock_card_mode is 1 or 2 with a customer_id), most recently used first."""
    if not _stores_cards(shown):
        return []
    try:
        cards = stored.inquire(
            core,
            shown.merchant,
            customer_id=shown.param("customer_id"),
            customer_card_id=None,
            site_id=shown.param("site_id"),
        )
    except NotFound:
        return []
    return [card for card in cards if not card.expired and not card.closed]


def pay_with_stored_card(
    core: Core,
    token: str,
    choice: StoredChoice,
    *,
    base_url: str,
    keep: Mapping[str, str] = NOTHING,
) -> CardOutcome:
    """Authorise on a card the customer stored (through 3-D Secure unless the request skips it).
    P025 when the card is not the request customer's."""
    with _lease(core, token, "02") as shown:
        if shown.card_failures >= MAX_CARD_FAILURES:
            return CardOutcome("locked", response_code="2001")
        if not _stores_cards(shown):
            raise InvalidRequest("P010", field="customer_card_id")
        _check_payment_class(shown, choice.payment_class, choice.split_count)
        customer_id, site_id = shown.param("customer_id"), shown.param("site_id")
        if shown.param("threedsecure_ryaku") != "1":
            ref = threeds.StoredCardRef(customer_id, choice.customer_card_id)
            query = _choice(choice.payment_class, choice.split_count, save=False, keep=keep)
            return _start_3ds(core, shown, ref, "", query, base_url)
        vault_id, term = stored.stored_card_source(
            core,
            shown.merchant,
            customer_id=customer_id,
            customer_card_id=choice.customer_card_id,
            site_id=site_id,
        )
        request = _authorize_request(shown, choice.payment_class, choice.split_count)
        return _authorised(core, shown, replace(request, vault_card_id=vault_id, valid_term=term))


def finish_card_3ds(core: Core, token: str, result: Mapping[str, str]) -> CardOutcome:
    """The 3-D Secure result coming back to the page (its term_url, signed with `hc`): on success
    or attempt, authorise with the authenticated card (020 with 3ds_auth_id)."""
    with _lease(core, token, "02") as shown:
        if not threeds.verify_result(core, shown.merchant_id, result):
            raise InvalidRequest("P010", field="hc")
        if result.get("result") != "0":
            code = result.get("response_code", "31007")
            if code == TIMED_OUT:  # the buyer never answered: not a wrong card
                return CardOutcome("declined", response_code=code, message=message_for(code))
            return _declined(core, shown, None, code, message_for(code))
        request = _authorize_request(
            shown, result.get("payment_class", "10"), result.get("split_count", "")
        )
        _check_payment_class(shown, request.payment_class, request.split_count)
        auth_id = result.get("3ds_auth_id", "")
        outcome = _authorised(core, shown, replace(request, threeds_auth_id=auth_id))
        return _kept(core, shown, outcome, save=result.get("save") == "1", holder="")


def _start_3ds(
    core: Core,
    shown: LinkPage,
    card: CardData | threeds.StoredCardRef,
    holder: str,
    choice: str,
    base_url: str,
) -> CardOutcome:
    # The buyer's 支払区分 (and "keep this card") ride on the term_url, which the authentication
    # keeps server-side; the card itself is sealed in the vault by `begin`.
    started = threeds.begin(
        core,
        shown.merchant,
        threeds.BeginRequest(
            term_url=f"{base_url.rstrip('/')}/link/{shown.token}/card/3ds?{choice}",
            merchant_name=shown.merchant_name[:40],
            amount=shown.amount,
            card=card,
            cardholder_name=holder,
            site_id=shown.param("site_id"),
            own_term_url=True,
        ),
    )
    return CardOutcome("redirect", redirect_url=f"{base_url.rstrip('/')}{started.acs_path}")


def _choice(payment_class: str, split_count: str, *, save: bool, keep: Mapping[str, str]) -> str:
    values = {**keep, "payment_class": payment_class, "split_count": split_count}
    return urlencode({**values, "save": "1"} if save else values)


def _stores_cards(shown: LinkPage) -> bool:
    return shown.param("stock_card_mode") in ("1", "2") and bool(shown.param("customer_id"))


def _save_wanted(shown: LinkPage, asked: bool) -> bool:
    """stock_card_mode 2 keeps every card that pays; 1 keeps it when the buyer asks."""
    mode = shown.param("stock_card_mode") if _stores_cards(shown) else "0"
    return mode == "2" or (mode == "1" and asked)


def _kept(
    core: Core, shown: LinkPage, outcome: CardOutcome, *, save: bool, holder: str
) -> CardOutcome:
    """Store the card that has just paid, when that was wanted; the payment stands regardless."""
    payment = outcome.payment
    wanted = save and _save_wanted(shown, True)
    if outcome.status != "authorised" or not wanted or payment is None:
        return outcome
    if payment.vault_card_id is not None:
        stored.keep(
            core,
            shown.merchant,
            customer_id=shown.param("customer_id"),
            site_id=shown.param("site_id"),
            vault_card_id=payment.vault_card_id,
            valid_term=str(payment.details.get("card_valid_term", "")),
            cardholder_name=holder,
        )
    return outcome


def _authorised(core: Core, shown: LinkPage, request: AuthorizeRequest) -> CardOutcome:
    result = commands.authorize(core, shown.merchant, request)
    if result.ok:
        return CardOutcome("authorised", result.payment)
    return _declined(core, shown, result.payment, result.response_code, result.response_detail)


def _declined(
    core: Core, shown: LinkPage, payment: PaymentView | None, code: str, message: str
) -> CardOutcome:
    failures = _count_failure(core, shown.token)
    status = "locked" if failures >= MAX_CARD_FAILURES else "declined"
    return CardOutcome(status, payment, code, message)


def _authorize_request(shown: LinkPage, payment_class: str, split_count: str) -> AuthorizeRequest:
    return AuthorizeRequest(
        trading_id=shown.trading_id,
        amount=shown.amount,
        capture=shown.param("sales_flg") == "1",
        site_id=shown.param("site_id"),
        payment_class=payment_class,
        split_count=split_count,
    )


def _check_card_entry(shown: LinkPage, entry: CardEntry) -> None:
    if not re.fullmatch(r"(0[1-9]|1[0-2])[0-9]{2}", entry.valid_term):
        raise InvalidRequest("P010", field="card_valid_term")
    if shown.param("use_card_conf_number") == "1" and entry.security_code is None:
        raise InvalidRequest("P006", field="card_conf_number")
    _check_payment_class(shown, entry.payment_class, entry.split_count)


def _check_payment_class(shown: LinkPage, payment_class: str, split_count: str) -> None:
    if payment_class not in payment_classes(shown):
        raise InvalidRequest("P010", field="payment_class")
    if (payment_class == "61") != bool(split_count):
        raise InvalidRequest("P030")
    if split_count and split_count not in SPLIT_COUNTS:
        raise InvalidRequest("P030")


def _count_failure(core: Core, token: str) -> int:
    with core.sessions.begin() as session:
        row = _locked_row(session, token)
        row.card_failures += 1
        return row.card_failures


# ---------------------------------------------------------------- the page's lease


@contextlib.contextmanager
def _lease(core: Core, token: str, method: str) -> Iterator[LinkPage]:
    """Hold the page for one submission: refuse a page no longer open or not offering `method`,
    and a second submission while the first still runs (InProgress, 9005)."""
    with core.sessions.begin() as session:
        row = _locked_row(session, token)
        now = core.clock.now()
        if row.status == "busy" and row.updated_at > now - LEASE:
            raise InProgress()
        shown = view_in(core, session, row)
        _check_open(shown, method)
        row.status, row.updated_at = "busy", now
    try:
        yield shown
    finally:
        with core.sessions.begin() as session:
            row = _locked_row(session, token)
            row.status, row.updated_at = "open", core.clock.now()


def _locked_row(session: Session, token: str) -> LinkRequest:
    return session.scalars(
        select(LinkRequest).where(LinkRequest.token == token).with_for_update()
    ).one()


def _check_open(shown: LinkPage, method: str) -> None:
    refuse_unless_open(shown)
    if method not in shown.payment_types:
        raise InvalidRequest("P007", field="payment_type")


def _term_days(shown: LinkPage) -> int:
    return int(shown.param("payment_term_day") or DEFAULT_TERM_DAYS)


_BUYER_FIELDS = {
    "family_name": "customer_family_name",
    "name": "customer_name",
    "family_name_kana": "customer_family_name_kana",
    "name_kana": "customer_name_kana",
    "tel": "customer_tel",
}


def _buyer(shown: LinkPage, entered: Buyer, *, required: tuple[str, ...]) -> Buyer:
    """The buyer's details: fixed ones from the request, the rest as entered, each checked."""
    fixed = set(shown.param("fix_params").split(","))
    values: dict[str, str] = {}
    for attribute, name in _BUYER_FIELDS.items():
        value = shown.param(name) if name in fixed else getattr(entered, attribute).strip()
        if not value and attribute in required:
            raise InvalidRequest("P006", field=name)
        params.check_field(name, value)
        values[attribute] = value
    return Buyer(**values)
