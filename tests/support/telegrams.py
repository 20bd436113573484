"""Speaking the module protocol in tests the way merchants' PAYGENT modules do: form bodies in
Windows-31J, responses parsed by the official PHP module's rules (paygent-protocol.md §1.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote_plus

import httpx

from kessai.core.merchants.commands import NewMerchant
from kessai.web.module.specs import path_for_kind


def path_for(kind: str) -> str:
    """Where PAYGENT's clients post `kind` (the gateway's own table)."""
    return path_for_kind(kind) or "/n/card/request"


def form_body(fields: Mapping[str, str | int], encoding: str = "cp932") -> bytes:
    return "&".join(
        f"{quote_plus(name)}={quote_plus(str(value), encoding=encoding)}"
        for name, value in fields.items()
    ).encode("ascii")


@dataclass
class Reply:
    raw: bytes
    fields: dict[str, str]

    @property
    def result(self) -> str:
        return self.fields.get("result", "")

    @property
    def code(self) -> str:
        return self.fields.get("response_code", "")

    def __getitem__(self, name: str) -> str:
        return self.fields[name]


def parse_reply(body: bytes) -> Reply:
    """The PHP module: split on CRLF, first '=', `*_html` swallows the rest."""
    text = body.decode("cp932")
    fields: dict[str, str] = {}
    html_key = None
    for line in text.split("\r\n"):
        if html_key is not None:
            fields[html_key] += line + "\r\n"
            continue
        if not line:
            continue
        name, _, value = line.partition("=")
        fields[name] = value
        if name.endswith("_html"):
            html_key, fields[name] = name, ""
    return Reply(body, fields)


def header(merchant: NewMerchant, kind: str, **fields: str | int) -> dict[str, str | int]:
    return {
        "merchant_id": merchant.merchant_id,
        "connect_id": merchant.connect_id,
        "connect_password": merchant.connect_password,
        "telegram_kind": kind,
        "telegram_version": "1.0",
        **fields,
    }


def send(
    base_url: str,
    merchant: NewMerchant,
    kind: str,
    *,
    path: str | None = None,
    **fields: str | int,
) -> Reply:
    return post(base_url, header(merchant, kind, **fields), path=path or path_for(kind))


def post(
    base_url: str,
    fields: Mapping[str, str | int],
    *,
    path: str = "/n/card/request",
    encoding: str = "cp932",
) -> Reply:
    response = httpx.post(
        base_url + path,
        content=form_body(fields, encoding),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 200, response.status_code
    return parse_reply(response.content)


OK_CARD = "4900000000000000"  # the sandbox always approves it (paygent-protocol.md §4)


def authorise(
    server: str,
    merchant: NewMerchant,
    trading_id: str = "T1",
    amount: int = 1000,
    card: str = OK_CARD,
    **extra: str | int,
) -> Reply:
    """A 020 with a card number, as most tests need one."""
    return send(
        server,
        merchant,
        "020",
        trading_id=trading_id,
        payment_amount=amount,
        card_number=card,
        card_valid_term="1230",
        card_conf_number="123",
        **extra,
    )


def authorised(
    server: str, merchant: NewMerchant, trading_id: str = "T1", **extra: str | int
) -> str:
    """The payment_id of a successful 020 (fails the test otherwise)."""
    reply = authorise(server, merchant, trading_id, **extra)
    assert reply.result == "0", reply.fields
    return reply["payment_id"]
