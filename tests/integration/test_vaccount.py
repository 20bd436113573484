"""Bank-transfer virtual accounts (070) end to end: claims over the module protocol, accounts from
the merchant's pool (rotating and fixed numbering), transfers matched by account with their
clear_detail, the deadline (12), the grace (16), the sandbox tool and its CLI, 094/091 and the SDK
(paygent-protocol.md §1.5 070, §3.7, §4)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, time, timedelta

import pytest

from kessai.app import Runtime, create_app
from kessai.client import KessaiClient
from kessai.connectors.sandbox.vaccount import (
    SANDBOX_BRANCH_CODES,
    SandboxVirtualAccountBank,
    names,
)
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments import later, testtool
from kessai.core.payments.testtool import MoveInput
from kessai.core.payments.vaccount import claims, pool, transfers
from kessai.core.payments.vaccount.terms import set_terms
from kessai.kit.clock import JST, add_business_days
from kessai.kit.errors import InvalidRequest, InvalidState
from kessai.worker.scheduler import run_jobs_once
from tests.conftest import TestClock, make_merchant, test_db_kind
from tests.support.paid_later import notice_statuses, payment_notice_statuses, ref, status
from tests.support.servers import serve_app
from tests.support.telegrams import send
from tests.support.vaccount import (
    account_of,
    account_row,
    apply,
    bank_transfer,
    payment_count,
    transfers_to,
)

PG_ONLY = pytest.mark.skipif(
    test_db_kind() != "postgresql", reason="real concurrency on PostgreSQL"
)


def inquire(server: str, merchant: NewMerchant, payment_id: str | int) -> dict[str, str]:
    reply = send(server, merchant, "094", payment_id=str(payment_id))
    assert reply.result == "0", reply.fields
    return reply.fields


def pay(runtime: Runtime, merchant: NewMerchant, payment_id: str, amount: int | None = None):
    return testtool.pay(runtime.core, ref(merchant), int(payment_id), MoveInput(amount=amount))


def bank_deadline(now: datetime, expire_days: int) -> datetime:
    """When an unpaid claim expires: the end of the 2nd bank business day after expire_date."""
    day = now.astimezone(JST).date() + timedelta(days=expire_days)
    return datetime.combine(add_business_days(day, 2), time(23, 59, 59), tzinfo=JST)


def terms(runtime: Runtime, merchant: NewMerchant, **values: int) -> None:
    with runtime.core.sessions.begin() as session:
        set_terms(session, merchant.merchant_id, now=runtime.core.clock.now(), **values)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def connected(runtime: Runtime) -> Iterator[tuple[str, Runtime]]:
    """The gateway once a real bank is connected: production merchants reach a bank (the sandbox's
    stands in for it; this distribution only simulates one, so they get P007) and their pools are
    filled by the operator, never by themselves."""
    bank = SandboxVirtualAccountBank()
    core = dataclasses.replace(runtime.core, virtual_bank_for=lambda _merchant: bank)
    with_bank = dataclasses.replace(runtime, core=core)
    with serve_app(create_app(with_bank), http="h11") as url:
        yield url, with_bank


def production(runtime: Runtime, accounts: int = 0) -> tuple[NewMerchant, MerchantRef]:
    shop = make_merchant(runtime, mode="production")
    shop_ref = MerchantRef(id=shop.merchant_id, mode="production")
    if accounts:
        pool.add_accounts(runtime.core, shop_ref, accounts)
    return shop, shop_ref


def past(clock: TestClock, moment: datetime) -> None:
    """Move the test clock an hour past `moment`."""
    clock.advance(moment - clock.now() + timedelta(hours=1))


class TestApply:
    def test_rotating_claim_hands_out_an_account_at_a_real_bank_and_branch(self, server, merchant):
        reply = apply(server, merchant)
        assert reply.result == "0", reply.fields
        bank, branch, number = account_of(reply)
        assert bank == "0033" and branch in SANDBOX_BRANCH_CODES
        assert len(number) == 7 and number.isdigit()
        assert (reply["virtual_account_bank_name"], reply["virtual_account_branch_name"]) == names(
            bank, branch
        )
        assert reply["virtual_account_deposit_kind"] == "1"  # 普通
        assert reply["numbering_type"] == "0"
        expected = (datetime.now(UTC).astimezone(JST) + timedelta(days=30)).strftime("%Y%m%d")
        assert reply["expire_date"] == expected

    def test_every_open_claim_has_its_own_account(self, server, merchant):
        accounts = {account_of(apply(server, merchant, f"VA{i}")) for i in range(12)}
        assert len(accounts) == 12  # the sandbox pool grew past its first 10 by itself

    def test_094_answers_the_claim_and_its_account(self, server, merchant, runtime):
        reply = apply(server, merchant, expire_days="7")
        record = inquire(server, merchant, reply["payment_id"])
        assert (record["payment_type"], record["payment_status"]) == ("07", "10")
        assert (record["claim_amount"], record["payment_amount"]) == ("10000", "10000")
        assert record["virtual_account_number"] == reply["virtual_account_number"]
        assert record["payment_limit_date"] == record["expire_date"] == reply["expire_date"]
        assert record["billing_name"] == "山田太郎" and record["clear_detail"] == ""
        assert notice_statuses(runtime, merchant) == []  # 10 is not notified (§3.1)

    @pytest.mark.parametrize(
        ("fields", "code"),
        [
            ({"claim_amount": "0"}, "P014"),
            ({"claim_amount": "10000000"}, "P009"),  # 7 digits at most
            ({"expire_days": "365"}, "P012"),
            ({"billing_name": "ﾔﾏﾀﾞ"}, "P008"),
            ({"billing_name_kana": "山田"}, "P008"),
            ({"numbering_type": "2"}, "P010"),
            ({"virtual_account_bank_code": "0033"}, "P005"),  # all three or none
            (
                {
                    "virtual_account_bank_code": "0033",
                    "virtual_account_branch_code": "801",
                    "virtual_account_number": "",
                },
                "P006",
            ),
        ],
    )
    def test_bad_input_is_refused_and_nothing_stored(self, server, merchant, runtime, fields, code):
        assert apply(server, merchant, **fields).code == code
        assert payment_count(runtime, merchant) == 0
        assert pool.list_accounts(runtime.core, merchant.merchant_id) == []

    def test_merchant_without_virtual_accounts_answers_p007(self, server, runtime):
        card_only = make_merchant(runtime, methods=["02"])
        assert apply(server, card_only).code == "P007"

    def test_070_on_another_path_answers_p004(self, server, merchant):
        reply = send(
            server, merchant, "070", path="/n/card/request", trading_id="X", claim_amount=100
        )
        assert reply.code == "P004"


class TestPool:
    def test_production_pool_is_filled_by_the_operator_and_reused_only_after_40(self, connected):
        server, runtime = connected
        shop, shop_ref = production(runtime)
        empty = apply(server, shop, "P0")
        assert empty.code == "8001" and payment_count(runtime, shop) == 0
        assert empty["response_detail"] == "割当可能な仮想口座がありません。"
        pool.add_accounts(runtime.core, shop_ref, 1)
        first = apply(server, shop, "P1")
        assert first.result == "0", first.fields
        assert apply(server, shop, "P2").code == "8001"  # its only account is held
        transfers.receive(
            runtime.core, bank_transfer(account_of(first), 10000, at=datetime.now(UTC))
        )
        again = apply(server, shop, "P3")
        assert account_of(again) == account_of(first)

    def test_account_is_reused_only_after_16(self, connected, clock):
        server, runtime = connected
        shop, _ = production(runtime, accounts=1)
        first = apply(server, shop, "P1", expire_days="0")
        past(clock, bank_deadline(datetime.now(UTC), 0))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, shop, first["payment_id"]) == "12"
        assert apply(server, shop, "P2").code == "8001"  # 12 still holds it: the grace runs
        clock.advance(timedelta(days=14))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, shop, first["payment_id"]) == "16"
        assert account_of(apply(server, shop, "P3")) == account_of(first)

    def test_claims_at_once_never_share_an_account(self, connected):
        server, runtime = connected
        shop, _ = production(runtime, accounts=5)
        replies: list[object] = []
        run_at_once([lambda i=i: replies.append(apply(server, shop, f"C{i}")) for i in range(8)])
        ok = [r for r in replies if r.result == "0"]  # type: ignore[attr-defined]
        assert len(ok) == 5 and len({account_of(r) for r in ok}) == 5  # type: ignore[arg-type]
        assert sorted(r.code for r in replies if r not in ok) == ["8001"] * 3  # type: ignore[attr-defined]

    def test_closed_account_is_not_handed_out(self, connected):
        server, runtime = connected
        shop, _ = production(runtime, accounts=1)
        account = pool.list_accounts(runtime.core, shop.merchant_id)[0]
        pool.close_account(runtime.core, pool.AccountKey.parse(account.key))
        assert apply(server, shop).code == "8001"


class TestFixedNumbering:
    def test_a_customer_keeps_an_account_for_every_claim(self, server, merchant, runtime):
        first = apply(server, merchant, "F1", numbering_type="1", fix_numbering_registered="顧客A")
        assert (first["numbering_type"], first["fix_numbering_registered"]) == ("1", "顧客A")
        account = dict(
            zip(
                (
                    "virtual_account_bank_code",
                    "virtual_account_branch_code",
                    "virtual_account_number",
                ),
                account_of(first),
                strict=True,
            )
        )
        assert apply(server, merchant, "F2", numbering_type="1", **account).code == "8001"
        pay(runtime, merchant, first["payment_id"])
        second = apply(server, merchant, "F2", numbering_type="1", **account)
        assert second.result == "0", second.fields
        assert account_of(second) == account_of(first)
        assert second["payment_id"] != first["payment_id"]
        assert second["fix_numbering_registered"] == "顧客A"

    def test_fixed_account_used_as_rotating_answers_8002(self, server, merchant):
        fixed = apply(server, merchant, "F1", numbering_type="1")
        reply = apply(server, merchant, "F2", numbering_type="0", **_triple(fixed))
        assert reply.code == "8002"

    def test_rotating_account_named_for_fixed_numbering_answers_8002(self, server, merchant):
        rotating = apply(server, merchant, "R1")
        assert apply(server, merchant, "F1", numbering_type="1", **_triple(rotating)).code == "8002"

    def test_another_merchants_or_an_unknown_account_answers_8003(self, server, merchant, runtime):
        other = make_merchant(runtime)
        theirs = apply(server, other, "O1", numbering_type="1")
        assert apply(server, merchant, "F1", numbering_type="1", **_triple(theirs)).code == "8003"
        unknown = {
            "virtual_account_bank_code": "0033",
            "virtual_account_branch_code": "801",
            "virtual_account_number": "0000001",
        }
        assert apply(server, merchant, "F2", numbering_type="1", **unknown).code == "8003"
        assert payment_count(runtime, merchant) == 0


def _triple(reply) -> dict[str, str]:
    names_ = ("virtual_account_bank_code", "virtual_account_branch_code", "virtual_account_number")
    return dict(zip(names_, account_of(reply), strict=True))


class TestTransfers:
    def test_exact_transfer_clears_01_and_is_notified_with_its_amount(
        self, server, merchant, runtime
    ):
        reply = apply(server, merchant)
        pay(runtime, merchant, reply["payment_id"])
        record = inquire(server, merchant, reply["payment_id"])
        assert (record["payment_status"], record["clear_detail"]) == ("40", "01")
        assert (record["payment_amount"], record["excess_deficiency_amount"]) == ("10000", "0")
        assert record["transfer_client_name"] == "ﾔﾏﾀﾞ ﾀﾛｳ" and len(record["payment_date"]) == 14
        notice = send(server, merchant, "091")
        assert (notice["payment_status"], notice["clear_detail"]) == ("40", "01")
        assert (notice["payment_amount"], notice["claim_amount"]) == ("10000", "10000")
        assert notice["virtual_account_number"] == reply["virtual_account_number"]
        assert account_row(runtime, account_of(reply)).payment_id is None  # back in the pool

    @pytest.mark.parametrize(
        ("amount", "detail", "difference", "adjusted"),
        [
            (9700, "02", "300", "300"),  # short within the 500 yen tolerance: paid in full
            (8000, "03", "2000", "0"),  # short: still 40, the shortfall reported
            (12000, "04", "2000", "0"),  # over
        ],
    )
    def test_short_and_over_transfers_clear_with_their_detail(
        self, server, merchant, runtime, amount, detail, difference, adjusted
    ):
        terms(runtime, merchant, short_tolerance=500)
        reply = apply(server, merchant)
        pay(runtime, merchant, reply["payment_id"], amount)
        record = inquire(server, merchant, reply["payment_id"])
        assert (record["payment_status"], record["clear_detail"]) == ("40", detail)
        assert record["payment_amount"] == str(amount) and record["claim_amount"] == "10000"
        assert record["excess_deficiency_amount"] == difference
        assert record["adjustment_amount"] == adjusted
        assert payment_notice_statuses(runtime, int(reply["payment_id"])) == ["40"]

    def test_transfer_nobody_claimed_becomes_the_merchants_05_payment(
        self, server, merchant, runtime
    ):
        view = testtool.transfer(runtime.core, merchant.merchant_id, None, 4321)
        assert view.outcome == "unclaimed" and view.clear_detail == "05"
        record = inquire(server, merchant, view.payment_id)  # type: ignore[arg-type]
        assert (record["payment_status"], record["clear_detail"]) == ("40", "05")
        assert (record["payment_amount"], record["trading_id"]) == ("4321", "")
        notice = send(server, merchant, "091")
        assert (notice["payment_id"], notice["clear_detail"]) == (str(view.payment_id), "05")

    def test_second_transfer_for_a_cleared_claim_is_05_not_lost(self, server, merchant, runtime):
        reply = apply(server, merchant)
        pay(runtime, merchant, reply["payment_id"], 6000)
        view = testtool.transfer(
            runtime.core, merchant.merchant_id, pool.AccountKey(*account_of(reply)), 4000
        )
        assert view.outcome == "unclaimed" and view.payment_id != int(reply["payment_id"])
        assert inquire(server, merchant, reply["payment_id"])["clear_detail"] == "03"

    def test_unknown_and_closed_accounts_are_recorded_for_the_operator(
        self, server, merchant, runtime
    ):
        now = datetime.now(UTC)
        unknown = transfers.receive(
            runtime.core, bank_transfer(("0033", "801", "0000002"), 700, at=now)
        )
        assert (unknown.outcome, unknown.merchant_id, unknown.payment_id) == (
            "unknown_account",
            None,
            None,
        )
        reply = apply(server, merchant)
        pay(runtime, merchant, reply["payment_id"])
        pool.close_account(runtime.core, pool.AccountKey(*account_of(reply)))
        closed = transfers.receive(runtime.core, bank_transfer(account_of(reply), 800, at=now))
        assert (closed.outcome, closed.merchant_id) == ("closed_account", merchant.merchant_id)
        waiting = transfers.list_transfers(runtime.core, unassigned=True)
        assert {unknown.id, closed.id} <= {v.id for v in waiting}
        assert notice_statuses(runtime, merchant) == ["40"]  # only the claim's own clearing

    def test_a_transfer_reported_twice_is_recorded_once(self, server, merchant, runtime):
        reply = apply(server, merchant)
        report = bank_transfer(account_of(reply), 10000, at=datetime.now(UTC), reference="BANK-1")
        first = transfers.receive(runtime.core, report)
        again = transfers.receive(runtime.core, report)
        assert again.id == first.id and len(transfers_to(runtime, account_of(reply))) == 1
        assert payment_count(runtime, merchant) == 1

    def test_sandbox_transfer_to_another_merchants_account_answers_8003(
        self, server, merchant, runtime
    ):
        other = apply(server, make_merchant(runtime), "O1")
        with pytest.raises(InvalidRequest) as refused:
            testtool.transfer(
                runtime.core, merchant.merchant_id, pool.AccountKey(*account_of(other)), 10
            )
        assert refused.value.code == "8003"


class TestDeadlines:
    def test_unpaid_claim_expires_two_business_days_after_its_expire_date(
        self, server, merchant, runtime, clock
    ):
        reply = apply(server, merchant, expire_days="0")
        deadline = bank_deadline(datetime.now(UTC), 0)
        clock.advance(deadline - clock.now() - timedelta(hours=1))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, reply["payment_id"]) == "10"
        clock.advance(timedelta(hours=2))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, reply["payment_id"]) == "12"
        assert notice_statuses(runtime, merchant) == ["12"]

    def test_late_transfer_within_the_grace_clears_12_to_40(self, server, merchant, runtime, clock):
        reply = apply(server, merchant, expire_days="0")
        past(clock, bank_deadline(datetime.now(UTC), 0))
        run_jobs_once(runtime.core, runtime.settings)
        pay(runtime, merchant, reply["payment_id"], 10000)
        record = inquire(server, merchant, reply["payment_id"])
        assert (record["payment_status"], record["clear_detail"]) == ("40", "01")
        assert notice_statuses(runtime, merchant) == ["12", "40"]

    def test_past_the_grace_the_claim_closes_16_and_lets_its_account_go(
        self, server, merchant, runtime, clock
    ):
        reply = apply(server, merchant, expire_days="0")
        past(clock, bank_deadline(datetime.now(UTC), 0) + timedelta(days=14))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, reply["payment_id"]) == "16"
        assert notice_statuses(runtime, merchant) == ["12", "16"]
        assert account_row(runtime, account_of(reply)).payment_id is None
        late = testtool.transfer(
            runtime.core, merchant.merchant_id, pool.AccountKey(*account_of(reply)), 10000
        )
        assert late.outcome == "unclaimed"  # not the closed claim's: the merchant sees a 05

    def test_grace_is_the_merchants_term(self, server, merchant, runtime, clock):
        terms(runtime, merchant, grace_days=3)
        reply = apply(server, merchant, expire_days="0")
        past(clock, bank_deadline(datetime.now(UTC), 0) + timedelta(days=3))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, reply["payment_id"]) == "16"

    def test_closed_claim_is_cleared_only_by_hand(self, server, merchant, runtime, clock):
        reply = apply(server, merchant, expire_days="0")
        past(clock, bank_deadline(datetime.now(UTC), 0) + timedelta(days=14))
        run_jobs_once(runtime.core, runtime.settings)
        with pytest.raises(InvalidState):
            pay(runtime, merchant, reply["payment_id"])
        unknown = transfers.receive(
            runtime.core, bank_transfer(("0033", "801", "0000003"), 9000, at=clock.now())
        )
        claims.clear_manually(
            runtime.core, ref(merchant), int(reply["payment_id"]), None, transfer_id=unknown.id
        )
        record = inquire(server, merchant, reply["payment_id"])
        assert (record["payment_status"], record["clear_detail"]) == ("40", "07")  # manual, short
        assert record["payment_amount"] == "9000"
        assert notice_statuses(runtime, merchant) == ["12", "16", "40"]
        assigned = transfers.list_transfers(runtime.core, merchant_id=merchant.merchant_id)
        assert [(v.id, v.payment_id) for v in assigned] == [(unknown.id, int(reply["payment_id"]))]

    def test_paid_claim_stays_paid_past_deadline_and_grace(self, server, merchant, runtime, clock):
        reply = apply(server, merchant, expire_days="0")
        pay(runtime, merchant, reply["payment_id"])
        # Past deadline + 14 days' grace, within the 30 days its (skipped: no URL) notices are kept.
        clock.advance(timedelta(days=20))
        run_jobs_once(runtime.core, runtime.settings)
        assert status(server, merchant, reply["payment_id"]) == "40"
        assert notice_statuses(runtime, merchant) == ["40"]


class TestSandboxTool:
    def test_tool_moves_10_12_16_40(self, server, merchant, runtime):
        core, shop = runtime.core, ref(merchant)
        pid = int(apply(server, merchant)["payment_id"])
        with pytest.raises(InvalidState):
            testtool.move(core, shop, pid, "16", MoveInput())  # 16 only from 12
        assert testtool.move(core, shop, pid, "12", MoveInput()).status == "12"
        assert testtool.move(core, shop, pid, "16", MoveInput()).status == "16"
        paid = testtool.move(core, shop, pid, "40", MoveInput(amount=11000))
        assert (paid.status, paid.detail("clear_detail")) == ("40", "08")  # by hand, over
        assert payment_notice_statuses(runtime, pid) == ["12", "16", "40"]

    def test_tool_pays_an_expired_claim_late(self, server, merchant, runtime):
        core, shop = runtime.core, ref(merchant)
        pid = int(apply(server, merchant)["payment_id"])
        testtool.move(core, shop, pid, "12", MoveInput())
        paid = testtool.move(core, shop, pid, "40", MoveInput(amount=9000))
        assert (paid.status, paid.detail("clear_detail")) == ("40", "03")

    def test_advancing_the_test_clock_expires_and_closes(self, server, merchant, runtime):
        pid = apply(server, merchant, expire_days="0")["payment_id"]
        view = testtool.advance_clock(runtime.core, merchant.merchant_id, timedelta(days=30))
        assert view.expired == 2  # 10 → 12, then 12 → 16
        assert status(server, merchant, pid) == "16"

    def test_cli_pays_transfers_and_refuses_production(self, server, merchant, runtime):
        reply = apply(server, merchant)
        paid = kessai(runtime, "sandbox", "pay", reply["payment_id"], "--amount", "10500")
        assert paid == {"payment_id": int(reply["payment_id"]), "payment_status": "40"}
        assert inquire(server, merchant, reply["payment_id"])["clear_detail"] == "04"
        moved = kessai(runtime, "sandbox", "transfer", str(merchant.merchant_id), "--amount", "300")
        assert (moved["outcome"], moved["clear_detail"], moved["amount"]) == (
            "unclaimed",
            "05",
            300,
        )
        shop, _ = production(runtime)
        refused = kessai(
            runtime, "sandbox", "transfer", str(shop.merchant_id), "--amount", "1", ok=False
        )
        assert "production mode" in refused

    def test_operator_cli_fills_a_pool_and_lists_transfers(self, server, runtime):
        shop = make_merchant(runtime)
        added = kessai(
            runtime, "va", "pool", "add", str(shop.merchant_id), "--count", "2", "--json"
        )
        assert len(added) == 2 and all(a["merchant_id"] == shop.merchant_id for a in added)
        reply = apply(server, shop)
        assert reply.result == "0", reply.fields
        assert "-".join(account_of(reply)) in {a["key"] for a in added}  # the pool, not a refill
        transfers.receive(
            runtime.core, bank_transfer(account_of(reply), 10000, at=datetime.now(UTC))
        )
        listed = kessai(runtime, "va", "transfers", "--merchant", str(shop.merchant_id), "--json")
        assert [(t["outcome"], t["clear_detail"]) for t in listed] == [("matched", "01")]


def kessai(runtime: Runtime, *args: str, ok: bool = True):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "KESSAI_HOME": str(runtime.settings.home),
        "KESSAI_DATABASE_URL": runtime.settings.resolved_database_url(),
    }
    done = subprocess.run(
        [sys.executable, "-m", "kessai", *args], env=env, capture_output=True, text=True, timeout=60
    )
    if not ok:
        assert done.returncode == 1, done.stdout
        return done.stderr
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_sdk_claims_and_inquires(server, merchant, runtime):
    with KessaiClient(
        server,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
    ) as kessai_client:
        claim = kessai_client.apply_virtual_account(
            trading_id="SDK1", claim_amount=5000, billing_name_kana="ﾔﾏﾀﾞ", fixed=True
        )
        assert claim.ok, claim.response_code
        assert claim.bank_code == "0033" and claim.fixed and len(claim.account_number or "") == 7
        pay(runtime, merchant, claim.payment_id or "")
        again = kessai_client.apply_virtual_account(
            trading_id="SDK2",
            claim_amount=6000,
            fixed=True,
            virtual_account=(
                claim.bank_code or "",
                claim.branch_code or "",
                claim.account_number or "",
            ),
        )
        assert again.ok and again.account_number == claim.account_number
        inquiry = kessai_client.inquire(payment_id=claim.payment_id)
        assert (inquiry.payment_type, inquiry.payment_status) == ("07", "40")
        assert inquiry.get("clear_detail") == "01"
        refused = kessai_client.apply_virtual_account(claim_amount=0)
        assert not refused.ok and refused.response_code == "P014"


# ---------------------------------------------------------------- real concurrency


def run_at_once(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Start every job at the same moment, each in its own thread; the errors they raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job: Callable[[], object]) -> None:
        barrier.wait()
        try:
            job()
        except Exception as error:  # a deadlock or a lost lock shows here, not in a thread's log
            errors.append(error)

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


@PG_ONLY
class TestConcurrency:
    def test_two_transfers_to_one_account_at_once_clear_the_claim_once(self, server, runtime):
        shop = make_merchant(runtime)
        replies = [apply(server, shop, f"R{i}") for i in range(6)]
        now = datetime.now(UTC)
        reports = [bank_transfer(account_of(r), 10000, at=now) for r in replies for _ in (1, 2)]
        assert run_at_once([lambda t=t: transfers.receive(runtime.core, t) for t in reports]) == []
        for reply in replies:
            rows = transfers_to(runtime, account_of(reply))
            assert sorted(r.outcome for r in rows) == ["matched", "unclaimed"]
            assert status(server, shop, reply["payment_id"]) == "40"
            assert payment_notice_statuses(runtime, int(reply["payment_id"])) == ["40"]
            extra = next(r.payment_id for r in rows if r.outcome == "unclaimed")
            assert inquire(server, shop, extra)["clear_detail"] == "05"
            assert account_row(runtime, account_of(reply)).payment_id is None

    def test_transfer_racing_the_expiry_job_clears_late(self, server, runtime, clock):
        shop = make_merchant(runtime)
        replies = [apply(server, shop, f"E{i}", expire_days="0") for i in range(6)]
        past(clock, bank_deadline(datetime.now(UTC), 0))
        reports = [bank_transfer(account_of(r), 10000, at=clock.now()) for r in replies]
        jobs: list[Callable[[], object]] = [
            lambda t=t: transfers.receive(runtime.core, t) for t in reports
        ]
        jobs.append(lambda: later.expire_due(runtime.core))
        assert run_at_once(jobs) == []
        for reply in replies:
            assert status(server, shop, reply["payment_id"]) == "40"
            assert payment_notice_statuses(runtime, int(reply["payment_id"])) == ["12", "40"]
            assert [r.outcome for r in transfers_to(runtime, account_of(reply))] == ["matched"]

    def test_transfer_racing_the_closing_job_is_kept_as_the_merchants_05(
        self, server, runtime, clock
    ):
        shop = make_merchant(runtime)
        replies = [apply(server, shop, f"G{i}", expire_days="0") for i in range(6)]
        past(clock, bank_deadline(datetime.now(UTC), 0) + timedelta(days=14))
        reports = [bank_transfer(account_of(r), 10000, at=clock.now()) for r in replies]
        jobs: list[Callable[[], object]] = [
            lambda t=t: transfers.receive(runtime.core, t) for t in reports
        ]
        jobs += [lambda: later.expire_due(runtime.core), lambda: claims.close_due(runtime.core)]
        assert run_at_once(jobs) == []
        for reply in replies:
            assert status(server, shop, reply["payment_id"]) == "16"
            assert payment_notice_statuses(runtime, int(reply["payment_id"]))[-1] == "16"
            rows = transfers_to(runtime, account_of(reply))
            assert [(r.outcome, r.clear_detail) for r in rows] == [("unclaimed", "05")]
            assert account_row(runtime, account_of(reply)).payment_id is None
