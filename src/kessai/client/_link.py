"""The link type from the merchant's side: a signed request for the hosted payment page, in one call.

`signed_link(...)` gives the fields with their `hc`, the GET URL to send the buyer to, a POST
form, and `open_page()` for URL mode (`isbtob=1`: the gateway answers the page's URL, which may
also be e-mailed). `hc` is signed in the merchant's scheme (`kessai merchant show` says which):
`hmac` (the default of new merchants: HMAC-SHA256 over `name=value` lines) or `paygent`
(paygent-protocol.md §2.3). The signature is computed here, never by the server's code.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Final
from urllib.parse import urlencode

import httpx

SIGNED_FIELDS: Final = (
    "trading_id",
    "payment_type",
    "fix_params",
    "id",
    "seq_merchant_id",
    "payment_term_day",
    "payment_term_min",
    "payment_class",
    "use_card_conf_number",
    "customer_id",
    "threedsecure_ryaku",
)
# §2.3 item 6: a request with a non-empty inform_url signs it between id and seq_merchant_id.
SIGNED_FIELDS_INFORM: Final = (*SIGNED_FIELDS[:4], "inform_url", *SIGNED_FIELDS[4:])
# The hmac scheme's fields, one `name=value` line each in this order, after HMAC_VERSION.
HMAC_FIELDS: Final = (
    "seq_merchant_id",
    "trading_id",
    "id",
    "payment_type",
    "payment_class",
    "sales_flg",
    "payment_term_day",
    "payment_term_min",
    "customer_id",
    "site_id",
    "stock_card_mode",
    "threedsecure_ryaku",
    "use_card_conf_number",
    "fix_params",
    "return_url",
    "stop_return_url",
    "finish_disable",
    "inform_url",
)
HMAC_VERSION: Final = "kessai-link-hmac-v1"
# The request path per charset (§2.1). UTF-8 is the default: it holds every character.
PATHS: Final = {"utf-8": "/v/u/request", "cp932": "/v/request", "euc_jp": "/v/e/request"}


def link_hash(fields: Mapping[str, str], hash_key: str, *, suffix: bool = True) -> str:
    """`hc`: SHA-256 over the signed values and the key, plus (as PAYGENT's samples do) up to 20
    random hex characters that the gateway ignores. Twelve values when `inform_url` is given (it
    stands between `id` and `seq_merchant_id`), eleven otherwise."""
    order = SIGNED_FIELDS_INFORM if fields.get("inform_url") else SIGNED_FIELDS
    message = "".join(fields.get(name, "") for name in order) + hash_key
    digest = hashlib.sha256(message.encode("utf-8")).hexdigest()
    return digest + (secrets.token_hex(secrets.randbelow(11)) if suffix else "")


def link_hmac(fields: Mapping[str, str], hash_key: str) -> str:
    """`hc` of the hmac scheme: HMAC-SHA256 under the hash key of the version line and one
    `name=value` line per HMAC field (empty value when absent), each ending in LF."""
    lines = [HMAC_VERSION] + [f"{name}={fields.get(name, '')}" for name in HMAC_FIELDS]
    message = "".join(line + "\n" for line in lines).encode("utf-8")
    return hmac.new(hash_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class LinkPage:
    """URL mode's answer: `url` is the page (ok), or `response_code` says what was refused."""

    result: str
    response_code: str
    response_detail: str
    url: str
    payment_types: tuple[str, ...]
    limit_date: str
    fields: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return self.result == "0"


@dataclass(frozen=True, slots=True)
class SignedLink:
    """A signed link request: `fields` (with `hc`), posted to `action` or sent as `url`."""

    action: str
    fields: Mapping[str, str]
    charset: str = "utf-8"

    @property
    def url(self) -> str:
        """The GET URL to redirect the buyer to (form mode)."""
        return f"{self.action}?{urlencode(self.fields, encoding=self.charset)}"

    def form_html(self, button: str = "お支払いへ進む") -> str:
        """An HTML form posting the request (what PAYGENT's samples put on the order page)."""
        inputs = "".join(
            f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
            for k, v in self.fields.items()
        )
        return (
            f'<form method="post" action="{escape(self.action)}" '
            f'accept-charset="{escape(self.charset)}">{inputs}'
            f'<button type="submit">{escape(button)}</button></form>'
        )

    def open_page(self, *, timeout: float = 35.0, verify: bool | str = True) -> LinkPage:
        """URL mode: ask the gateway for the page's URL (server to server)."""
        body = urlencode({**self.fields, "isbtob": "1"}, encoding=self.charset)
        response = httpx.post(
            self.action,
            content=body.encode("ascii"),
            headers={"content-type": "application/x-www-form-urlencoded"},
            timeout=timeout,
            verify=verify,
        )
        text = response.content.decode(self.charset, errors="replace")  # the path's charset
        values = dict(line.partition("=")[::2] for line in text.split("\r\n") if "=" in line)
        return LinkPage(
            result=values.get("result", "1"),
            response_code=values.get("response_code", ""),
            response_detail=values.get("response_detail", ""),
            url=values.get("url", ""),
            payment_types=tuple(p for p in values.get("payment_type", "").split(",") if p),
            limit_date=values.get("limit_date", ""),
            fields=values,
        )


def signed_link(
    base_url: str,
    *,
    merchant_id: int,
    hash_key: str,
    trading_id: str,
    amount: int,
    payment_types: Sequence[str] = (),
    charset: str = "utf-8",
    signature: str = "hmac",
    **params: str,
) -> SignedLink:
    """Build and sign a link request in the merchant's `signature` scheme (`hmac` or `paygent`).
    `params` are further §2.2 fields by their protocol names (`return_url`, `stop_return_url`,
    `merchant_name`, `payment_term_day`, `customer_family_name`, `inform_url`…); `inform_url` is
    where this payment's result notices go, and is signed in either scheme."""
    fields = {
        "trading_id": trading_id,
        "id": str(amount),
        "seq_merchant_id": str(merchant_id),
        **({"payment_type": ",".join(payment_types)} if payment_types else {}),
        **{name: value for name, value in params.items() if value != ""},
    }
    if signature not in ("hmac", "paygent"):
        raise ValueError(f"signature must be hmac or paygent, not {signature!r}")
    hc = link_hmac(fields, hash_key) if signature == "hmac" else link_hash(fields, hash_key)
    fields["hc"] = hc
    return SignedLink(f"{base_url.rstrip('/')}{PATHS[charset]}", fields, charset)
