"""The hosted page's number and redirect methods: CVS (a chain and the buyer's names → the number
and the chain's instructions), ATM/Pay-easy (names → the three numbers), bank net (→ the bank
selection page) and carrier (→ the carrier's consent page). Each is one core call in
`kessai.core.link.pay`; a page no longer open sends the buyer to the top page, which shows why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import RedirectResponse, Response

from kessai.core.context import Core
from kessai.core.link import pay
from kessai.core.link.requests import LinkError, LinkPage
from kessai.core.payments.carrier import commands as carrier
from kessai.kit.errors import InvalidRequest, KessaiError
from kessai.web.buyer import banknet
from kessai.web.link import pages
from kessai.web.link.visit import Visit

PAY_PAGE = "/carrier/pay"  # the sandbox carrier's page: + /{payment_id}/{token} (app.py routes)

# The buyer fields of §2.2 (#17–20, CVS customer_tel), as the forms name them.
BUYER_FIELDS = (
    "customer_family_name",
    "customer_name",
    "customer_family_name_kana",
    "customer_name_kana",
    "customer_tel",
)
FIELD_LABELS = {
    "customer_family_name": "姓",
    "customer_name": "名",
    "customer_family_name_kana": "セイ（カナ）",
    "customer_name_kana": "メイ（カナ）",
    "customer_tel": "電話番号",
    "cvs_company_id": "コンビニ",
    "career_type": "キャリア",
}
# What the core requires of the buyer per method (the rest is optional on the form).
REQUIRED = {
    "03": frozenset({"customer_family_name", "customer_name", "customer_tel"}),
    "01": frozenset({"customer_family_name", "customer_name"}),
}
CHAIN_LABELS = pages.CHAIN_LABELS
CARRIER_LABELS = {"5": "d払い（ドコモ）", "4": "auかんたん決済", "6": "ソフトバンクまとめて支払い"}


# ---------------------------------------------------------------- CVS and ATM


def cvs_form(core: Core, visit: Visit) -> Response:
    return _numbers_form(core, visit, "03")


def atm_form(core: Core, visit: Visit) -> Response:
    return _numbers_form(core, visit, "01")


def _numbers_form(
    core: Core, visit: Visit, method: str, *, problem: str = "", field: str = ""
) -> Response:
    opened = pages.open_for(core, visit, method)
    if isinstance(opened, Response):
        return opened
    link, visit = opened
    posted = visit.form
    context = pages.shell(
        core,
        visit,
        link,
        method=method,
        buyer=_buyer_rows(link, posted, with_tel=method == "03"),
        required=REQUIRED[method],
        chosen_chain=posted.get("cvs_company_id", ""),
        problem=problem,
        problem_field=FIELD_LABELS.get(field, ""),
    )
    template = "cvs.html" if method == "03" else "atm.html"
    failed = bool(problem or field)
    return pages.respond(visit, link, template, context, status_code=400 if failed else 200)


def _buyer_rows(
    link: LinkPage, posted: Mapping[str, str], *, with_tel: bool
) -> list[dict[str, Any]]:
    """Each buyer field: its value (posted, else the request's) and whether the merchant fixed it."""
    fixed = set(link.param("fix_params").split(","))
    rows = []
    for name in BUYER_FIELDS:
        if name == "customer_tel" and not with_tel:
            continue
        is_fixed = name in fixed and bool(link.param(name))
        value = link.param(name) if is_fixed else posted.get(name, link.param(name))
        rows.append({"name": name, "label": FIELD_LABELS[name], "value": value, "fixed": is_fixed})
    return rows


def _buyer(link: LinkPage, form: Mapping[str, str]) -> pay.Buyer:
    values = {
        row["name"]: str(row["value"]).strip() for row in _buyer_rows(link, form, with_tel=True)
    }
    return pay.Buyer(
        family_name=values["customer_family_name"],
        name=values["customer_name"],
        family_name_kana=values["customer_family_name_kana"],
        name_kana=values["customer_name_kana"],
        tel=values["customer_tel"],
    )


def apply_cvs(core: Core, visit: Visit) -> Response:
    """POST: issue the chain's number, then show it (303 to the top page, which now shows it)."""
    return _apply(core, visit, "03")


def apply_atm(core: Core, visit: Visit) -> Response:
    return _apply(core, visit, "01")


def _apply(core: Core, visit: Visit, method: str) -> Response:
    opened = pages.open_for(core, visit, method)
    if isinstance(opened, Response):
        return opened
    link, visit = opened
    buyer = _buyer(link, visit.form)
    try:
        if method == "03":
            chain = visit.form.get("cvs_company_id", "")
            if chain not in CHAIN_LABELS:
                raise InvalidRequest("P005", field="cvs_company_id")
            pay.apply_cvs(core, visit.token, chain=chain, buyer=buyer)
        else:
            pay.apply_atm(core, visit.token, buyer=buyer)
    except LinkError:
        return pages.to_top(visit)
    except KessaiError as failure:
        known = isinstance(failure, InvalidRequest) and failure.field in FIELD_LABELS
        field = (failure.field or "") if known else ""
        problem = "" if field else failure.message
        return _numbers_form(core, visit, method, problem=problem, field=field)
    return pages.to_top(visit)


# ---------------------------------------------------------------- bank net


def bank_form(core: Core, visit: Visit) -> Response:
    opened = pages.open_for(core, visit, "05")
    if isinstance(opened, Response):
        return opened
    link, visit = opened
    return pages.respond(visit, link, "bank.html", pages.shell(core, visit, link, problem=""))


def start_bank(core: Core, visit: Visit) -> Response:
    """POST: a bank net application, then 303 to the bank selection page (same origin)."""
    opened = pages.open_for(core, visit, "05")
    if isinstance(opened, Response):
        return opened
    link, visit = opened
    try:
        application = pay.start_bank_net(core, visit.token, back_url=visit.absolute("/back"))
    except LinkError:
        return pages.to_top(visit)
    except KessaiError as failure:
        context = pages.shell(core, visit, link, problem=failure.message)
        return pages.respond(visit, link, "bank.html", context, status_code=400)
    target = banknet.asp_url("", core.secret, application.merchant_id, application.trading_id)
    return RedirectResponse(target, status_code=303)


# ---------------------------------------------------------------- carrier


def carrier_form(core: Core, visit: Visit, *, problem: str = "", field: str = "") -> Response:
    opened = pages.open_for(core, visit, "06")
    if isinstance(opened, Response):
        return opened
    link, visit = opened
    offered = [(code, CARRIER_LABELS.get(code, code)) for code in pay.carriers(link)]
    context = pages.shell(
        core,
        visit,
        link,
        carriers=offered,
        problem=problem,
        problem_field=FIELD_LABELS.get(field, ""),
    )
    failed = bool(problem or field)
    return pages.respond(visit, link, "carrier.html", context, status_code=400 if failed else 200)


def start_carrier(core: Core, visit: Visit) -> Response:
    """POST: a carrier payment, then 303 to the carrier's consent page (same origin)."""
    opened = pages.open_for(core, visit, "06")
    if isinstance(opened, Response):
        return opened
    _link, visit = opened
    career_type = visit.form.get("career_type", "")
    try:
        payment = pay.start_carrier(
            core,
            visit.token,
            career_type=career_type,
            back_url=visit.absolute("/back"),
            cancel_url=visit.absolute("/back", why="cancel"),
        )
    except LinkError:
        return pages.to_top(visit)
    except InvalidRequest as failure:
        if failure.field == "career_type":  # none chosen, or one the page does not offer
            return carrier_form(core, visit, field="career_type")
        return carrier_form(core, visit, problem=failure.message)
    except KessaiError as failure:
        return carrier_form(core, visit, problem=failure.message)
    token = carrier.consent_token(core.secret, payment.payment_id)
    return RedirectResponse(f"{PAY_PAGE}/{payment.payment_id}/{token}", status_code=303)
