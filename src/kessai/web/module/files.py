"""File payment at the module face (ファイル決済, 200/201) and how a file's lines are checked and run.

`ModuleFileLines` is handed to the core (`Core.file_lines`) by the composition root: a line of a
file is validated by its telegram's own codec (`specs.REQUEST_SPECS`, `fields.validate`) and run by
its telegram's own handler (`handlers.HANDLERS`), so a file line and a telegram can never differ.
File types are not telegram kinds (§1.5 200): `FILE_TYPES` maps one to the other.
"""

from __future__ import annotations

from collections.abc import Mapping

from kessai.core.context import Core, MerchantRef
from kessai.core.files import commands as files
from kessai.core.files import refresh
from kessai.core.files.layout import FileLayout, LineOutcome
from kessai.core.files.result import error_file, result_file
from kessai.core.payments.card import commands as card
from kessai.kit.errors import InvalidRequest, KessaiError
from kessai.web.module.encode import success_fields
from kessai.web.module.fields import Required, validate
from kessai.web.module.handlers import HANDLERS, PINNED_KINDS, _follow_up
from kessai.web.module.specs import REQUEST_SPECS, RESPONSE_FIELDS
from kessai.web.module.telegram import Handler, Reply, Telegram


def _refresh_card(core: Core, t: Telegram) -> Reply:
    """A 024 line (カード情報洗替): the stored card it names, refreshed by the card account updater
    (the same command as `kessai cards refresh`); the refresh's columns go to the result file."""
    outcome = refresh.refresh_stored_card(
        core,
        t.merchant,
        t.fields["customer_id"],
        t.fields["customer_card_id"],
        t.fields.get("site_id", ""),
    )
    return [
        ("result", outcome.result),
        ("response_code", outcome.response_code),
        ("response_detail", outcome.response_detail),
        ("customer_card_id", outcome.customer_card_id),
        *zip(refresh.REFRESH_COLUMNS, outcome.columns, strict=True),
    ]


# file type → (the telegram kind its lines are run as, that kind's handler)
FILE_TYPES: dict[str, tuple[str, Handler]] = {
    "020": ("020", HANDLERS["020"]),  # authorisation (オーソリ)
    "021": ("022", HANDLERS["022"]),  # capture (売上)
    "022": ("021", _follow_up(card.cancel)),  # cancel (取消): void or cancel the capture
    "026": ("025", HANDLERS["025"]),  # stored card: register (カード情報登録)
    "116": ("116", HANDLERS["116"]),  # stored card: update (カード情報更新)
    "027": ("026", HANDLERS["026"]),  # stored card: delete (カード情報削除)
    "028": ("028", HANDLERS["028"]),  # authorisation amount correction (オーソリ変更)
    "029": ("029", HANDLERS["029"]),  # capture amount correction (売上変更)
    # card refresh (洗替): checked with 027's codec, run by the card account updater
    refresh.REFRESH_FILE_TYPE: ("027", _refresh_card),
}
# A file type that takes only some of its telegram's fields, and one that needs more of them.
_ONLY_COLUMNS: dict[str, frozenset[str]] = {
    refresh.REFRESH_FILE_TYPE: frozenset(("customer_id", "customer_card_id", "site_id")),
}
_ALSO_REQUIRED: dict[str, frozenset[str]] = {
    refresh.REFRESH_FILE_TYPE: frozenset(("customer_card_id",)),
}

# The header each line is run under; a file never repeats the merchant's credentials.
_HEADER = ("merchant_id", "connect_id", "connect_password", "telegram_kind", "telegram_version")
_CREDENTIALS = "加盟店の認証情報はファイルに書きません"
_NO_BUYER = "3Dセキュアは購入者がいる電文でのみ使えます"
_REFUSED: dict[str, str] = {
    **dict.fromkeys(_HEADER, _CREDENTIALS),
    "card_conf_number": "セキュリティコードはファイルで受け付けません（保存しないため）",
    "security_code_use": "セキュリティコードはファイルで受け付けません（保存しないため）",
    "security_code_token": "セキュリティコードはファイルで受け付けません（保存しないため）",
    "card_token": "カードトークンはファイルで受け付けません",
    **dict.fromkeys(
        ("3dsecure_use_type", "3ds_auth_id", "term_url", "http_accept", "http_user_agent"),
        _NO_BUYER,
    ),
}
# File types whose line is one card operation and writes nothing else (an operation's row names its
# line; see `FileLines.one_operation`). 028/029 corrections may make two and stay out.
_ONE_OPERATION = frozenset({"020", "021", "022"})
# A reply field kept in the result file beside result and codes.
_KEPT = ("payment_id", "customer_card_id")


