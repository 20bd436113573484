"""File payment (200/201) in tests: submit a CSV as a merchant's module does, read the result file
as PAYGENT's modules read it, and let the worker run the files."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote_plus

import httpx

from kessai.app import Runtime
from kessai.core.files import process
from kessai.core.files.refresh import REFRESH_COLUMNS, REFRESH_FILE_TYPE
from kessai.core.merchants.commands import NewMerchant
from tests.support.telegrams import Reply, form_body, header, parse_reply

FILE_PATH = "/n/o/requestdata"


def submit(
    server: str, merchant: NewMerchant, file_type: str, data: str | bytes, **extra: str
) -> Reply:
    """A 200 with `data` (text is sent in Windows-31J, bytes as they are)."""
    raw = data if isinstance(data, bytes) else data.encode("cp932")
    body = form_body(header(merchant, "200", file_type=file_type, **extra))
    body += b"&data=" + quote_plus(raw).encode("ascii")
    response = httpx.post(
        server + FILE_PATH,
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=60,
    )
    assert response.status_code == 200
    return parse_reply(response.content)


def accepted(server: str, merchant: NewMerchant, file_type: str, data: str | bytes) -> str:
    reply = submit(server, merchant, file_type, data)
    assert reply.result == "0", reply.fields
    return reply["file_receipt_id"]


@dataclass
class ResultFile:
    raw: bytes
    header: list[str]
    data: list[list[str]]
    trailer: list[str]

    @property
    def result(self) -> str:
        return self.header[6]

    @property
    def code(self) -> str:
        return self.header[7]

    def line(self, line_no: int) -> dict[str, str]:
        """A data record by the input line it answers."""
        names = ("line_no", "result", "response_code", "response_detail", "payment_id")
        names += ("trading_id", "customer_id", "customer_card_id")
        if self.header[2] == REFRESH_FILE_TYPE:
            names += REFRESH_COLUMNS  # 024's own columns, after the common ones
        for record in self.data:
            if record[0] == str(line_no):
                return dict(zip(names, record, strict=True))
        raise KeyError(line_no)


def fetch_result(server: str, merchant: NewMerchant, receipt_id: str) -> ResultFile:
    """201, read as PAYGENT's PHP module does: CRLF records, unquoted commas, type in column 1."""
    response = httpx.post(
        server + FILE_PATH,
        content=form_body(header(merchant, "201", file_receipt_id=receipt_id)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 200
    records = [r.split(",") for r in response.content.decode("cp932").split("\r\n") if r]
    assert records[0][0] == "1" and records[-1][0] == "4", records
    data = [r[1:] for r in records[1:-1]]
    assert all(r[0] == "3" for r in records[1:-1])
    assert records[-1][1] == str(len(data))
    return ResultFile(response.content, records[0], data, records[-1])


def run_files(runtime: Runtime) -> int:
    """The worker, until no file has a line left to run; returns lines run."""
    total = 0
    while ran := process.run_due(runtime.core):
        total += ran
    return total
