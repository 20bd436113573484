"""The card form of the hosted page: number, expiry, security code (when the request asks for it
with `use_card_conf_number=1`), holder name, and the payment classes (支払区分) §2.2 `payment_class`
allows. One core call (`pay.pay_by_card`) decides; the page shows its outcome.

The card number and the security code live only in the request being handled: they are never put
back into a form, never logged, and go to the core wrapped in `CardNumber` / `SecurityCode`.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import RedirectResponse, Response

from kessai.core.context import Core
from kessai.core.link import pay
from kessai.core.link.requests import LinkError, LinkPage
from kessai.kit.clock import JST
from kessai.kit.errors import InProgress, InvalidRequest, KessaiError, NotFound
from kessai.kit.secrets import CardNumber, SecurityCode
from kessai.web.link import pages
from kessai.web.link.render import origin
from kessai.web.link.visit import Visit

CLASS_LABELS = {"10": "一括払い", "61": "分割払い", "80": "リボ払い", "23": "ボーナス一括払い"}
# The core's field names (its InvalidRequest.field) → what the form calls them.
FIELD_LABELS = {
    "card_number": "カード番号",
    "card_valid_term": "有効期限",
    "card_conf_number": "セキュリティコード",
    "holder_name": "カード名義",
    "payment_class": "お支払い回数",
    "split_count": "分割回数",
    "customer_card_id": "保存済みのカード",
}
DECLINED = "このカードはご利用いただけません。"
YEARS_AHEAD = 20  # cards expire at most 20 years on (the stub's rule, §4)


def form(core: Core, visit: Visit) -> Response:
    """GET: the card form."""
    opened = pages.open_for(core, visit, "02")
    if isinstance(opened, Response):
        return opened
    link, visit = opened
    return _form_page(core, visit, link)


def _form_page(
    core: Core,
    visit: Visit,
    link: LinkPage,
    *,
    problem: str = "",
    field: str = "",
    status: int = 200,
) -> Response:
    if link.card_failures >= pay.MAX_CARD_FAILURES:
        return pages.respond(
            visit, link, "locked.html", pages.shell(core, visit, link), status_code=403
        )
    kept = {
        name: visit.form.get(name, "") for name in ("expiry_month", "expiry_year", "holder_name")
    }
    context = pages.shell(
        core,
        visit,
        link,
        problem=problem,
        problem_field=FIELD_LABELS.get(field, ""),
        kept=kept,
        classes=[(code, CLASS_LABELS[code]) for code in pay.payment_classes(link)],
        split_counts=pay.SPLIT_COUNTS,
        months=[f"{m:02d}" for m in range(1, 13)],
        years=_years(core, link),
        ask_security_code=link.param("use_card_conf_number") == "1",
        remaining=pay.MAX_CARD_FAILURES - link.card_failures,
        stored_cards=pay.stored_cards(core, link),
        keeps_cards=_keeps_cards(link),
    )
    return pages.respond(
        visit, link, "card.html", context, status_code=status, forms=_return_origin(link)
    )


def _keeps_cards(link: LinkPage) -> str:
    """'ask' (stock_card_mode=1: the buyer may keep the card), 'always' (2), or ''."""
    if not link.param("customer_id"):
        return ""
    return {"1": "ask", "2": "always"}.get(link.param("stock_card_mode"), "")


def _years(core: Core, link: LinkPage) -> list[str]:
    this_year = core.now_for(link.merchant).astimezone(JST).year
    return [f"{year % 100:02d}" for year in range(this_year, this_year + YEARS_AHEAD + 1)]


def _return_origin(link: LinkPage) -> str:
    """With finish_disable=1 a paid card POST is answered by 303 to return_url: Chromium checks
    that redirect against the form page's `form-action`, so the form page allows that origin."""
    return origin(link.param("return_url")) if link.param("finish_disable") == "1" else ""


def entry_of(fields: Mapping[str, str]) -> pay.CardEntry:
    """The posted card fields as the core takes them (checked there: P005/P008/P010 by field)."""
    digits = "".join(ch for ch in fields.get("card_number", "") if ch.isdigit())
    code = fields.get("security_code", "").strip()
    payment_class = fields.get("payment_class", "10")
    return pay.CardEntry(
        number=CardNumber(digits),
        valid_term=fields.get("expiry_month", "") + fields.get("expiry_year", ""),
        security_code=SecurityCode(code) if code else None,
        holder_name=fields.get("holder_name", "").strip().upper(),
        payment_class=payment_class,
        split_count=fields.get("split_count", "") if payment_class == "61" else "",
        save=fields.get("save_card") == "1",
    )


