"""The console's 消し込み page over HTTP: an upload runs on a background thread and the progress
page leads to the result; unknown headers go through the column-mapping step; the upload is kept
server-side between the steps and removed after the run; another merchant's reconciliation, and
another user's run or upload, read like ones that do not exist."""

from __future__ import annotations

import csv
import io
import re
import threading
import uuid

import pytest
from sqlalchemy import func, select

from kessai.core.console.audit import AuditFilter, list_entries
from kessai.core.console.permissions import Permission, Role
from kessai.core.reconcile import views
from kessai.core.reconcile.classes import ReconClass
from kessai.core.reconcile.models import Reconciliation
from tests.conftest import make_merchant
from tests.support.console import make_user, signed_in
from tests.support.reconcile import every_class
from tests.support.reconcile_pages import (
    expected_counts,
    expected_ids,
    finished,
    upload,
    with_header,
)


def _login() -> str:
    return f"rc{uuid.uuid4().hex[:10]}"


@pytest.fixture
def admin(runtime, merchant):
    return make_user(runtime, merchant.merchant_id, _login(), role=Role.ADMIN)


def _counts(html: str) -> dict[ReconClass, int]:
    found = {}
    for cls in ReconClass:
        match = re.search(
            rf'id="total-{cls.value}".*?<td class="num count">([\d,]+)</td>', html, re.S
        )
        assert match, cls
        found[cls] = int(match.group(1).replace(",", ""))
    return found


def _written(runtime, merchant_id: int, path: str, codec: str) -> bytes:
    """The list as the core writes it in one go (what `kessai reconcile` users get)."""
    reconciliation_id = int(path.split("/")[3])
    out = io.BytesIO()
    with runtime.core.sessions() as session:
        found = views.iter_rows(
            session, merchant_id=merchant_id, reconciliation_id=reconciliation_id, cls=None
        )
        views.write_csv(found, out, codec)
    return out.getvalue()


def _uploads(runtime) -> list[str]:
    directory = runtime.settings.var_dir / "reconcile-uploads"
    return sorted(p.name for p in directory.iterdir()) if directory.is_dir() else []


def test_an_upload_with_known_headers_runs_and_shows_every_class(runtime, server, merchant, admin):
    orders = every_class(runtime, merchant.merchant_id)
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    before = _uploads(runtime)

    body = b"\xef\xbb\xbf" + orders.orders.encode()
    result = finished(client, upload(client, body, name="注文.csv"))

    assert result.status_code == 200, result.text[:800]
    assert _counts(result.text) == expected_counts()
    assert "注文.csv" in result.text
    for cls, trading_ids in expected_ids().items():
        page = client.get(result.url.path, cls=cls.value)
        shown = re.findall(r'<td class="trading-id">([^<]*)</td>', page.text)
        assert shown == trading_ids, cls  # that class's rows only
    assert _uploads(runtime) == before  # the file is gone once the run ended


def test_unknown_headers_go_through_the_column_mapping_step(runtime, server, merchant, admin):
    orders = every_class(runtime, merchant.merchant_id)
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    body = with_header(orders.orders, "伝票,税込,予定,方法").encode("cp932")

    mapping = upload(client, body, name="sjis.csv")

    assert mapping.status_code == 200
    assert '<option value="伝票"' in mapping.text and '<option value="税込"' in mapping.text
    token = re.search(r'name="token" value="([0-9a-f]{32})"', mapping.text).group(1)
    fields = {"token": token, "file_name": "sjis.csv"}
    same = client.post(
        "/console/reconcile/columns", {**fields, "trading_id": "伝票", "amount": "伝票"}
    )
    assert same.status_code == 400 and "同じ列を二つの項目に選ぶことはできません" in same.text
    started = client.post(
        "/console/reconcile/columns", {**fields, "trading_id": "伝票", "amount": "税込"}
    )
    result = finished(client, started)

    assert _counts(result.text) == expected_counts()
    assert "取引ID「伝票」・金額「税込」" in result.text
    again = client.post(
        "/console/reconcile/columns", {**fields, "trading_id": "伝票", "amount": "税込"}
    )
    assert again.status_code == 404  # the upload was removed after its run


def test_a_bad_line_shows_its_error_and_stores_nothing(runtime, server, merchant, admin):
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    with runtime.core.sessions() as session:
        kept = session.scalar(select(func.count()).select_from(Reconciliation))

    page = finished(client, upload(client, "取引ID,金額\r\nA-1,100\r\nA-2,百円\r\n".encode()))

    assert 'id="job-error"' in page.text
    with runtime.core.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Reconciliation)) == kept
        _total, logged = list_entries(
            session, merchant.merchant_id, AuditFilter(action="reconcile_run"), offset=0, limit=9
        )
    assert [(e.result, e.login) for e in logged] == [("failed", admin.login)]
    assert "3行目「金額」" in page.text  # the line and the column, for people


