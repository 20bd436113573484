"""The result file of 201 (ファイル決済結果照会): CSV without quoting, Windows-31J, CRLF.

    1,<file_receipt_id>,<file_type>,<receipt_date>,<finish_date>,<line count>,<result>,<response_code>,<response_detail>
    3,<line_no>,<result>,<response_code>,<response_detail>,<payment_id>,<trading_id>,<customer_id>,<customer_card_id>[,<the type's own columns>]
    4,<number of data records>

A file type may add columns of its own to every data record (024: `refresh.REFRESH_COLUMNS`);
a line without them (an error, a cancelled line) has them empty, so every record is as wide.

PAYGENT's modules read the header's 7th–9th fields as result / response_code / response_detail
(paygent-protocol.md §1.3); the other columns are Kessai's (PAYGENT's per-type layouts are not
public). Without quoting, a value must not hold a comma or a line break: `_cell` makes sure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import select

from kessai.core.context import Core, MerchantRef
from kessai.core.files.commands import OPEN_STATUSES, find_file
from kessai.core.files.models import RESULT_COLUMNS_KEY, PaymentFile, PaymentFileLine
from kessai.core.files.refresh import REFRESH_COLUMNS, REFRESH_FILE_TYPE
from kessai.kit.clock import jst_stamp
from kessai.kit.errors import KessaiError

ENCODING = "cp932"
# The columns a file type adds to its data records.
EXTRA_COLUMNS: dict[str, tuple[str, ...]] = {REFRESH_FILE_TYPE: REFRESH_COLUMNS}
DATA_COLUMNS = (
    "line_no",
    "result",
    "response_code",
    "response_detail",
    "payment_id",
    "trading_id",
    "customer_id",
    "customer_card_id",
)


def result_file(core: Core, merchant: MerchantRef | None, receipt_id: str) -> bytes:
    """The result of a finished (or cancelled) file; 9103 while it runs, 9104 for no such file."""
    with core.sessions() as session:
        file = find_file(session, merchant, receipt_id)
        if file.status in OPEN_STATUSES:
            raise KessaiError("9103")
        lines = session.scalars(
            select(PaymentFileLine)
            .where(PaymentFileLine.file_id == file.id)
            .order_by(PaymentFileLine.line_no)
        )
        width = len(EXTRA_COLUMNS.get(file.file_type, ()))
        records = [_header(file), *_data(lines, width)]
    records.append(_record("4", str(len(records) - 1)))
    return "".join(records).encode(ENCODING, errors="replace")


def error_file(code: str, detail: str) -> bytes:
    """A refusal in the result's framing: the header with result 1 and the code, no data."""
    header = _record("1", "", "", "", "", "", "1", code, detail)
    return (header + _record("4", "0")).encode(ENCODING, errors="replace")


def _header(file: PaymentFile) -> str:
    return _record(
        "1",
        file.receipt_id,
        file.file_type,
        jst_stamp(file.created_at),
        jst_stamp(file.finished_at),
        str(file.total_lines),
        "0",
        "",
        "",
    )


def _data(lines: Iterable[PaymentFileLine], width: int) -> Iterator[str]:
    for line in lines:
        fields = line.fields or {}
        extra = [str(cell) for cell in fields.get(RESULT_COLUMNS_KEY, [])][:width]
        yield _record(
            "3",
            str(line.line_no),
            line.result or "1",
            line.response_code,
            line.response_detail,
            line.payment_id,
            str(fields.get("trading_id", "")),
            str(fields.get("customer_id", "")),
            line.customer_card_id or str(fields.get("customer_card_id", "")),
            *extra,
            *[""] * (width - len(extra)),
        )


def _record(*cells: str) -> str:
    return ",".join(_cell(cell) for cell in cells) + "\r\n"


def _cell(value: str) -> str:
    return value.replace(",", "、").replace("\r", " ").replace("\n", " ")
