"""Payout statements (支払明細) in the console: the list, the detail, the PDF and the detail CSV (the
same bytes `kessai settle csv` writes), the statement of each payment on the payments pages, the
`statements` permission, and another merchant's statement reading exactly like a missing one."""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from kessai.core.console.audit import AuditFilter, list_entries
from kessai.core.console.permissions import Permission, Role
from kessai.core.statements.detail import detail_csv
from kessai.core.statements.models import Statement
from kessai.web.console.pages import statements as statement_pages
from tests.conftest import make_merchant
from tests.support.console import ConsoleClient, card_payment, make_user, signed_in
from tests.support.statements import Closed, closed_statement


def _login() -> str:
    return f"st{uuid.uuid4().hex[:10]}"


@pytest.fixture
def closed(runtime, merchant) -> Closed:
    trading_id = f"ST{uuid.uuid4().hex[:12].upper()}"
    return closed_statement(runtime, merchant.merchant_id, trading_id, 12_345)


def _urls(statement_id: int) -> list[str]:
    one = f"/console/statements/{statement_id}"
    return [one, f"{one}/statement.pdf", f"{one}/detail.csv?encoding=cp932", f"{one}/detail.csv"]


def test_an_admin_reads_the_statement_and_downloads_its_pdf_and_csv(
    runtime, server, merchant, closed
):
    admin = make_user(runtime, merchant.merchant_id, _login(), role=Role.ADMIN)
    client = signed_in(server, admin)
    listed = client.get("/console/statements")
    assert listed.status_code == 200
    assert f'href="/console/statements/{closed.statement_id}"' in listed.text
    assert closed.payout_date in listed.text
    shown = client.get(f"/console/statements/{closed.statement_id}")
    assert shown.status_code == 200
    assert closed.trading_id in shown.text and "12,345円" in shown.text
    pdf = client.get(f"/console/statements/{closed.statement_id}/statement.pdf")
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    with runtime.core.sessions() as session:
        statement = session.get(Statement, closed.statement_id)
        expected = {enc: detail_csv(session, statement, encoding=enc) for enc in ("cp932", "utf-8")}
    for encoding, body in expected.items():
        got = client.get(
            f"/console/statements/{closed.statement_id}/detail.csv?encoding={encoding}"
        )
        assert got.status_code == 200 and got.content == body, encoding
        assert "attachment" in got.headers["content-disposition"]
    assert expected["utf-8"].startswith(b"\xef\xbb\xbf")
    assert closed.trading_id in expected["cp932"].decode("cp932")
    with runtime.core.sessions() as session:
        _total, entries = list_entries(
            session, merchant.merchant_id, AuditFilter(login=admin.login), offset=0, limit=50
        )
    logged = {(e.action, e.target) for e in entries}
    target = f"statement:{closed.statement_id}"
    for action in ("statement", "statement_pdf", "statement_csv"):
        assert (action, target) in logged, action
    assert ("statements", "") in logged


def test_a_payment_found_by_trading_id_shows_its_statement_and_payout_date(
    runtime, server, merchant, closed
):
    admin = make_user(runtime, merchant.merchant_id, _login(), role=Role.ADMIN)
    client = signed_in(server, admin)
    found = client.get("/console/payments", trading_id=closed.trading_id, created_from="")
    link = f'<a href="/console/statements/{closed.statement_id}">{closed.statement_id}</a>'
    assert f"{link}（{closed.payout_date}）" in found.text
    detail = client.get(f"/console/payments/{closed.payment_id}")
    assert re.search(
        rf'id="statements">.*明細番号 {closed.statement_id}</a>（お支払日 {closed.payout_date}）',
        detail.text,
    )


def test_the_statements_permission_is_needed_and_shown_on_the_user_pages(
    runtime, server, merchant, closed
):
    viewer = make_user(runtime, merchant.merchant_id, _login())  # 照会 only
    client = signed_in(server, viewer)
    for url in ["/console/statements", *_urls(closed.statement_id)]:
        assert client.get(url).status_code == 403, url
    detail = client.get(f"/console/payments/{closed.payment_id}").text
    assert 'id="statements"' not in detail and "支払明細" not in detail
    granted = make_user(
        runtime,
        merchant.merchant_id,
        _login(),
        permissions=frozenset({Permission.STATEMENTS}),
    )
    other = signed_in(server, granted)
    assert other.get(f"/console/statements/{closed.statement_id}").status_code == 200
    assert other.get(f"/console/payments/{closed.payment_id}").status_code == 403
    admin = signed_in(server, make_user(runtime, merchant.merchant_id, _login(), role=Role.ADMIN))
    form = admin.get("/console/users/new").text
    assert 'value="statements"' in form and "支払明細（照会・PDF・明細CSV）" in form


def test_another_merchants_statement_reads_like_one_that_does_not_exist(runtime, server, closed):
    b = make_merchant(runtime)
    attacker: ConsoleClient = signed_in(
        server, make_user(runtime, b.merchant_id, _login(), role=Role.ADMIN)
    )
    with runtime.core.sessions() as session:
        missing = (session.scalar(select(func.max(Statement.id))) or 0) + 100_000
    ids = re.compile(rf"(?<![0-9])({closed.statement_id}|{missing})(?![0-9])")
    for theirs_url, missing_url in zip(_urls(closed.statement_id), _urls(missing), strict=True):
        shown, absent = attacker.get(theirs_url), attacker.get(missing_url)
        assert shown.status_code == absent.status_code == 404, theirs_url
        assert closed.trading_id not in shown.text
        assert ids.sub("<ID>", shown.text) == ids.sub("<ID>", absent.text), theirs_url
    listed = attacker.get("/console/statements").text
    assert f"/console/statements/{closed.statement_id}" not in listed


def test_the_statement_page_shows_its_payments_page_by_page_and_the_csv_has_them_all(
    runtime, server, merchant, monkeypatch
):
    monkeypatch.setattr(statement_pages, "PAYMENTS_PER_PAGE", 2)
    trading_ids = [f"PG{uuid.uuid4().hex[:10].upper()}" for _ in range(4)]
    for n, trading_id in enumerate(trading_ids):
        card_payment(runtime, merchant.merchant_id, trading_id, 1_000 + n, capture=True)
    last = closed_statement(runtime, merchant.merchant_id, f"PG{uuid.uuid4().hex[:10]}", 2_000)
    trading_ids.append(last.trading_id)  # five payments, in payment id order
    admin = make_user(runtime, merchant.merchant_id, _login(), role=Role.ADMIN)
    client = signed_in(server, admin)
    url = f"/console/statements/{last.statement_id}"
    pages = [client.get(url if n == 1 else f"{url}?page={n}").text for n in (1, 2, 3)]
    for n, text in enumerate(pages):
        shown = [t for t in trading_ids if t in text]
        assert shown == trading_ids[2 * n : 2 * n + 2], n
        assert "（全3ページ）" in text
    assert "5件中 1〜2件目を表示" in pages[0] and "5件中 5〜5件目を表示" in pages[2]
    assert f'href="{url}?page=2" rel="next"' in pages[0]
    assert f'href="{url}?page=2" rel="prev"' in pages[2]
    beyond = client.get(f"{url}?page=9")
    assert beyond.status_code == 200 and not any(t in beyond.text for t in trading_ids)
    csv_text = client.get(f"{url}/detail.csv?encoding=utf-8").content.decode("utf-8-sig")
    assert all(t in csv_text for t in trading_ids)
