"""PAYGENT's sandbox card stub as pure rules (paygent-protocol.md §4).

The last four digits `XYZZ` of the card number choose the result; the first four choose brand,
issuer and acquirer. Nothing here does I/O or keeps state, so the in-process sandbox connector and
the HTTP acquirer simulator answer exactly alike.

Authorisation (オーソリ), by `X` then `Y`:

====  ====  ==========================================================================
X     Y     result
====  ====  ==========================================================================
8     1     NG `2002`, detail `1Cxx` (CAFIS network error; xx = ZZ)
8     2     NG `2001`/`2002`/`2003` as `_ISSUER_CODES` classifies xx, detail `1Gxx`
8     5     NG `2002`, detail `1Kxx` (vendor system)
8     6     NG `2001`/`2002`/`2003` as `_ISSUER_CODES` classifies xx, detail `1Pxx` (CARDNET)
8     other NG `2002`, detail `2999`
9     any   NG `2008` (vendor timeout), detail `2999`
else  –     OK
====  ====  ==========================================================================

Void (オーソリ取消) and refund (売上取消), decided by the same digits of the authorised card:
`X=2` → `2002` with detail `1Cxx` (Y=1), `1Kxx` (Y=5), `1Pxx` (Y=6) or `2999` (other Y);
`X=3` → `2008` with detail `2999`; anything else OK. Capture (売上) always succeeds.

Checked before the digits, as the stub does: the number must be 14–16 digits (else `2003` `1G65`),
the expiry `MMYY` must fall between this month (Japan time) and 20 years ahead (else `2003` `1G83`),
and a security code, when given, must be 3–4 digits (else `2003` `1G44`). Luhn is *not* checked:
test numbers such as 4900000000000000 must work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from kessai.kit.clock import JST
from kessai.kit.secrets import CardNumber, SecurityCode

DECLINED_BY_ISSUER: Final = "2001"
VENDOR_ERROR: Final = "2002"
INPUT_ERROR: Final = "2003"
VENDOR_TIMEOUT: Final = "2008"

_OTHER_DETAIL: Final = "2999"  # the stub's "other" vendor error detail
_MAX_MONTHS_AHEAD: Final = 20 * 12

# CAFIS issuer answer codes (the `xx` of `1Gxx`/`1Pxx`) → PAYGENT response code.
# 2003 = the buyer typed something wrong and may correct it (PAYGENT lets the merchant retry the
# same payment up to three times); 2002 = a system or request-format problem between the networks;
# 2001 = the issuer refused the card or the transaction. Codes not listed (among them the amount
# and payment-class errors 68–76, 78: the issuer will not take this payment on this card) are 2001.
_ISSUER_CODES: Final[dict[str, str]] = {
    "02": DECLINED_BY_ISSUER,  # 残高不足
    "03": DECLINED_BY_ISSUER,  # 限度額オーバー
    "04": DECLINED_BY_ISSUER,  # 残高不足
    "05": DECLINED_BY_ISSUER,  # 限度額オーバー
    "12": DECLINED_BY_ISSUER,  # 取扱不可（カード使用不可）
    "22": DECLINED_BY_ISSUER,  # 支払永久禁止
    "30": DECLINED_BY_ISSUER,  # 保留判定 (the issuer holds it; the buyer must call, not retype)
    "42": INPUT_ERROR,  # 暗証番号エラー
    "44": INPUT_ERROR,  # セキュリティコード誤り
    "45": INPUT_ERROR,  # セキュリティコード入力なし
    "54": DECLINED_BY_ISSUER,  # 利用回数オーバー
    "55": DECLINED_BY_ISSUER,  # 限度額オーバー
    "56": DECLINED_BY_ISSUER,  # 取扱不可（無効カード）
    "60": DECLINED_BY_ISSUER,  # 事故カード（紛失・盗難）
    "61": DECLINED_BY_ISSUER,  # 無効カード
    "65": INPUT_ERROR,  # 会員番号エラー
    "67": VENDOR_ERROR,  # 商品コードエラー
    "77": VENDOR_ERROR,  # 業務区分エラー
    "79": VENDOR_ERROR,  # 照会区分エラー
    "80": VENDOR_ERROR,  # 取消区分エラー
    "81": VENDOR_ERROR,  # 取扱区分エラー
    "83": INPUT_ERROR,  # 有効期限エラー
    "84": VENDOR_ERROR,  # 承認番号エラー
    "85": VENDOR_ERROR,  # CAFIS代行中エラー
    "92": DECLINED_BY_ISSUER,  # カード会社任意エラー
    "94": VENDOR_ERROR,  # サイクル通番エラー
    "95": VENDOR_ERROR,  # 当該業務オンライン終了
    "96": DECLINED_BY_ISSUER,  # 事故カードデータエラー
    "97": DECLINED_BY_ISSUER,  # 当該要求拒否
    "98": VENDOR_ERROR,  # 当該自社対象業務エラー
    "99": VENDOR_ERROR,  # 接続要求自社受付拒否
}


@dataclass(frozen=True, slots=True)
class StubResult:
    """The stub's answer: an empty `response_code` means OK."""

    response_code: str = ""
    response_detail: str = ""

    @property
    def ok(self) -> bool:
        return not self.response_code


