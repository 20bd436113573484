"""ファイル決済 in Chromium, as a merchant's staff use it: a file uploaded, its progress followed
while the worker runs it (here run by hand, a chunk at a time), the result file downloaded and read
as 201's; a malformed file refused with its line number and nothing stored; a cancel mid-file
leaving the lines not yet run unrun; the card processing permission; another merchant's files."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.core.console.audit import AuditFilter, list_entries
from kessai.core.console.permissions import Permission, Role
from kessai.core.context import MerchantRef
from kessai.core.files import commands, process
from kessai.core.files.models import PaymentFile, PaymentFileLine
from kessai.core.merchants.commands import NewMerchant, get_merchant
from kessai.core.payments.models import Payment
from tests.browser.conftest import sign_in
from tests.conftest import make_merchant
from tests.support.console import PASSWORD, make_user
from tests.support.files import run_files

OK = "4900000000000000"
DECLINED = "4900000000008101"  # 2002 1C01
FILE_PAGE = re.compile(r".*/console/files/[1-9]\d{8}$")


@pytest.fixture(autouse=True)
def idle_worker(runtime):
    """No file of an earlier test left to run: the lines run here by hand are this test's; and
    none of this test's left for a later one's worker."""
    run_files(runtime)
    yield
    run_files(runtime)


@pytest.fixture
def admin(runtime, merchant):
    return make_user(runtime, merchant.merchant_id, f"adm{uuid.uuid4().hex[:8]}", role=Role.ADMIN)


def signed_in(page: Page, server: str, user) -> None:
    sign_in(page, server, user.login, user.password, PASSWORD)
    user.password = PASSWORD


def auth_file(prefix: str, *cards: str) -> bytes:
    lines = ["trading_id,payment_amount,card_number,card_valid_term"]
    lines += [f"{prefix}{n},{1000 + n},{card},1230" for n, card in enumerate(cards, start=1)]
    return ("\r\n".join(lines) + "\r\n").encode("cp932")


def upload(page: Page, server: str, file_type: str, body: bytes, *, duplicate_check=False) -> None:
    page.goto(f"{server}/console/files")
    page.select_option("#file-type", file_type)
    page.set_input_files(
        "#file", files=[{"name": "月次.csv", "mimeType": "text/csv", "buffer": body}]
    )
    if duplicate_check:
        page.check("#duplicate-check")
    page.click("#upload")


def run_lines(runtime: Runtime, count: int) -> int:
    """The worker's steps for one chunk of `count` lines (a slow worker, stopped after it)."""
    chunk = process.claim_chunk(runtime.core, size=count)
    assert chunk is not None
    return process.run_chunk(runtime.core, chunk)


def trading_ids(runtime: Runtime, merchant: NewMerchant) -> list[str]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Payment.trading_id)
                .where(Payment.merchant_id == merchant.merchant_id)
                .order_by(Payment.trading_id)
            )
        )


def records(data: bytes) -> list[list[str]]:
    """The result file as PAYGENT's modules read it: CRLF records, unquoted commas."""
    return [r.split(",") for r in data.decode("cp932").split("\r\n") if r]


def audited(runtime: Runtime, merchant: NewMerchant, action: str) -> list[tuple[str, str]]:
    with runtime.core.sessions() as session:
        _total, entries = list_entries(
            session, merchant.merchant_id, AuditFilter(action=action), offset=0, limit=20
        )
    return [(e.result, e.target) for e in entries]