class ModuleFileLines:
    """`core.context.FileLines` through the module face's codec and handlers."""

    def layout(self, file_type: str) -> FileLayout | None:
        if file_type not in FILE_TYPES:
            return None
        kind = FILE_TYPES[file_type][0]
        only = _ONLY_COLUMNS.get(file_type)
        specs = [
            spec
            for spec in REQUEST_SPECS[kind]
            if spec.name not in _REFUSED and (only is None or spec.name in only)
        ]
        required = {s.name for s in specs if s.required is Required.REQUIRED}
        return FileLayout(
            kind=kind,
            columns=frozenset(spec.name for spec in specs),
            required=frozenset(required | _ALSO_REQUIRED.get(file_type, frozenset())),
            refused=_REFUSED,
        )

    def check(self, file_type: str, fields: Mapping[str, str]) -> dict[str, str]:
        kind = FILE_TYPES[file_type][0]
        return validate(_as_telegram(kind, fields, "0"), REQUEST_SPECS[kind])

    def run(
        self, core: Core, merchant: MerchantRef, file_type: str, fields: Mapping[str, str]
    ) -> LineOutcome:
        kind, handler = FILE_TYPES[file_type]
        raw = _as_telegram(kind, fields, str(merchant.id))
        try:
            telegram = Telegram(
                kind=kind, merchant=merchant, fields=validate(raw, REQUEST_SPECS[kind]), raw=raw
            )
            reply = handler(core, telegram)
        except KessaiError as error:
            return LineOutcome("1", error.code, error.detail)
        return _outcome(reply)

    def pinned(self, file_type: str) -> bool:
        return FILE_TYPES[file_type][0] in PINNED_KINDS

    def one_operation(self, file_type: str) -> bool:
        return file_type in _ONE_OPERATION


def _as_telegram(kind: str, fields: Mapping[str, str], merchant_id: str) -> dict[str, str]:
    """A line as the telegram it stands for (the credentials were checked when the file came)."""
    header = dict(zip(_HEADER, (merchant_id, "file", "file", kind, "1.0"), strict=True))
    return {**fields, **header}


def _outcome(reply: Reply) -> LineOutcome:
    values = dict(reply) if not isinstance(reply, bytes) else {"result": "1"}
    columns = refresh.REFRESH_COLUMNS
    return LineOutcome(
        result=values.get("result", "1"),
        response_code=values.get("response_code", ""),
        response_detail=values.get("response_detail", ""),
        **{name: values.get(name, "") for name in _KEPT},
        columns=tuple(values[n] for n in columns) if columns[0] in values else (),
    )


# ---------------------------------------------------------------- 200 / 201


def request_file(core: Core, t: Telegram) -> Reply:
    """200 (ファイル決済要求): the file is checked and stored; the worker runs it."""
    data = t.raw.get("data", "")
    if not data:
        raise InvalidRequest("P005" if "data" not in t.raw else "P006", field="data")
    receipt_id = files.submit(
        core,
        t.merchant,
        t.fields["file_type"],
        data.encode("latin-1"),  # the file's own bytes (codec: kept as bytes)
        duplicate_check=t.fields.get("duplicate_check") == "1",
    )
    return success_fields(RESPONSE_FIELDS["200"], {"file_receipt_id": receipt_id})


def file_result(core: Core, t: Telegram) -> Reply:
    """201 (ファイル決済結果照会): the result CSV (9103 while the file runs)."""
    return result_file(core, t.merchant, t.fields["file_receipt_id"])


def file_error(error: KessaiError) -> bytes:
    """201's refusals in the result file's framing (PAYGENT's modules read its header record)."""
    return error_file(error.code, error.detail)
