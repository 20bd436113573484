"""Reading a Zengin 総合振込 file back, field by field, as a bank's intake would (for the tests).

Written from the association's layout, not from the writer: each record is cut at the published
column widths and every field decoded from Shift_JIS on its own.
"""

from __future__ import annotations

HEADER = [
    ("data_kind", 1),
    ("type_code", 2),
    ("code_kind", 1),
    ("requester_code", 10),
    ("requester_name", 40),
    ("transfer_date", 4),
    ("bank_code", 4),
    ("bank_name", 15),
    ("branch_code", 3),
    ("branch_name", 15),
    ("account_type", 1),
    ("account_number", 7),
    ("dummy", 17),
]
DATA = [
    ("data_kind", 1),
    ("bank_code", 4),
    ("bank_name", 15),
    ("branch_code", 3),
    ("branch_name", 15),
    ("clearing_house", 4),
    ("account_type", 1),
    ("account_number", 7),
    ("holder", 30),
    ("amount", 10),
    ("new_code", 1),
    ("customer_code_1", 10),
    ("customer_code_2", 10),
    ("transfer_type", 1),
    ("edi_flag", 1),
    ("dummy", 7),
]
TRAILER = [("data_kind", 1), ("count", 6), ("total", 12), ("dummy", 101)]
END = [("data_kind", 1), ("dummy", 119)]
LAYOUTS = {b"1": HEADER, b"2": DATA, b"8": TRAILER, b"9": END}


def records(content: bytes, *, line_breaks: bool = True) -> list[bytes]:
    """The file's 120-byte records (every one checked to be 120 bytes)."""
    if line_breaks:
        assert content.endswith(b"\r\n")
        parts = content[:-2].split(b"\r\n")
    else:
        assert len(content) % 120 == 0
        parts = [content[i : i + 120] for i in range(0, len(content), 120)]
    assert all(len(part) == 120 for part in parts), [len(p) for p in parts]
    return parts


def parse(content: bytes, *, line_breaks: bool = True) -> list[dict[str, str]]:
    """Every record as {field: text}, the text decoded from cp932 field by field."""
    parsed = []
    for record in records(content, line_breaks=line_breaks):
        layout = LAYOUTS[record[:1]]
        assert sum(width for _, width in layout) == 120
        fields, at = {}, 0
        for name, width in layout:
            fields[name] = record[at : at + width].decode("cp932")
            at += width
        parsed.append(fields)
    return parsed