def test_the_download_is_the_classified_list_in_both_encodings(
    runtime, server, merchant, admin, monkeypatch
):
    from kessai.web.console.pages import reconcile as page_module

    monkeypatch.setattr(page_module, "DOWNLOAD_BATCH", 4)  # several batches, one header
    orders = every_class(runtime, merchant.merchant_id)
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    result = finished(client, upload(client, orders.orders.encode()))
    path = re.search(r'href="(/console/reconcile/\d+/result\.csv)\?encoding=cp932', result.text)

    for name, codec in (("cp932", "cp932"), ("utf-8", "utf-8-sig")):
        got = client.get(path.group(1), encoding=name)
        assert got.status_code == 200 and "attachment" in got.headers["content-disposition"]
        assert got.content.startswith(b"\xef\xbb\xbf") == (codec == "utf-8-sig")
        assert got.content == _written(runtime, merchant.merchant_id, path.group(1), codec)
        rows = list(csv.reader(io.StringIO(got.content.decode(codec), newline="")))
        assert rows[0][:3] == ["行番号", "取引ID", "区分"]
        classes = [ReconClass(row[3]) for row in rows[1:]]
        assert {cls: classes.count(cls) for cls in ReconClass} == expected_counts()
    unpaid = client.get(path.group(1), encoding="utf-8", cls="unpaid")
    lines = unpaid.content.decode("utf-8-sig").split("\r\n")
    assert [line.split(",")[1] for line in lines[1:] if line] == ["U-CVS", "U-NONE"]


def test_another_merchants_reconciliation_and_another_users_run_read_as_missing(
    runtime, server, merchant, admin
):
    stranger = make_merchant(runtime)
    theirs_admin = make_user(runtime, stranger.merchant_id, _login(), role=Role.ADMIN)
    theirs = signed_in(server, theirs_admin)
    theirs.get("/console/reconcile")
    started = upload(theirs, "取引ID,金額\r\nT-1,100\r\n".encode())
    job_path = started.headers["location"]
    their_result = finished(theirs, started).text
    their_id = re.search(r"番号 (\d+)", their_result).group(1)
    mapping = upload(theirs, "伝票,税込\r\nT-1,100\r\n".encode())
    token = re.search(r'name="token" value="([0-9a-f]{32})"', mapping.text).group(1)
    client = signed_in(server, admin)
    client.get("/console/reconcile")

    assert client.get(f"/console/reconcile/{their_id}").status_code == 404
    assert client.get(f"/console/reconcile/{their_id}/result.csv").status_code == 404
    assert client.get(f"/console/reconcile/{999_999_999}").status_code == 404
    assert client.get(job_path).status_code == 404
    stolen = client.post(
        "/console/reconcile/columns", {"token": token, "trading_id": "伝票", "amount": "税込"}
    )
    assert stolen.status_code == 404
    assert f'href="/console/reconcile/{their_id}"' not in client.get("/console/reconcile").text


def test_a_general_user_needs_the_reconcile_permission(runtime, server, merchant):
    granted = make_user(
        runtime, merchant.merchant_id, _login(), permissions=frozenset({Permission.RECONCILE})
    )
    viewer = make_user(
        runtime, merchant.merchant_id, _login(), permissions=frozenset({Permission.VIEW})
    )
    clerk = signed_in(server, granted)
    other = signed_in(server, viewer)

    assert clerk.get("/console/reconcile").status_code == 200
    assert 'href="/console/reconcile"' in clerk.get("/console/reconcile").text
    refused = upload(other, "取引ID,金額\r\nX,1\r\n".encode())
    assert refused.status_code == 403
    assert 'href="/console/reconcile"' not in other.get("/console/dashboard").text


def test_the_progress_page_shows_rows_read_and_refreshes_itself(
    runtime, server, merchant, admin, monkeypatch
):
    from kessai.web.console.pages import reconcile as page_module

    real, reading, go = page_module.reconcile, threading.Event(), threading.Event()

    def slow(session, **kwargs):
        kwargs["progress"](12_345)
        reading.set()
        go.wait(30)
        return real(session, **kwargs)

    monkeypatch.setattr(page_module, "reconcile", slow)
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    started = upload(client, "取引ID,金額\r\nP-1,100\r\n".encode())
    assert reading.wait(10)

    running = client.get(started.headers["location"])
    busy = upload(client, "取引ID,金額\r\nP-2,100\r\n".encode())
    go.set()
    result = finished(client, started)

    assert running.status_code == 200
    assert '<meta http-equiv="refresh" content="2">' in running.text
    assert 'id="rows-read">12,345</span>行を読みました' in running.text
    assert busy.status_code == 400 and "実行中の消し込みがあります" in busy.text
    assert result.status_code == 200 and 'id="total-unpaid"' in result.text


def test_an_upload_without_the_forms_token_is_refused_and_keeps_nothing(
    runtime, server, merchant, admin
):
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    before = _uploads(runtime)
    client.csrf = "forged"

    refused = upload(client, "取引ID,金額\r\nX-1,100\r\n".encode())

    assert refused.status_code == 403
    assert _uploads(runtime) == before


def test_an_empty_file_is_refused_on_the_page_and_not_kept(runtime, server, merchant, admin):
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    before = _uploads(runtime)

    refused = upload(client, b"", name="empty.csv")

    assert refused.status_code == 400 and "ファイルが空です" in refused.text
    assert 'id="upload-form"' in refused.text  # the form again, to choose another file
    assert _uploads(runtime) == before


def test_the_rows_come_in_pages_in_the_order_of_the_file(runtime, server, merchant, admin):
    client = signed_in(server, admin)
    client.get("/console/reconcile")
    lines = "".join(f"PG-{n:03d},{100 + n}\r\n" for n in range(45))
    result = finished(client, upload(client, ("取引ID,金額\r\n" + lines).encode()))

    second = client.get(result.url.path, cls="unpaid", per_page="20", page="2")

    shown = re.findall(r'<td class="trading-id">([^<]*)</td>', second.text)
    assert shown == [f"PG-{n:03d}" for n in range(20, 40)]
    assert "未入金（売掛金）：45件中 21〜40件を表示" in second.text
    assert 'rel="prev"' in second.text and 'rel="next"' in second.text
    assert "（全3ページ）" in second.text