OK: Final = StubResult()


@dataclass(frozen=True, slots=True)
class Company:
    """A card company as CAFIS names it: its code (acq_id/issur_id) and Japanese name."""

    code: str
    name: str


NICOS: Final = Company("50001", "三菱ＵＦＪニコス")
JCB: Final = Company("99661", "ＪＣＢ")
DINERS: Final = Company("99660", "三井住友トラストクラブ")  # runs Diners Club in Japan
AMEX: Final = Company("99819", "アメリカン・エキスプレス")
UC: Final = Company("99665", "ユーシーカード")
SAISON: Final = Company("10035", "クレディセゾン")
SMBC: Final = Company("99663", "三井住友カード")
FOREIGN: Final = Company("", "海外発行カード")  # a foreign issuer has no CAFIS code


@dataclass(frozen=True, slots=True)
class CardRoute:
    """Which brand a card is, who issued it and who acquires it (020's acq_*/issur_* fields)."""

    brand: str
    acquirer: Company
    issuer: Company

    @property
    def issur_class(self) -> str:
        """`0` domestic issuer, `1` foreign issuer."""
        return "1" if self.issuer is FOREIGN else "0"


# Leading digits → (brand, acquirer, issuer). Six-digit prefixes are tried before four-digit ones.
_ROUTES_BY_PREFIX: Final[dict[str, CardRoute]] = {
    "512079": CardRoute("MASTER", SMBC, SMBC),  # §4's domestic-issuer example
    "4000": CardRoute("VISA", SMBC, FOREIGN),  # §4's foreign-issuer example
    "3600": CardRoute("DINERS", DINERS, DINERS),
    "3580": CardRoute("JCB", JCB, JCB),
    "3765": CardRoute("AMEX", AMEX, AMEX),
    "6440": CardRoute("DISCOVER", JCB, FOREIGN),  # JCB acquires Discover in Japan
    "4923": CardRoute("VISA", NICOS, NICOS),
    "5251": CardRoute("MASTER", NICOS, NICOS),
    "4980": CardRoute("VISA", SMBC, SMBC),
    "5304": CardRoute("MASTER", SMBC, SMBC),
    "4541": CardRoute("VISA", SAISON, SAISON),
    "5252": CardRoute("MASTER", SAISON, SAISON),
    "3528": CardRoute("JCB", SAISON, SAISON),
    "4542": CardRoute("VISA", UC, UC),
    "5250": CardRoute("MASTER", UC, UC),
}

# Any other number: by brand, as a Japanese merchant's usual acquirers would take it.
_ROUTES_BY_BRAND: Final[dict[str, CardRoute]] = {
    "JCB": CardRoute("JCB", JCB, JCB),
    "AMEX": CardRoute("AMEX", AMEX, AMEX),
    "DINERS": CardRoute("DINERS", DINERS, DINERS),
    "DISCOVER": CardRoute("DISCOVER", JCB, FOREIGN),
    "MASTER": CardRoute("MASTER", SMBC, SMBC),
    "VISA": CardRoute("VISA", SMBC, SMBC),
}
_DEFAULT_ROUTE: Final = CardRoute("HOUSE", SMBC, SMBC)