def test_upload_follow_the_progress_and_download_the_result(
    page: Page, server, runtime, merchant, admin
):
    signed_in(page, server, admin)
    page.click("nav >> text=ファイル決済")
    expect(page.locator("#file-type option[value='024']")).to_have_count(1)  # 洗替 is offered
    upload(page, server, "020", auth_file("FP", OK, DECLINED, OK))
    page.wait_for_url(FILE_PAGE)
    receipt_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("#status")).to_have_text("受付済（順番待ち）")
    expect(page.locator("#done-lines")).to_have_text("0")
    expect(page.locator("#total-lines")).to_have_text("3")
    expect(page.locator("#download")).to_have_count(0)  # no result while it runs

    assert run_lines(runtime, 2) == 2
    # The page polls: the counts move without a reload, the cancel button still there.
    expect(page.locator("#done-lines")).to_have_text("2", timeout=10_000)
    expect(page.locator("#error-lines")).to_have_text("1")
    expect(page.locator("#status")).to_have_text("処理中")
    expect(page.locator("#rate")).not_to_have_text("0.0")
    expect(page.locator("#cancel")).to_be_visible()

    run_files(runtime)
    expect(page.locator("#download")).to_be_visible(timeout=10_000)  # reloaded when it ended
    expect(page.locator("#status")).to_have_text("完了")
    expect(page.locator("#done-lines")).to_have_text("3")
    expect(page.locator("#cancel")).to_have_count(0)
    with page.expect_download() as info:
        page.click("#download")
    found = records(Path(info.value.path()).read_bytes())
    assert found[0][:3] == ["1", receipt_id, "020"] and found[0][6] == "0"
    assert [(r[1], r[2], r[3], r[6]) for r in found[1:-1]] == [
        ("2", "0", "", "FP1"),
        ("3", "1", "2002", "FP2"),
        ("4", "0", "", "FP3"),
    ]
    assert found[-1] == ["4", "3"]

    page.click("text=← ファイル決済へ")
    row = page.locator(f"#file-{receipt_id}")
    expect(row.locator(".status")).to_have_text("完了")
    expect(row.locator(".lines")).to_have_text("3／3")
    expect(row.locator(".errors")).to_have_text("1")
    assert audited(runtime, merchant, "file_upload") == [("ok", f"file:{receipt_id}")]


@pytest.mark.http_errors(400)
def test_a_malformed_file_is_refused_with_its_line_and_nothing_is_stored(
    page: Page, server, runtime, merchant, admin
):
    signed_in(page, server, admin)
    body = auth_file("BAD", OK, OK).replace(b"BAD2,1002,", b"BAD2,12x,")
    upload(page, server, "020", body)

    expect(page.locator("#error")).to_contain_text("3行目")
    expect(page.locator("#error")).to_contain_text("payment_amount")
    expect(page.locator("#file-type")).to_have_value("020")  # the form keeps its choice
    expect(page.locator("#files tbody")).to_contain_text("ファイルはまだありません")
    with runtime.core.sessions() as session:
        stored = session.scalar(
            select(func.count(PaymentFile.id)).where(
                PaymentFile.merchant_id == merchant.merchant_id
            )
        )
    assert stored == 0
    assert run_files(runtime) == 0 and trading_ids(runtime, merchant) == []
    assert [r for r, _ in audited(runtime, merchant, "file_upload")] == ["failed"]


@pytest.mark.http_errors(400)
def test_duplicate_check_refuses_the_same_file_within_a_day(
    page: Page, server, runtime, merchant, admin
):
    signed_in(page, server, admin)
    body = auth_file("DUP", OK)
    upload(page, server, "020", body, duplicate_check=True)
    page.wait_for_url(FILE_PAGE)

    upload(page, server, "020", body, duplicate_check=True)
    expect(page.locator("#error")).to_have_text("同じファイルが24時間以内に受け付けられています。")
    upload(page, server, "020", body)  # without the check, the same bytes are a new file
    page.wait_for_url(FILE_PAGE)
    page.goto(f"{server}/console/files")
    expect(page.locator("#files tbody tr")).to_have_count(2)


