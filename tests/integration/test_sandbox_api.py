"""The sandbox HTTP API (status-simulation tool and test clock) against the real server.

A merchant's test clock moves its own deadlines only: advancing it past a deadline expires exactly
that merchant's unpaid payments whose deadline passed, never a paid one, never another merchant's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta

import httpx
import pytest

from kessai.client import SandboxClient
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments.models import Payment
from kessai.kit.clock import JST
from tests.conftest import make_merchant
from tests.support.paid_later import notice_statuses, status
from tests.support.telegrams import authorised, send


def api(
    server: str, merchant: NewMerchant, path: str, body: dict[str, object] | None = None
) -> httpx.Response:
    url = f"{server}/sandbox/merchants/{merchant.merchant_id}{path}"
    auth = (merchant.connect_id, merchant.connect_password)
    if body is None and path.endswith("clock"):
        return httpx.get(url, auth=auth, timeout=30)
    return httpx.post(url, json=body or {}, auth=auth, timeout=30)


def apply_cvs(server: str, merchant: NewMerchant, trading_id: str, **extra: str | int) -> str:
    fields: dict[str, str | int] = {
        "cvs_company_id": "00C002",
        "payment_amount": 3300,
        "customer_family_name": "山田",
        "customer_name": "花子",
        "customer_tel": "0312345678",
        "payment_limit_date": 3,
    } | extra
    reply = send(server, merchant, "030", trading_id=trading_id, **fields)
    assert reply.result == "0", reply.fields
    return reply["payment_id"]


def apply_atm(server: str, merchant: NewMerchant, trading_id: str, days: int) -> str:
    reply = send(
        server,
        merchant,
        "010",
        trading_id=trading_id,
        payment_amount=5000,
        payment_detail="テスト",
        payment_detail_kana="ﾃｽﾄ",
        payment_limit_date=days,
    )
    assert reply.result == "0", reply.fields
    return reply["payment_id"]


class TestMoves:
    def test_pay_and_move_go_through_the_method_and_notify(self, server, merchant, runtime):
        pid = apply_cvs(server, merchant, "T1", cvs_company_id="00C001", sales_type="1")
        paid = api(server, merchant, f"/payments/{pid}/pay", {"paid_at": "2030-01-01T10:00+09:00"})
        # Paid after the deadline: the till would not have taken it.
        assert paid.status_code == 409 and paid.json()["error"]["code"] == "2004"
        paid = api(server, merchant, f"/payments/{pid}/pay")
        assert paid.status_code == 200 and paid.json()["payment_status"] == "43"
        moved = api(server, merchant, f"/payments/{pid}/move", {"to": "40"})
        assert moved.json()["payment_status"] == "40"
        assert status(server, merchant, pid) == "40"
        assert notice_statuses(runtime, merchant) == ["10", "43", "40"]

    def test_a_move_the_method_does_not_have_is_refused_with_the_allowed_ones(
        self, server, merchant
    ):
        pid = apply_atm(server, merchant, "T2", days=3)
        refused = api(server, merchant, f"/payments/{pid}/move", {"to": "43"})
        assert refused.status_code == 409
        assert refused.json()["error"]["code"] == "S002"
        assert "12, 40" in refused.json()["error"]["message"]
        assert status(server, merchant, pid) == "10"

    def test_the_tools_expiry_move_closes_an_unpaid_payment_only(self, server, merchant):
        pid = apply_atm(server, merchant, "T3", days=3)
        assert api(server, merchant, f"/payments/{pid}/move", {"to": "12"}).status_code == 200
        assert status(server, merchant, pid) == "12"
        again = api(server, merchant, f"/payments/{pid}/pay")
        assert again.status_code == 409 and status(server, merchant, pid) == "12"

    def test_wrong_credentials_unknown_payments_and_bad_bodies_change_nothing(
        self, server, merchant, runtime
    ):
        pid = apply_atm(server, merchant, "T4", days=3)
        url = f"{server}/sandbox/merchants/{merchant.merchant_id}/payments/{pid}/pay"
        assert httpx.post(url, auth=(merchant.connect_id, "wrong"), timeout=30).status_code == 401
        assert httpx.post(url, timeout=30).status_code == 401
        other = make_merchant(runtime)
        assert api(server, other, f"/payments/{pid}/pay").status_code == 404
        bad = api(server, merchant, f"/payments/{pid}/pay", {"paid_at": "yesterday"})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "P010"
        assert status(server, merchant, pid) == "10"

    def test_production_merchants_reach_no_sandbox_control(self, server, runtime):
        production = make_merchant(runtime, mode="production")
        for path, body in (
            ("/payments/1/pay", {}),
            ("/payments/1/move", {"to": "40"}),
            ("/clock/advance", {"days": 1}),
        ):
            refused = api(server, production, path, body)
            assert refused.status_code == 403, path
            assert refused.json()["error"]["code"] == "S001"
        assert api(server, production, "/clock").status_code == 403


class TestClock:
    def test_advancing_expires_exactly_the_unpaid_payments_whose_deadline_passed(
        self, server, merchant, runtime
    ):
        paid = apply_cvs(server, merchant, "C1", payment_limit_date=2)
        due = apply_cvs(server, merchant, "C2", payment_limit_date=2)
        later = apply_cvs(server, merchant, "C3", payment_limit_date=20)
        other_merchant = make_merchant(runtime)
        elsewhere = apply_cvs(server, other_merchant, "C4", payment_limit_date=2)
        assert api(server, merchant, f"/payments/{paid}/pay").json()["payment_status"] == "40"

        advanced = api(server, merchant, "/clock/advance", {"days": 5})
        assert advanced.status_code == 200, advanced.text
        assert advanced.json()["offset_seconds"] == 5 * 86400
        assert advanced.json()["expired"] >= 1

        assert status(server, merchant, paid) == "40"  # paid before its deadline: stays paid
        assert status(server, merchant, due) == "12"
        assert status(server, merchant, later) == "10"
        assert status(server, other_merchant, elsewhere) == "10"  # another merchant's time
        assert notice_statuses(runtime, merchant) == ["10", "10", "10", "40", "12"]

    def test_the_running_server_works_on_the_merchants_new_time(self, server, merchant):
        before = send(server, merchant, "094", payment_id=apply_atm(server, merchant, "D1", 0))
        assert api(server, merchant, "/clock/advance", {"days": 10, "hours": 1}).status_code == 200
        shown = api(server, merchant, "/clock").json()
        assert shown["offset_seconds"] == 10 * 86400 + 3600
        after = send(server, merchant, "094", payment_id=apply_atm(server, merchant, "D2", 0))
        first = date.fromisoformat(before["payment_limit_date"])
        second = date.fromisoformat(after["payment_limit_date"])
        assert second - first in (timedelta(days=10), timedelta(days=11))
        applied = datetime.strptime(after["payment_init_date"], "%Y%m%d%H%M%S").replace(tzinfo=JST)
        assert applied > datetime.now(JST) + timedelta(days=9)

    def test_card_authorisations_expire_on_the_merchants_time(self, server, merchant, runtime):
        kept = authorised(server, merchant, "CARD1")
        other = make_merchant(runtime)
        elsewhere = authorised(server, other, "CARD3")
        captured = authorised(server, merchant, "CARD2")
        assert send(server, merchant, "022", payment_id=captured).result == "0"
        assert api(server, merchant, "/clock/advance", {"days": 59}).status_code == 200
        assert status(server, merchant, kept) == "20"
        assert api(server, merchant, "/clock/advance", {"days": 2}).status_code == 200
        assert status(server, merchant, kept) == "33"  # 60 days after authorisation
        assert status(server, merchant, captured) == "41"  # the cancel window closed
        assert send(server, merchant, "023", payment_id=captured).code == "2007"
        assert status(server, other, elsewhere) == "20"  # another merchant's time

    def test_advancing_leaves_a_card_payments_10_alone_whatever_its_due_date(
        self, server, merchant, runtime
    ):
        # A card's 10 is not an unpaid bill and has no 12: the sweep over every method paid later
        # (which another merchant's card row with a date once made answer 500) must skip it.
        past = datetime.now(JST) - timedelta(days=3)
        with runtime.core.sessions.begin() as session:
            card = Payment(
                merchant_id=make_merchant(runtime).merchant_id,
                trading_id="CARD10",
                payment_type="02",
                amount=1000,
                status="10",
                details={},
                created_at=past,
                updated_at=past,
                due_at=past,
            )
            session.add(card)
        due = apply_cvs(server, merchant, "C5", payment_limit_date=1)
        advanced = api(server, merchant, "/clock/advance", {"days": 3})
        assert advanced.status_code == 200, advanced.text
        assert status(server, merchant, due) == "12"
        with runtime.core.sessions() as session:
            assert session.get(Payment, card.id).status == "10"

    @pytest.mark.parametrize("body", [{}, {"days": -1}, {"hours": "2"}, {"days": 0, "hours": 0}])
    def test_the_clock_only_moves_forward(self, server, merchant, body):
        refused = api(server, merchant, "/clock/advance", body)
        assert refused.status_code == 400, refused.text
        assert api(server, merchant, "/clock").json()["offset_seconds"] == 0


def test_cli_advances_the_clock_and_the_running_server_follows_within_seconds(
    server, merchant, runtime
):
    pid = apply_cvs(server, merchant, "CLI1", payment_limit_date=1)
    send(server, merchant, "094", payment_id=pid)  # the server now caches the merchant
    env = {
        **os.environ,
        "KESSAI_HOME": str(runtime.settings.home),
        "KESSAI_DATABASE_URL": runtime.settings.resolved_database_url(),
    }
    command = [sys.executable, "-m", "kessai", "sandbox", "clock", "advance"]
    result = subprocess.run(
        [*command, str(merchant.merchant_id), "--days", "3"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    shown = json.loads(result.stdout)
    assert shown["offset_seconds"] == 3 * 86400 and shown["expired"] >= 1
    assert status(server, merchant, pid) == "12"  # closed by the command itself
    # The server's cached credentials carry the old time for at most a few seconds.
    deadline = time.monotonic() + 10
    for attempt in range(20):
        reply = send(server, merchant, "094", payment_id=apply_cvs(server, merchant, f"N{attempt}"))
        init = datetime.strptime(reply["payment_init_date"], "%Y%m%d%H%M%S").replace(tzinfo=JST)
        if init > datetime.now(JST) + timedelta(days=2) or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert init > datetime.now(JST) + timedelta(days=2)
    refused = subprocess.run(
        [*command, str(merchant.merchant_id)], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode != 0 and "--days" in refused.stderr


class TestToolActions:
    """The tool's actions that are not a move of one payment, over HTTP and the SDK."""

    def sandbox(self, server: str, merchant: NewMerchant) -> SandboxClient:
        return SandboxClient(
            server,
            merchant_id=merchant.merchant_id,
            connect_id=merchant.connect_id,
            connect_password=merchant.connect_password,
        )

    def test_a_transfer_nobody_claimed_becomes_a_paid_payment(self, server, merchant):
        with self.sandbox(server, merchant) as tool:
            made = tool.transfer(amount=4321, payer="ﾃｽﾄ ﾀﾛｳ")
        assert made["amount"] == 4321 and made["clear_detail"] == "05"
        inquiry = send(server, merchant, "094", payment_id=made["payment_id"])
        assert (inquiry["payment_type"], inquiry["payment_status"]) == ("07", "40")
        assert inquiry["payment_amount"] == "4321"

    def test_a_transfer_to_an_open_claim_clears_it_by_its_amount(self, server, merchant):
        reply = send(server, merchant, "070", trading_id="VA1", claim_amount=10000)
        account = "-".join(
            reply[name]
            for name in (
                "virtual_account_bank_code",
                "virtual_account_branch_code",
                "virtual_account_number",
            )
        )
        with self.sandbox(server, merchant) as tool:
            made = tool.transfer(amount=9000, account=account)
        assert made["payment_id"] == int(reply["payment_id"]) and made["clear_detail"] == "03"
        assert status(server, merchant, reply["payment_id"]) == "40"

    def test_a_slip_paid_without_application_appears_reported(self, server, merchant):
        with self.sandbox(server, merchant) as tool:
            made = tool.slip_payment(amount=1200, chain="00C002")
            assert (made["payment_type"], made["payment_status"]) == ("04", "43")
            assert tool.move(made["payment_id"], "40")["payment_status"] == "40"

    def test_bad_amounts_and_production_merchants_are_refused(self, server, merchant, runtime):
        assert api(server, merchant, "/transfers", {}).status_code == 400
        assert api(server, merchant, "/slip-payments", {"amount": -5}).status_code == 400
        assert api(server, merchant, "/transfers", {"amount": 5, "account": "x"}).status_code == 400
        production = make_merchant(runtime, mode="production")
        for path in ("/transfers", "/slip-payments"):
            refused = api(server, production, path, {"amount": 100})
            assert refused.status_code == 403 and refused.json()["error"]["code"] == "S001"
