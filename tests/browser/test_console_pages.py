"""The console as staff use it, in Chromium: search, detail, bulk capture, CSV download, the
dashboard, user management, certificates, payout statements (支払明細) and their downloads."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import pkcs12
from playwright.sync_api import Page, expect

from kessai.core.console.permissions import Role
from kessai.kit.clock import JST
from tests.browser.conftest import sign_in
from tests.support.console import PASSWORD, card_payment, cvs_payment, make_user
from tests.support.statements import closed_statement


@pytest.fixture
def admin(runtime, merchant):
    return make_user(runtime, merchant.merchant_id, f"adm{uuid.uuid4().hex[:8]}", role=Role.ADMIN)


def signed_in(page: Page, server: str, user) -> None:
    sign_in(page, server, user.login, user.password, PASSWORD)
    user.password = PASSWORD


def test_search_then_detail(page: Page, server, runtime, merchant, admin):
    m = merchant.merchant_id
    cheap = card_payment(runtime, m, "WEB-001", 800, card="4111111111111111")
    card_payment(runtime, m, "WEB-002", 5000, capture=True)
    cvs_payment(runtime, m, "WEB-003", 2500)
    card_payment(runtime, m, "OTHER-1", 100)
    signed_in(page, server, admin)

    page.click("nav >> text=決済検索")
    page.fill("input[name=trading_id]", "WEB-")
    page.check("input[name=trading_match][value=prefix]")
    page.select_option("#status", ["20", "40", "10"])
    page.click("#search-button")
    expect(page.locator("#count")).to_have_text("3件中 1〜3件を表示")

    page.click("th >> text=決済金額")  # sort by amount, then the other way
    page.click("th >> text=決済金額")
    amounts = page.locator("#results tbody tr td.amount").all_inner_texts()
    assert amounts == ["800円", "2,500円", "5,000円"]

    page.click(f'#results a[href="/console/payments/{cheap}"]')
    expect(page.locator("h1")).to_contain_text(f"決済ID {cheap}")
    expect(page.locator("#card")).to_have_text("411111******1111")
    expect(page.locator("#events")).to_contain_text("オーソリOK")
    assert "4111111111111111" not in page.content()


def test_bulk_capture_with_select_all_and_clear_all(page: Page, server, runtime, merchant, admin):
    ids = [card_payment(runtime, merchant.merchant_id, f"BULKWEB{n}") for n in range(3)]
    signed_in(page, server, admin)
    page.goto(f"{server}/console/payments?trading_id=BULKWEB&trading_match=prefix&created_from=")

    page.click("#select-all")
    assert page.locator("#results input[name=payment_id]:checked").count() == 3
    page.click("#clear-all")
    assert page.locator("#results input[name=payment_id]:checked").count() == 0
    page.click("#select-all")
    page.select_option("#bulk-action", "capture")
    page.click("#bulk-submit")  # a confirm() dialog: accepted by the fixture

    expect(page.locator("#summary")).to_have_text("成功 3件 ・ 失敗 0件")
    rows = page.locator("#bulk-results tbody tr")
    assert rows.count() == 3
    for payment_id in ids:
        expect(page.locator("#bulk-results")).to_contain_text(str(payment_id))
    expect(page.locator("#bulk-results")).to_contain_text("消込済")

    page.reload()  # the browser sends the same form again: nothing is done twice
    expect(page.locator("#repeated")).to_be_visible()
    expect(page.locator("#summary")).to_have_text("成功 3件 ・ 失敗 0件")


def test_csv_download_opens_as_shift_jis(page: Page, server, runtime, merchant, admin):
    card_payment(runtime, merchant.merchant_id, "CSV-1", 1234)
    cvs_payment(runtime, merchant.merchant_id, "CSV-2", 5678)
    signed_in(page, server, admin)
    page.goto(f"{server}/console/payments?trading_id=CSV-&trading_match=prefix&created_from=")

    with page.expect_download() as info:
        page.click("#csv-sjis")
    download = info.value
    data = Path(download.path()).read_bytes()

    assert re.fullmatch(r"payments_\d{14}\.csv", download.suggested_filename)
    text = data.decode("cp932")
    lines = text.split("\r\n")
    assert lines[0].startswith(
        "取引ID,決済ID,決済種別,支払機関名,決済ステータス,取引日時,支払期限日,消込日時,決済金額"
    )
    assert any(
        line.startswith("CSV-2,") and "コンビニ決済（番号方式）" in line and "ローソン" in line
        for line in lines
    )
    assert any(line.startswith("CSV-1,") and "************0000" in line for line in lines)


def test_dashboard_totals_and_daily_chart(page: Page, server, runtime, merchant, admin, clock):
    m = merchant.merchant_id
    card_payment(runtime, m, "DASH-1", 10000, capture=True)
    cvs_payment(runtime, m, "DASH-2", 3000)
    clock.advance(timedelta(days=1))
    card_payment(runtime, m, "DASH-3", 7000, capture=True)
    signed_in(page, server, admin)

    today = page.locator("section.card", has_text="本日の取引")
    expect(today).to_contain_text("クレジットカード決済")
    expect(today).to_contain_text("7,000円")
    month = page.locator("section.card", has_text="今月の取引")
    first_of_month = clock.now().astimezone(JST).day == 1  # yesterday was last month
    expect(month.locator("tfoot th").nth(1)).to_have_text("1" if first_of_month else "3")
    assert page.locator("svg.chart rect.bar.all").count() == 30


def test_user_management_create_a_clerk_who_signs_in_with_only_the_granted_permissions(
    page: Page, browser, server, runtime, merchant, admin
):
    signed_in(page, server, admin)
    login = f"clerk{uuid.uuid4().hex[:6]}"
    page.click("nav >> text=ユーザー管理")
    page.click("#new-user")
    page.fill("#new-login", login)
    page.check("input[name=permission][value=download]")
    page.click("#create-user")
    expect(page.locator("#created-login")).to_have_text(login)
    initial = page.locator("#initial-password").inner_text().strip()

    clerk_context = browser.new_context(locale="ja-JP")
    clerk = clerk_context.new_page()
    sign_in(clerk, server, login, initial, PASSWORD)
    nav = clerk.locator("nav.menu")
    expect(nav).to_contain_text("決済検索")
    expect(nav).not_to_contain_text("ユーザー管理")
    clerk.goto(f"{server}/console/users")
    expect(clerk.locator("h1")).to_have_text("権限がありません")
    clerk_context.close()

    page.goto(f"{server}/console/users")
    page.click(f"#users >> text={login}")
    page.check("input[name=permission][value=card]")
    page.click("#save-user")
    expect(page.locator("input[name=permission][value=card]")).to_be_checked()
    page.goto(f"{server}/console/users")
    expect(page.locator("#users")).to_contain_text("カード処理")


def test_certificate_issue_download_and_revoke(page: Page, server, runtime, merchant, admin):
    clerk = make_user(runtime, merchant.merchant_id, f"cert{uuid.uuid4().hex[:6]}")
    signed_in(page, server, admin)
    page.goto(f"{server}/console/users/{clerk.user_id}")

    page.click("#issue-cert")
    password = page.locator("#p12-password").inner_text().strip()
    with page.expect_download() as info:
        page.click("#download-cert")
    download = info.value
    bundle = pkcs12.load_pkcs12(Path(download.path()).read_bytes(), password.encode())

    assert download.suggested_filename == f"{clerk.login}.p12"
    assert bundle.cert.certificate.subject.rfc4514_string() == (
        f"O=Kessai console user,CN=console:{clerk.login}"
    )
    page.goto(f"{server}/console/users/{clerk.user_id}")
    expect(page.locator("#cert-history")).to_contain_text("有効")

    page.click("#revoke-cert")
    expect(page.locator("#cert-history")).to_contain_text("失効")


def test_manual_registration_of_a_card_and_a_cvs_payment(page: Page, server, merchant, admin):
    signed_in(page, server, admin)
    page.click("nav >> text=手動登録")

    card = page.locator("#register-card")
    card.locator("input[name=trading_id]").fill("PHONE-1")
    card.locator("input[name=amount]").fill("4400")
    card.locator("input[name=card_number]").fill("4111 1111 1111 1111")
    card.locator("input[name=valid_month]").fill("12")
    card.locator("input[name=valid_year]").fill("30")
    card.locator("input[name=security_code]").fill("123")
    card.locator("input[name=capture][value='1']").check()
    card.locator("button[type=submit]").click()
    expect(page.locator("#outcome")).to_have_text("カード決済を登録しました。")
    expect(page.locator("main")).to_contain_text("411111******1111")
    assert "4111111111111111" not in page.content()

    page.click("text=続けて登録する")
    cvs = page.locator("#register-cvs")
    cvs.locator("input[name=trading_id]").fill("PHONE-2")
    cvs.locator("input[name=amount]").fill("2980")
    cvs.locator("select[name=cvs_company_id]").select_option("00C005")
    cvs.locator("input[name=customer_family_name]").fill("佐藤")
    cvs.locator("input[name=customer_name]").fill("一郎")
    cvs.locator("input[name=customer_tel]").fill("09012345678")
    cvs.locator("button[type=submit]").click()
    expect(page.locator("#outcome")).to_contain_text("お支払い番号を発行しました")
    expect(page.locator("#receipt-number")).not_to_be_empty()
    expect(page.locator("main")).to_contain_text("ファミリーマート")


def test_statement_list_detail_and_downloads(page: Page, server, runtime, merchant, admin):
    closed = closed_statement(runtime, merchant.merchant_id, "PAYOUT-WEB-1", 23_456)
    signed_in(page, server, admin)

    page.click("nav >> text=支払明細")
    row = page.locator(f'#statements a[href="/console/statements/{closed.statement_id}"]')
    expect(page.locator("#statements")).to_contain_text(closed.payout_date)
    row.click()
    expect(page.locator("h1")).to_contain_text(f"明細番号 {closed.statement_id}")
    expect(page.locator("#payout-date")).to_have_text(closed.payout_date)
    expect(page.locator("#payments")).to_contain_text("PAYOUT-WEB-1")
    expect(page.locator("#lines")).to_contain_text("23,456円")

    with page.expect_download() as info:
        page.click("#statement-pdf")
    pdf = info.value
    assert pdf.suggested_filename == f"statement_{closed.statement_id}.pdf"
    assert Path(pdf.path()).read_bytes().startswith(b"%PDF")
    for link, codec in (("#detail-csv-sjis", "cp932"), ("#detail-csv-utf8", "utf-8-sig")):
        with page.expect_download() as info:
            page.click(link)
        data = Path(info.value.path()).read_bytes()
        assert data.startswith(b"\xef\xbb\xbf") == (codec == "utf-8-sig")
        lines = data.decode(codec).split("\r\n")
        assert lines[0] == "取引ID,決済ID,決済種別,支払機関,売上金額,取消金額,手数料,消費税,計上日"
        assert any(line.startswith(f"PAYOUT-WEB-1,{closed.payment_id},") for line in lines)

    page.click(f'#payments a[href="/console/payments/{closed.payment_id}"]')
    expect(page.locator("#statements")).to_contain_text(
        f"明細番号 {closed.statement_id}（お支払日 {closed.payout_date}）"
    )
