"""The sandbox institutions' settlement report (精算明細): the file each of them (acquirer, CVS
agency, Pay-easy, bank net, carrier, slip agency, virtual-account bank) sends Kessai for a day's
sales, how it is written and read, and the breaks the sandbox can be told to plant in it.

The format, UTF-8 text, one record a line (LF or CRLF), fields separated by commas::

    H,kessai-sandbox-settlement,1,<institution>,<report date YYYYMMDD>
    D,<merchant ID>,<payment ID>,<reference>,<S sale | R refund>,<amount>,<settled on YYYYMMDD>
    …
    T,<number of D records>,<sales − refunds>

IDs and amounts are ASCII digits without leading zeros (amounts > 0); the reference is the
institution's own name of the payment (may be empty; no commas). Anything else is refused, naming
the line: a file is read in exactly one form.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import date

from kessai.connectors.base import SettlementKind, SettlementLine, SettlementReport
from kessai.kit.errors import InvalidRequest

MAGIC = "kessai-sandbox-settlement"
VERSION = "1"
PLANTS = ("missing", "unknown", "amount", "twice")
_NUMBER = re.compile(r"[1-9][0-9]{0,11}")
_DATE = re.compile(r"[0-9]{8}")
_REFERENCE = re.compile(r"[\x21-\x2b\x2d-\x7e]{0,64}")  # printable ASCII, no comma, no space
_KINDS = {"S": SettlementKind.SALE, "R": SettlementKind.REFUND}
_LETTERS = {kind: letter for letter, kind in _KINDS.items()}


class SandboxSettlementFormat:
    """The sandbox format for one institution (`SettlementReportFormat`)."""

    def __init__(self, institution: str) -> None:
        self.institution = institution

    def parse(self, data: bytes) -> SettlementReport:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(0, "not UTF-8 text") from None
        records = text.splitlines()
        if len(records) < 2:
            raise _bad(len(records), "a report has a header (H) and a trailer (T) record")
        report_date = self._header(records[0])
        lines = tuple(_data(n, r) for n, r in enumerate(records[1:-1], start=2))
        _trailer(len(records), records[-1], lines)
        return SettlementReport(self.institution, report_date, lines)

    def _header(self, record: str) -> date:
        fields = record.split(",")
        if len(fields) != 5 or fields[:3] != ["H", MAGIC, VERSION]:
            raise _bad(1, f"the header must read H,{MAGIC},{VERSION},INSTITUTION,YYYYMMDD")
        if fields[3] != self.institution:
            raise _bad(1, f"this is {fields[3]!r}'s report, not {self.institution!r}'s")
        return _date(1, fields[4])


def write(report: SettlementReport) -> bytes:
    """The file of `report` (line numbers are the file's own: D records start at line 2)."""
    out = [f"H,{MAGIC},{VERSION},{report.institution},{report.report_date:%Y%m%d}"]
    for line in report.lines:
        merchant = "" if line.merchant_id is None else str(line.merchant_id)
        payment = "" if line.payment_id is None else str(line.payment_id)
        out.append(
            f"D,{merchant},{payment},{line.reference},{_LETTERS[line.kind]},{line.amount},"
            f"{line.settled_on:%Y%m%d}"
        )
    out.append(f"T,{len(report.lines)},{net_total(report.lines)}")
    return ("\r\n".join(out) + "\r\n").encode("utf-8")


def net_total(lines: Iterable[SettlementLine]) -> int:
    return sum(line.amount if line.kind is SettlementKind.SALE else -line.amount for line in lines)


def plant(
    report: SettlementReport, kinds: Iterable[str], *, unknown_payment_id: int
) -> SettlementReport:
    """The report with one break of each kind asked for, as a careless institution sends them:
    `missing` drops the first sale; `amount` pays the next sale 100 yen short (100 yen over if it is
    100 yen or less); `twice` repeats the next sale; `unknown` adds a sale of 1,000 yen for
    `unknown_payment_id`, a payment Kessai does not know. Each takes a different sale (a report
    with too few sales plants what it can). Line numbers follow the file."""
    lines = list(report.lines)
    sales = [i for i, line in enumerate(lines) if line.kind is SettlementKind.SALE]
    wanted = set(kinds)
    dropped: set[int] = set()
    extra: list[SettlementLine] = []
    if "missing" in wanted and sales:
        dropped.add(sales.pop(0))
    if "amount" in wanted and sales:
        i = sales.pop(0)
        short = lines[i].amount - 100
        lines[i] = replace(lines[i], amount=short if short > 0 else lines[i].amount + 100)
    if "twice" in wanted and sales:
        extra.append(lines[sales.pop(0)])
    if "unknown" in wanted:
        extra.append(
            SettlementLine(0, None, unknown_payment_id, "UNKNOWN", SettlementKind.SALE, 1000,
                           report.report_date)
        )  # fmt: skip
    kept = [line for i, line in enumerate(lines) if i not in dropped] + extra
    numbered = tuple(replace(line, line_number=n) for n, line in enumerate(kept, start=2))
    return replace(report, lines=numbered)


def _data(number: int, record: str) -> SettlementLine:
    fields = record.split(",")
    if len(fields) != 7 or fields[0] != "D":
        raise _bad(number, "a data record reads D,MERCHANT,PAYMENT,REFERENCE,S|R,AMOUNT,YYYYMMDD")
    _, merchant, payment, reference, kind, amount, settled = fields
    if kind not in _KINDS:
        raise _bad(number, f"kind must be S (sale) or R (refund), not {kind!r}")
    if not _REFERENCE.fullmatch(reference):
        raise _bad(number, "the reference must be printable ASCII without spaces, ≤ 64")
    if not payment and not reference:
        raise _bad(number, "a line names its payment (ID or reference)")
    return SettlementLine(
        line_number=number,
        merchant_id=_optional_number(number, "merchant ID", merchant),
        payment_id=_optional_number(number, "payment ID", payment),
        reference=reference,
        kind=_KINDS[kind],
        amount=_number(number, "amount", amount),
        settled_on=_date(number, settled),
    )


def _trailer(number: int, record: str, lines: tuple[SettlementLine, ...]) -> None:
    fields = record.split(",")
    if len(fields) != 3 or fields[0] != "T":
        raise _bad(
            number, "the last record must be the trailer T,COUNT,NET_TOTAL (file cut short?)"
        )
    count, total = fields[1], fields[2]
    if count != str(len(lines)) or total != str(net_total(lines)):
        raise _bad(
            number,
            f"the trailer says {count} lines, {total} yen; the file has {len(lines)} lines, "
            f"{net_total(lines)} yen",
        )


def _number(line: int, name: str, value: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise _bad(line, f"{name} must be digits without leading zeros, not {value!r}")
    return int(value)


def _optional_number(line: int, name: str, value: str) -> int | None:
    return None if value == "" else _number(line, name, value)


def _date(line: int, value: str) -> date:
    try:
        if not _DATE.fullmatch(value):
            raise ValueError(value)
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError:
        raise _bad(line, f"a date is YYYYMMDD, not {value!r}") from None


def _bad(line: int, why: str) -> InvalidRequest:
    where = f"line {line}: " if line else ""
    return InvalidRequest(message=f"settlement report refused, {where}{why}")