def stored_choice_of(fields: Mapping[str, str]) -> pay.StoredChoice | None:
    """The stored card the buyer picked (`card_choice` = its customer_card_id), or None for a new
    card."""
    choice = fields.get("card_choice", "new")
    if not choice.isdigit():
        return None
    payment_class = fields.get("payment_class", "10")
    return pay.StoredChoice(
        customer_card_id=int(choice),
        payment_class=payment_class,
        split_count=fields.get("split_count", "") if payment_class == "61" else "",
    )


def submit(core: Core, visit: Visit) -> Response:
    """POST: pay. Declined → the form again (empty but for name and expiry); 3DS → the ACS."""
    opened = pages.open_for(core, visit, "02")
    if isinstance(opened, Response):
        return opened
    link, visit = opened
    picked = stored_choice_of(visit.form)
    # Back from 3-D Secure, the page keeps the language the buyer chose on it.
    keep = {"lang": visit.language.code} if visit.language.explicit else {}
    base_url = visit.base_url
    try:
        if picked is not None:
            outcome = pay.pay_with_stored_card(
                core, visit.token, picked, base_url=base_url, keep=keep
            )
        else:
            outcome = pay.pay_by_card(
                core, visit.token, entry_of(visit.form), base_url=base_url, keep=keep
            )
    except KessaiError as failure:
        return _refused(core, visit, link, failure)
    return _after(core, visit, link, outcome)


def finish_3ds(core: Core, visit: Visit) -> Response:
    """GET `/link/<token>/card/3ds`: the ACS sends the buyer back here (term_url)."""
    try:
        link, visit = pages.load(core, visit)
    except NotFound:
        return pages.not_found(visit)
    try:
        outcome = pay.finish_card_3ds(core, visit.token, visit.query)
    except KessaiError as failure:
        return _refused(core, visit, link, failure)
    if outcome.status == "authorised" and _straight_back(link):
        # The way here began with the ACS page's form, whose form-action Chromium holds any
        # redirect to: a page that leaves by itself (meta refresh, and a link) goes instead.
        context = pages.shell(core, visit, link, target=link.param("return_url"))
        return pages.respond(visit, link, "leave.html", context)
    return _after(core, visit, link, outcome)


def _straight_back(link: LinkPage) -> bool:
    """finish_disable=1: after a card payment, straight to return_url (§2.2 #24)."""
    return link.param("finish_disable") == "1" and bool(link.param("return_url"))


def _refused(core: Core, visit: Visit, link: LinkPage, failure: KessaiError) -> Response:
    if isinstance(failure, LinkError):  # paid meanwhile (a second click), issued or expired
        return pages.to_top(visit)
    if isinstance(failure, InProgress):
        return pages.respond(
            visit, link, "busy.html", pages.shell(core, visit, link), status_code=409
        )
    if isinstance(failure, InvalidRequest) and failure.code == "P030":  # 分割 without a count
        return _form_page(core, visit, link, field="split_count", status=400)
    if isinstance(failure, InvalidRequest) and failure.field in FIELD_LABELS:
        return _form_page(core, visit, link, field=failure.field, status=400)
    fresh = pages.load(core, visit)[0]  # the failure may have been counted
    return _form_page(core, visit, fresh, problem=failure.message, status=400)


def _after(core: Core, visit: Visit, link: LinkPage, outcome: pay.CardOutcome) -> Response:
    match outcome.status:
        case "authorised":
            if _straight_back(link):
                return RedirectResponse(link.param("return_url"), status_code=303)
            return pages.to_top(visit)
        case "redirect":
            return RedirectResponse(outcome.redirect_url, status_code=303)
        case "locked":
            fresh = pages.load(core, visit)[0]
            return pages.respond(
                visit, fresh, "locked.html", pages.shell(core, visit, fresh), status_code=403
            )
        case _:
            fresh = pages.load(core, visit)[0]
            return _form_page(core, visit, fresh, problem=outcome.message or DECLINED, status=400)