def test_cancel_mid_file_leaves_the_lines_not_yet_run_unrun(
    page: Page, server, runtime, merchant, admin
):
    signed_in(page, server, admin)
    upload(page, server, "020", auth_file("CX", OK, OK, OK, OK, OK))
    page.wait_for_url(FILE_PAGE)
    receipt_id = page.url.rsplit("/", 1)[1]
    run_lines(runtime, 2)
    expect(page.locator("#done-lines")).to_have_text("2", timeout=10_000)

    page.click("#cancel")  # the confirmation is accepted (conftest)
    expect(page.locator("#status")).to_have_text("取消済")
    expect(page.locator("#cancelled")).to_be_visible()
    expect(page.locator("#done-lines")).to_have_text("2")
    assert run_files(runtime) == 0  # the worker finds nothing left to run
    assert trading_ids(runtime, merchant) == ["CX1", "CX2"]
    with runtime.core.sessions() as session:
        statuses = session.scalars(
            select(PaymentFileLine.status)
            .join(PaymentFile, PaymentFile.id == PaymentFileLine.file_id)
            .where(PaymentFile.receipt_id == receipt_id)
            .order_by(PaymentFileLine.line_no)
        )
        assert list(statuses) == ["done", "done", "cancelled", "cancelled", "cancelled"]

    with page.expect_download() as info:
        page.click("#download")
    found = records(Path(info.value.path()).read_bytes())
    assert [(r[1], r[2], r[3]) for r in found[1:-1]] == [
        ("2", "0", ""),
        ("3", "0", ""),
        ("4", "1", "9105"),
        ("5", "1", "9105"),
        ("6", "1", "9105"),
    ]
    assert audited(runtime, merchant, "file_cancel") == [("ok", f"file:{receipt_id}")]


@pytest.mark.http_errors(403)
def test_without_card_processing_there_is_no_link_and_every_page_answers_403(
    page: Page, server, runtime, merchant
):
    theirs = _submitted(runtime, merchant, "NOPERM")
    clerk = make_user(
        runtime,
        merchant.merchant_id,
        f"clerk{uuid.uuid4().hex[:8]}",
        permissions=frozenset(Permission) - {Permission.CARD},
    )
    signed_in(page, server, clerk)

    expect(page.locator("nav.menu")).not_to_contain_text("ファイル決済")
    for path in ("", f"/{theirs}", f"/{theirs}/progress.json", f"/{theirs}/result.csv"):
        response = page.goto(f"{server}/console/files{path}")
        assert response is not None and response.status == 403, path
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")
    cancelled = page.request.post(
        f"{server}/console/files/{theirs}/cancel", form={"csrf_token": token or ""}
    )
    assert cancelled.status == 403
    assert commands.show(runtime.core, None, theirs).status == "queued"
    assert _pending(runtime, theirs) == 2


@pytest.mark.http_errors(404)
def test_another_merchants_file_reads_as_no_file(page: Page, server, runtime, merchant, admin):
    stranger = make_merchant(runtime)
    theirs = _submitted(runtime, stranger, "THEIRS")
    signed_in(page, server, admin)

    page.goto(f"{server}/console/files")
    expect(page.locator("#files")).not_to_contain_text(theirs)
    for path in (f"/{theirs}", f"/{theirs}/progress.json", f"/{theirs}/result.csv"):
        response = page.goto(f"{server}/console/files{path}")
        assert response is not None and response.status == 404, path
    page.goto(f"{server}/console/files")
    token = page.locator("#upload-form input[name=csrf_token]").get_attribute("value")
    cancelled = page.request.post(
        f"{server}/console/files/{theirs}/cancel", form={"csrf_token": token or ""}
    )
    assert cancelled.status == 404
    assert commands.show(runtime.core, None, theirs).status == "queued"  # untouched
    assert _pending(runtime, theirs) == 2


def _submitted(runtime: Runtime, merchant: NewMerchant, prefix: str) -> str:
    with runtime.core.sessions() as session:
        ref = MerchantRef.of(get_merchant(session, merchant.merchant_id))
    return commands.submit(
        runtime.core, ref, "020", auth_file(prefix, OK, OK), duplicate_check=False
    )


def _pending(runtime: Runtime, receipt_id: str) -> int:
    with runtime.core.sessions() as session:
        return int(
            session.scalar(
                select(func.count(PaymentFileLine.id))
                .join(PaymentFile, PaymentFile.id == PaymentFileLine.file_id)
                .where(PaymentFile.receipt_id == receipt_id, PaymentFileLine.status == "pending")
            )
            or 0
        )
