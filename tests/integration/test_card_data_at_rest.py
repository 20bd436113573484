"""PCI: test card numbers never reach the database in the clear, nor any log line (PRODUCT.md §7).

The card numbers go through every path that carries one: authorisation, stored-card registration,
validity check, query-string requests, file payment (200) lines run by the worker, bad requests (wrong credentials, a card number in the wrong
field, an oversized body), then the database file (with its WAL) or a pg_dump and the run's log
are searched for them.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from kessai.app import Runtime
from tests.conftest import test_db_kind
from tests.support.files import run_files
from tests.support.files import submit as submit_file
from tests.support.telegrams import form_body, header, send

PANS = ("4980111122223333", "3580444455556666", "5251777788889999", "4541000011112222")


def _exercise_every_card_path(server: str, merchant) -> None:  # type: ignore[no-untyped-def]
    a, b, c, d = PANS
    send(
        server,
        merchant,
        "020",
        trading_id="P1",
        payment_amount=1200,
        card_number=a,
        card_valid_term="1230",
        card_conf_number="123",
        sales_mode="1",
    )
    send(
        server,
        merchant,
        "025",
        customer_id="PCI",
        card_number=b,
        card_valid_term="1230",
        valid_check_flg="1",
    )
    send(server, merchant, "025", customer_id="PCI", card_number=c, card_valid_term="1230")
    query = form_body(
        header(
            merchant,
            "020",
            trading_id="P2",
            payment_amount=10,
            card_number=d,
            card_valid_term="1230",
        )
    ).decode()
    httpx.post(f"{server}/n/card/request?{query}", content=b"")
    send(
        server, merchant, "020", trading_id="P4", payment_amount=a, card_number=b, card_valid_term=c
    )  # card numbers in fields that refuse them
    send(
        server,
        merchant,
        "020",
        connect_password="wrong",
        trading_id="P3",
        payment_amount=1,
        card_number=c,
        card_valid_term="1230",
    )
    httpx.post(
        server + "/n/card/request",
        content=form_body(header(merchant, "020", card_number=d, card_valid_term="1230"))
        + b"&p="
        + b"x" * 200_000,
    )


def _exercise_file_paths(server: str, merchant, runtime: Runtime) -> None:  # type: ignore[no-untyped-def]
    """File payment (200): lines with card numbers (authorisation, stored-card registration), a
    file refused for a card number in the wrong column, and the worker running them."""
    a, b, c, d = PANS
    columns = "trading_id,payment_amount,card_number,card_valid_term\r\n"
    rows = f"F1,100,{a},1230\r\nF2,200,{b},1230\r\n"
    assert submit_file(server, merchant, "020", columns + rows).result == "0"
    registered = f"customer_id,card_number,card_valid_term\r\nPCIF,{c},1230\r\n"
    assert submit_file(server, merchant, "026", registered).result == "0"
    refused = submit_file(server, merchant, "020", columns + f"F3,{d},{d},1230\r\n")
    assert refused.code == "9101"
    run_files(runtime)


def _database_bytes(runtime: Runtime, tmp_path: Path) -> bytes:
    url = make_url(runtime.settings.resolved_database_url())
    if test_db_kind() == "postgresql":
        dump = tmp_path / "dump.sql"
        subprocess.run(
            [
                "pg_dump",
                "-h",
                url.host or "127.0.0.1",
                "-p",
                str(url.port or 5432),
                "-U",
                url.username or "postgres",
                "-f",
                str(dump),
                url.database or "",
            ],
            check=True,
        )
        return dump.read_bytes()
    db = Path(url.database or "")
    # Read by another process: closing a descriptor of the database in this one would drop the
    # POSIX locks the server's open SQLite connections hold on it, and a later process would then
    # delete the WAL they still write to.
    files = sorted(str(p) for p in db.parent.glob(db.name + "*"))
    return subprocess.run(["cat", *files], check=True, capture_output=True).stdout


def test_card_numbers_are_nowhere_in_the_clear(server, merchant, runtime, log_file, tmp_path):
    _exercise_every_card_path(server, merchant)
    _exercise_file_paths(server, merchant, runtime)
    stored = _database_bytes(runtime, tmp_path)
    logs = log_file.read_bytes()
    assert b"************3333" in stored  # the masks are there, so the search reads real data
    for pan in PANS:
        for haystack, where in ((stored, "database"), (logs, "logs")):
            assert pan.encode() not in haystack, f"card number in the {where}"
            assert pan.encode("utf-16-le") not in haystack, f"card number in the {where}"
