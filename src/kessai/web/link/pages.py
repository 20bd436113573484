"""The hosted page's shell: the top page (method menu), the views of a page no longer open (paid →
completion, issued → the numbers again, expired → 6002), the return from a bank or carrier, and the
error and not-found pages. Method pages are in `methods` and `card`.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import RedirectResponse, Response

from kessai.core.context import Core
from kessai.core.link import logo, pay, requests
from kessai.core.link.requests import LinkPage
from kessai.core.payments.cvs import commands as cvs
from kessai.core.payments.views import PaymentView
from kessai.kit.errors import NotFound, message_for
from kessai.web.buyer import receipt
from kessai.web.link import csrf, i18n
from kessai.web.link.render import html, origin
from kessai.web.link.visit import Visit, lang_url

# Method slugs in the page's URLs, in the order the menu lists them (core LINK_METHODS order).
SLUGS = {"02": "card", "03": "cvs", "01": "atm", "05": "bank", "06": "carrier"}
METHOD_LABELS = {
    "02": "クレジットカード",
    "03": "コンビニ払い",
    "01": "ATM・ネットバンキング（Pay-easy）",
    "05": "銀行ネット決済",
    "06": "携帯キャリア決済",
}
CHAIN_LABELS = {code: cvs.CHAINS[code] for code in pay.LINK_CVS_CHAINS}


def load(core: Core, visit: Visit) -> tuple[LinkPage, Visit]:
    """The page behind the visit's token (NotFound for an unknown one), and the visit in the
    page's language."""
    link = requests.page(core, visit.token)
    return link, visit.in_language(link.param("language_code"))


def shell(core: Core, visit: Visit, link: LinkPage, **extra: Any) -> dict[str, Any]:
    """What every page of a link shows: the merchant, the order, the way back, the language."""
    version = logo.logo_version(core, link.merchant_id)
    return {
        "link": link,
        "lang": visit.language.code,
        "url": visit.url,
        "csrf": csrf.token(core.secret, visit.cookie, visit.token),
        "logo_url": f"/link/logo/{link.merchant_id}?v={version}" if version else "",
        "switch": _switch(visit),
        "methods": [(code, SLUGS[code], METHOD_LABELS[code]) for code in link.payment_types],
        "detail": link.param("payment_detail"),
        "card_locked": link.card_failures >= pay.MAX_CARD_FAILURES,
        "method_labels": METHOD_LABELS,
        "chains": CHAIN_LABELS,
        **extra,
    }


def _switch(visit: Visit) -> dict[str, str]:
    """The other language's link (this page with `?lang=`)."""
    other = "en" if visit.language.code == "ja" else "ja"
    label = "English" if other == "en" else "日本語"
    path = f"/link/{visit.token}"
    return {"href": lang_url(path, i18n.Language(other, explicit=True)), "label": label}


def respond(
    visit: Visit, link: LinkPage, template: str, context: dict[str, Any], **kw: Any
) -> Response:
    """A page of `link`: its banner's origin is the only foreign one allowed (for images)."""
    return html(
        template,
        visit.language.code,
        context,
        secure=visit.secure,
        images=origin(link.param("banner_url")),
        **kw,
    )


def top(core: Core, visit: Visit) -> Response:
    """`/link/<token>`: the menu, or straight to the one method offered, or the page's standing."""
    try:
        link, visit = load(core, visit)
    except NotFound:
        return not_found(visit)
    if link.standing != "open":
        return standing_view(core, visit, link)
    if len(link.payment_types) == 1:  # one method: no menu (§2.2 payment_type)
        return RedirectResponse(visit.url("/" + SLUGS[link.payment_types[0]]), status_code=303)
    note = NOTES.get(visit.query.get("note", ""), "")
    return respond(visit, link, "top.html", shell(core, visit, link, note=note))


NOTES = {
    "unpaid": "お支払いは完了していません。もう一度お支払い方法を選んでください。",
    "cancelled": "お支払いを中止しました。別のお支払い方法も選べます。",
}


def standing_view(core: Core, visit: Visit, link: LinkPage) -> Response:
    """A page no longer open: the completion, the issued numbers, or the 6002 error."""
    if link.standing == "expired":
        return error(visit, "6002", link=link, core=core)
    payment = pay.current_payment(core, link)
    if payment is None:  # paid through another face: nothing of ours to show but the fact
        return error(visit, "6001", link=link, core=core)
    if link.standing == "issued":
        template = "issued_cvs.html" if payment.payment_type == "03" else "issued_atm.html"
        extra = issued_context(core, payment)
        return respond(visit, link, template, shell(core, visit, link, payment=payment, **extra))
    return respond(visit, link, "done.html", shell(core, visit, link, payment=payment))


def issued_context(core: Core, payment: PaymentView) -> dict[str, Any]:
    """The CVS chain's instructions and printable page, or nothing more for Pay-easy."""
    if payment.payment_type != "03":
        return {}
    chain = payment.detail("cvs_company_id")
    token = cvs.receipt_token(core.secret, payment.payment_id)
    return {
        "chain": chain,
        "steps": receipt.STEPS.get(chain, ()),
        "print_url": f"/cvs/receipt/{payment.payment_id}/{token}",
    }


def back(core: Core, visit: Visit) -> Response:
    """`/link/<token>/back`: where the bank or carrier sends the buyer (with its own parameters,
    ignored here: the page's standing says what happened)."""
    try:
        link, visit = load(core, visit)
    except NotFound:
        return not_found(visit)
    if link.standing != "open":
        return RedirectResponse(visit.url(), status_code=303)
    note = "cancelled" if visit.query.get("why") == "cancel" else "unpaid"
    return RedirectResponse(visit.url(note=note), status_code=303)


def open_for(core: Core, visit: Visit, method: str) -> tuple[LinkPage, Visit] | Response:
    """The page when it is open and offers `method`; else the response that explains (404, or
    the top page, which shows why the order takes no payment)."""
    try:
        link, visit = load(core, visit)
    except NotFound:
        return not_found(visit)
    if link.standing != "open" or method not in link.payment_types:
        return to_top(visit)
    return link, visit


def to_top(visit: Visit) -> Response:
    return RedirectResponse(visit.url(), status_code=303)


def error(
    visit: Visit,
    code: str,
    *,
    link: LinkPage | None = None,
    core: Core | None = None,
    status_code: int = 400,
) -> Response:
    """The buyer's error page: what went wrong, the code the shop can look up, the way back."""
    context: dict[str, Any] = {
        "code": code,
        "message": message_for(code),
        "lang": visit.language.code,
    }
    if link is not None and core is not None:
        context = shell(core, visit, link, **context)
    return html(
        "error.html", visit.language.code, context, status_code=status_code, secure=visit.secure
    )


def expired_form(visit: Visit) -> Response:
    """A POST whose CSRF token failed: the buyer reopens the page (their link still works)."""
    context = {"code": "", "message": "", "lang": visit.language.code, "reopen": visit.url()}
    return html("error.html", visit.language.code, context, status_code=403, secure=visit.secure)


def not_found(visit: Visit) -> Response:
    context = {"lang": visit.language.code, "not_found": True}
    return html(
        "not_found.html", visit.language.code, context, status_code=404, secure=visit.secure
    )


def request_error(code: str, message: str, *, accept_language: str) -> Response:
    """The error page of a refused link request (/v/request…): no page exists to frame it."""
    language = i18n.choose("", "", accept_language).code
    context = {"code": code, "message": message, "lang": language}
    return html("error.html", language, context, status_code=400)
