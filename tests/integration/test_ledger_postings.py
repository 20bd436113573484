"""Every money event books its entry in the transaction of the status change that causes it, at
the one place status changes are written (settle.change_status): captures, refunds, corrections,
payments received by every method paid later (over- and under-payments included), carrier
captures, cancels and reductions — and a capture pays for it with one INSERT."""

from __future__ import annotations

from sqlalchemy import event

from kessai.app import Runtime
from kessai.core.context import MerchantRef
from kessai.core.ledger import accounts
from kessai.core.ledger.check import check
from kessai.core.payments.card import commands as card
from kessai.core.payments.card.corrections import CorrectionRequest, correct
from kessai.core.payments.refs import PaymentRef
from tests.conftest import make_merchant
from tests.support import carrier as carrier_support
from tests.support import money
from tests.support.paid_later import ref


def _shop(runtime: Runtime) -> MerchantRef:
    return ref(make_merchant(runtime))


def _assert_agrees(runtime: Runtime, merchant: MerchantRef) -> None:
    with runtime.core.sessions() as session:
        report = check(session, merchant_id=merchant.id)
    assert report.ok, report.failures


class TestCard:
    def test_authorize_capture_books_one_sale_on_the_acquirers_receivable(self, runtime):
        shop = _shop(runtime)
        pid = money.card_payment(runtime, shop, 1200, capture=True)
        (entry,) = money.entries(runtime, shop.id)
        assert (entry.kind, entry.payment_id, entry.amount, entry.payment_type) == (
            "sale",
            pid,
            1200,
            "02",
        )
        assert entry.debit.startswith(f"merchant:{shop.id}:receivable:02:")
        assert entry.credit == accounts.payable(shop.id)
        assert entry.statement_id is None
        _assert_agrees(runtime, shop)

    def test_authorisation_books_nothing_and_its_capture_books_the_sale(self, runtime):
        shop = _shop(runtime)
        pid = money.card_payment(runtime, shop, 800, capture=False)
        assert money.entries(runtime, shop.id) == []
        assert card.capture(runtime.core, shop, PaymentRef(payment_id=str(pid))).ok
        assert money.sold(runtime, shop.id) == {pid: 800}

    def test_void_books_nothing_and_refund_reverses_the_sale(self, runtime):
        shop = _shop(runtime)
        voided = money.card_payment(runtime, shop, 500, capture=False)
        assert card.void(runtime.core, shop, PaymentRef(payment_id=str(voided))).ok
        refunded = money.card_payment(runtime, shop, 700, capture=True)
        money.card_refund(runtime, shop, refunded)
        assert [e.kind for e in money.entries(runtime, shop.id)] == ["sale", "refund"]
        assert money.sold(runtime, shop.id) == {refunded: 0}
        assert money.payable(runtime, shop.id) == 0
        _assert_agrees(runtime, shop)

    def test_a_repeated_capture_books_nothing_more(self, runtime):
        shop = _shop(runtime)
        pid = money.card_payment(runtime, shop, 300, capture=True)
        assert card.capture(runtime.core, shop, PaymentRef(payment_id=str(pid))).ok
        assert money.sold(runtime, shop.id) == {pid: 300}

    def test_a_corrected_capture_refunds_the_old_amount_and_sells_the_new(self, runtime):
        shop = _shop(runtime)
        base = money.card_payment(runtime, shop, 1000, capture=True)
        result = correct(
            runtime.core,
            shop,
            CorrectionRequest(
                ref=PaymentRef(payment_id=str(base)), amount=300, is_reduction=True, capture=True
            ),
        )
        assert result.ok and result.payment is not None
        assert money.sold(runtime, shop.id) == {base: 0, result.payment.payment_id: 700}
        assert money.payable(runtime, shop.id) == 700
        _assert_agrees(runtime, shop)

    def test_a_capture_costs_one_insert_and_reads_nothing_of_the_ledger(self, runtime):
        shop = _shop(runtime)
        pid = money.card_payment(runtime, shop, 900, capture=False)
        statements: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
            statements.append(statement)

        event.listen(runtime.engine, "before_cursor_execute", count)
        try:
            assert card.capture(runtime.core, shop, PaymentRef(payment_id=str(pid))).ok
        finally:
            event.remove(runtime.engine, "before_cursor_execute", count)
        # One statement touches the ledger, and only to insert into it: on the ORM path the
        # INSERT itself, on PostgreSQL's lean path the capture's one statement, whose CTE names
        # ledger_entries once, in its INSERT.
        ledger = [s for s in statements if "ledger_entries" in s or "statements" in s]
        assert len(ledger) == 1 and ledger[0].count("ledger_entries") == 1
        assert "INSERT INTO ledger_entries" in " ".join(ledger[0].split())


class TestPaidLater:
    def test_atm_cvs_bank_net_payments_book_a_sale_when_paid(self, runtime):
        shop = _shop(runtime)
        paid = {
            money.atm_paid(runtime, shop, 1100): 1100,
            money.cvs_paid(runtime, shop, 2200): 2200,
            money.banknet_paid(runtime, shop, 3300): 3300,
        }
        assert money.sold(runtime, shop.id) == paid
        assert {e.payment_type for e in money.entries(runtime, shop.id)} == {"01", "03", "05"}
        _assert_agrees(runtime, shop)

    def test_a_slip_is_sold_on_its_confirmation_not_its_preliminary_report(self, runtime):
        shop = _shop(runtime)
        confirmed = money.slip_reported(runtime, shop, 1500)
        withdrawn = money.slip_reported(runtime, shop, 1600)
        assert money.entries(runtime, shop.id) == []
        money.slip_move(runtime, shop, confirmed, "40")
        money.slip_move(runtime, shop, withdrawn, "61")
        assert money.sold(runtime, shop.id) == {confirmed: 1500}
        _assert_agrees(runtime, shop)

    def test_virtual_account_books_what_was_transferred_over_or_under(self, runtime):
        shop = _shop(runtime)
        over = money.va_claim_paid(runtime, shop, claim=5000, paid=5400)
        under = money.va_claim_paid(runtime, shop, claim=5000, paid=4000)
        unclaimed = money.va_unclaimed(runtime, shop, 777)
        assert money.sold(runtime, shop.id) == {over: 5400, under: 4000, unclaimed: 777}
        _assert_agrees(runtime, shop)


class TestCarrier:
    def test_capture_cancel_and_reduction_book_sales_and_refunds(self, runtime, server):
        shop_row = make_merchant(runtime)
        shop = ref(shop_row)
        kantan = carrier_support.AU_KANTAN
        captured = carrier_support.paid(server, shop_row, kantan)
        assert carrier_support.telegram(server, shop_row, "101", payment_id=captured).result == "0"
        cancelled = carrier_support.paid(server, shop_row, kantan, trading_id="CR2")
        assert carrier_support.telegram(server, shop_row, "101", payment_id=cancelled).result == "0"
        assert carrier_support.telegram(server, shop_row, "102", payment_id=cancelled).result == "0"
        reduced = carrier_support.paid(server, shop_row, kantan, trading_id="CR3")
        assert carrier_support.telegram(server, shop_row, "101", payment_id=reduced).result == "0"
        reply = carrier_support.telegram(server, shop_row, "103", payment_id=reduced, amount=400)
        assert reply.result == "0", reply.fields
        sold = money.sold(runtime, shop.id)
        assert sold[int(captured)] == 1000 and sold[int(cancelled)] == 0
        assert sold[int(reduced)] == 0
        assert sum(sold.values()) == 1000 + 400
        _assert_agrees(runtime, shop)