def route(card: CardNumber) -> CardRoute:
    """The brand, acquirer and issuer the stub reports for `card`."""
    prefix6 = card.bin6
    found = _ROUTES_BY_PREFIX.get(prefix6) or _ROUTES_BY_PREFIX.get(prefix6[:4])
    return found or _ROUTES_BY_BRAND.get(card.brand(), _DEFAULT_ROUTE)


def classify_issuer_code(xx: str) -> str:
    """The PAYGENT response code (2001/2002/2003) for CAFIS issuer answer `xx`."""
    return _ISSUER_CODES.get(xx, DECLINED_BY_ISSUER)


def valid_term_ok(valid_term: str, now: datetime) -> bool:
    """Whether expiry `MMYY` lies between this month (Japan time) and 20 years ahead."""
    if len(valid_term) != 4 or not valid_term.isdigit():
        return False
    month, yy = int(valid_term[:2]), int(valid_term[2:])
    if not 1 <= month <= 12:
        return False
    today = now.astimezone(JST)
    year = today.year - today.year % 100 + yy
    if year < today.year:  # two digits roll over into the next century
        year += 100
    months_ahead = (year - today.year) * 12 + month - today.month
    return 0 <= months_ahead <= _MAX_MONTHS_AHEAD


def authorisation_result(
    card: CardNumber, valid_term: str, security_code: SecurityCode | None, *, now: datetime
) -> StubResult:
    """The stub's answer to an authorisation (オーソリ) of `card`."""
    input_error = _input_error(card, valid_term, security_code, now)
    if input_error is not None:
        return input_error
    x, y, zz = _stub_digits(card.last4)
    if x == "9":
        return StubResult(VENDOR_TIMEOUT, _OTHER_DETAIL)
    if x != "8":
        return OK
    return _authorisation_refusal(y, zz)


def capture_result() -> StubResult:
    """The stub's answer to a capture (売上): always OK; X=2/3 affect only voids and refunds."""
    return OK


def cancellation_result(last4: str) -> StubResult:
    """The stub's answer to a void (オーソリ取消) or refund (売上取消) of a card ending `last4`."""
    x, y, zz = _stub_digits(last4)
    if x == "3":
        return StubResult(VENDOR_TIMEOUT, _OTHER_DETAIL)
    if x != "2":
        return OK
    match y:
        case "1":
            return StubResult(VENDOR_ERROR, f"1C{zz}")
        case "5":
            return StubResult(VENDOR_ERROR, f"1K{zz}")
        case "6":
            return StubResult(VENDOR_ERROR, f"1P{zz}")
        case _:
            return StubResult(VENDOR_ERROR, _OTHER_DETAIL)


def _authorisation_refusal(y: str, zz: str) -> StubResult:
    """Row `X=8` of the table: why the authorisation is refused."""
    match y:
        case "1":
            return StubResult(VENDOR_ERROR, f"1C{zz}")
        case "2":
            return StubResult(classify_issuer_code(zz), f"1G{zz}")
        case "5":
            return StubResult(VENDOR_ERROR, f"1K{zz}")
        case "6":
            return StubResult(classify_issuer_code(zz), f"1P{zz}")
        case _:
            return StubResult(VENDOR_ERROR, _OTHER_DETAIL)


def _input_error(
    card: CardNumber, valid_term: str, security_code: SecurityCode | None, now: datetime
) -> StubResult | None:
    """What the stub refuses before looking at the magic digits, as the issuer would word it."""
    number = card.reveal()  # only to check its shape; never kept or shown
    if not (14 <= len(number) <= 16 and number.isdigit()):
        return StubResult(INPUT_ERROR, "1G65")
    if not valid_term_ok(valid_term, now):
        return StubResult(INPUT_ERROR, "1G83")
    if security_code is not None:
        code = security_code.reveal()
        if not (3 <= len(code) <= 4 and code.isdigit()):
            return StubResult(INPUT_ERROR, "1G44")
    return None


def _stub_digits(last4: str) -> tuple[str, str, str]:
    """`XYZZ` split into X, Y and ZZ; anything that is not four digits reads as X=1 (plain OK)."""
    if len(last4) != 4 or not last4.isdigit():
        return "1", "0", "00"
    return last4[0], last4[1], last4[2:]
