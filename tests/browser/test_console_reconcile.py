"""消し込み and 売掛金 in Chromium, as a merchant's staff use them: the order list uploaded, each
class shown with its count, a filter, the classified list downloaded in both encodings and read
back, the column-mapping step for a header Kessai does not know, and the history reopened."""

from __future__ import annotations

import csv
import io
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from kessai.core.console.permissions import Permission, Role
from kessai.core.reconcile.classes import LABELS, ReconClass
from tests.browser.conftest import sign_in
from tests.support.console import PASSWORD, cvs_payment, make_user
from tests.support.reconcile import every_class
from tests.support.reconcile_pages import expected_counts, expected_ids, with_header

RESULT = re.compile(r".*/console/reconcile/\d+(\?.*)?$")


@pytest.fixture
def admin(runtime, merchant):
    return make_user(runtime, merchant.merchant_id, f"adm{uuid.uuid4().hex[:8]}", role=Role.ADMIN)


def signed_in(page: Page, server: str, user) -> None:
    sign_in(page, server, user.login, user.password, PASSWORD)
    user.password = PASSWORD


def choose_file(page: Page, name: str, body: bytes) -> None:
    page.set_input_files("#orders", files=[{"name": name, "mimeType": "text/csv", "buffer": body}])


def expect_counts(page: Page, counts: dict[ReconClass, int]) -> None:
    for cls, count in counts.items():
        expect(page.locator(f"#total-{cls.value} td.count")).to_have_text(str(count))


def test_upload_shows_every_class_filters_and_downloads(
    page: Page, server, runtime, merchant, admin
):
    orders = every_class(runtime, merchant.merchant_id)
    signed_in(page, server, admin)

    page.click("nav >> text=消し込み")
    choose_file(page, "注文一覧.csv", b"\xef\xbb\xbf" + orders.orders.encode())
    page.click("#upload")
    page.wait_for_url(RESULT)  # through the progress page

    expect(page.locator("#file-name")).to_have_text("注文一覧.csv")
    expect_counts(page, expected_counts())
    page.click(f"#total-{ReconClass.AMOUNT_DIFFERS.value} a")
    expect(page.locator("#count")).to_contain_text(f"{LABELS[ReconClass.AMOUNT_DIFFERS]}：1件")
    rows = page.locator("#rows tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td.trading-id")).to_have_text("D-1")
    expect(rows.first).to_contain_text("-100")  # 900 paid against 1,000 ordered
    page.click(f"#total-{ReconClass.UNPAID.value} a")
    overdue = page.locator("#rows tbody tr", has_text="U-NONE").locator("td.deadline")
    expect(overdue).to_have_text("入金予定 2020-01-31 期限切れ")  # the order's date has passed
    page.click("#all-classes")
    page.select_option("#per-page", "20")
    page.click("#per-page-form button")
    expect(page.locator("#per-page")).to_have_value("20")
    expect(page.locator("#rows tbody tr")).to_have_count(sum(expected_counts().values()))

    for link, codec in (("#csv-sjis", "cp932"), ("#csv-utf8", "utf-8-sig")):
        with page.expect_download() as info:
            page.click(link)
        data = Path(info.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") == (codec == "utf-8-sig")
        table = list(csv.reader(io.StringIO(data.decode(codec), newline="")))
        assert table[0][:4] == ["行番号", "取引ID", "区分", "区分コード"]
        got: dict[ReconClass, list[str]] = {}
        for row in table[1:]:
            assert row[2] == LABELS[ReconClass(row[3])]
            got.setdefault(ReconClass(row[3]), []).append(row[1])
        assert got == expected_ids()


def test_unknown_headers_are_mapped_and_the_history_reopens(
    page: Page, server, runtime, merchant, admin
):
    orders = every_class(runtime, merchant.merchant_id)
    signed_in(page, server, admin)
    page.goto(f"{server}/console/reconcile")

    body = with_header(orders.orders, "伝票番号X,税込,予定,方法").encode("cp932")
    choose_file(page, "sjis.csv", body)
    page.fill("#period-from", "2000-01-01")
    page.click("#upload")
    expect(page.locator("h1")).to_contain_text("列の指定")
    expect(page.locator("main")).to_contain_text("Shift_JIS")
    expect(page.locator("#sample tbody tr").first).to_contain_text("M-1")  # a preview to choose by
    page.select_option("#col-trading_id", "伝票番号X")
    page.select_option("#col-amount", "税込")
    page.click("#map-columns")
    page.wait_for_url(RESULT)

    expect_counts(page, expected_counts())
    expect(page.locator("#recon-summary")).to_contain_text("取引ID「伝票番号X」・金額「税込」")
    expect(page.locator("#recon-summary")).to_contain_text("2000-01-01")
    sha256 = page.locator("#sha256").inner_text()
    result_url = page.url

    page.click("nav >> text=消し込み")
    history = page.locator("#history tbody tr", has_text="sjis.csv")
    expect(history).to_have_count(1)
    expect(history).to_contain_text(admin.login)
    expect(history.locator("td.mono")).to_have_attribute("title", sha256)
    history.locator("a").click()
    assert page.url.split("?")[0] == result_url.split("?")[0]
    expect_counts(page, expected_counts())


def test_a_clerk_with_the_permission_reads_the_receivables(page: Page, server, runtime, merchant):
    cvs_payment(runtime, merchant.merchant_id, "AR-OPEN", 3_210)
    clerk = make_user(
        runtime,
        merchant.merchant_id,
        f"ar{uuid.uuid4().hex[:8]}",
        permissions=frozenset({Permission.VIEW, Permission.RECONCILE}),
    )
    signed_in(page, server, clerk)

    page.click("nav >> text=売掛金")
    expect(page.locator("#issued-total")).to_have_text("1件 3,210円")
    expect(page.locator("#open-payments")).to_contain_text("AR-OPEN")
    expect(page.locator("nav.menu")).not_to_contain_text("支払明細")
    page.click("#due-days >> text=決済を見る")  # the search lists that deadline's unpaid ones
    expect(page.locator("#results")).to_contain_text("AR-OPEN")
