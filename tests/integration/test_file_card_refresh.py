"""File type 024 (カード情報洗替) through the real server: a file naming stored cards that hit each
sandbox updater rule, the result file's lines (outcome, masked numbers and expiries before and
after), the vault and the cards' history afterwards, and a closed card refused at the next charge
(2001/1G12). The card account updater itself is tested in test_card_refresh.py."""

from __future__ import annotations

from sqlalchemy import select

from kessai.app import Runtime
from kessai.core.cards import updater
from kessai.core.cards.models import CardRefresh, StoredCard, VaultCard
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import NewMerchant
from kessai.kit.secrets import CardNumber
from tests.support.files import accepted, fetch_result, run_files, submit
from tests.support.telegrams import send

# last four digits → the sandbox updater's answer (connectors/sandbox/updater_rules.py)
CARDS = {
    "CSAME": "4980000000001234",  # unchanged
    "CEXPIRY": "4980000000007101",  # new expiry
    "CNUMBER": "4980000000007202",  # new number
    "CCLOSED": "4980000000007303",  # closed
    "CCONTACT": "4980000000007404",  # contact cardholder
    "CSILENT": "4980000000007909",  # no answer
}


def store(server: str, merchant: NewMerchant, customer: str, number: str) -> str:
    reply = send(
        server, merchant, "025", customer_id=customer, card_number=number, card_valid_term="1230"
    )
    assert reply.result == "0", reply.fields
    return reply["customer_card_id"]


def stored_card(runtime: Runtime, card_id: str) -> tuple[StoredCard, CardNumber]:
    with runtime.core.sessions() as session:
        row = session.get_one(StoredCard, int(card_id))
        return row, runtime.core.vault.open(session.get_one(VaultCard, row.vault_card_id))


def refresh_file(server: str, merchant: NewMerchant) -> tuple[dict[str, str], str]:
    """Every card of CARDS stored, and a 024 file naming them (lines 2–7) and a card that is not
    there (line 8)."""
    ids = {
        customer: store(server, merchant, customer, number) for customer, number in CARDS.items()
    }
    lines = ["customer_id,customer_card_id"] + [f"{c},{i}" for c, i in ids.items()]
    lines.append("CNONE,999999999")
    return ids, "\r\n".join(lines) + "\r\n"


class TestCardRefreshFile:
    def test_each_line_refreshes_its_card_and_the_result_says_what_changed(
        self, server, merchant, runtime
    ):
        ids, data = refresh_file(server, merchant)
        receipt_id = accepted(server, merchant, "024", data)
        assert fetch_result(server, merchant, receipt_id).code == "9103"
        assert run_files(runtime) == 7
        result = fetch_result(server, merchant, receipt_id)
        assert (result.header[2], result.result, result.trailer[1]) == ("024", "0", "7")
        assert {len(record) for record in result.data} == {13}  # every record as wide

        def seen(line_no: int) -> tuple[str, ...]:
            line = result.line(line_no)
            return (
                line["result"],
                line["response_code"],
                line["refresh_outcome"],
                line["masked_card_number_before"],
                line["masked_card_number_after"],
                line["card_valid_term_before"],
                line["card_valid_term_after"],
            )

        stars = "*" * 12
        assert seen(2) == ("0", "", "unchanged", stars + "1234", stars + "1234", "1230", "1230")
        assert seen(3) == ("0", "", "new_expiry", stars + "7101", stars + "7101", "1230", "1234")
        assert seen(4) == ("0", "", "new_number", stars + "7202", stars + "0202", "1230", "1234")
        assert seen(5) == ("0", "", "closed", stars + "7303", stars + "7303", "1230", "1230")
        assert seen(6)[:3] == ("0", "", "contact_cardholder")
        assert seen(7)[:3] == ("1", "2008", "unknown")
        assert seen(8) == ("1", "P022", "", "", "", "", "")
        for line_no, (customer, card_id) in enumerate(ids.items(), start=2):
            line = result.line(line_no)
            assert (line["customer_id"], line["customer_card_id"]) == (customer, card_id)
        assert b"4980000000007202" not in result.raw and b"4980000000000202" not in result.raw

    def test_the_vault_and_the_history_after_a_file(self, server, merchant, runtime):
        ids, data = refresh_file(server, merchant)
        accepted(server, merchant, "024", data)
        run_files(runtime)

        row, number = stored_card(runtime, ids["CEXPIRY"])
        assert (number.reveal(), row.card_valid_term) == (CARDS["CEXPIRY"], "1234")
        row, number = stored_card(runtime, ids["CNUMBER"])
        assert (number.reveal(), row.card_valid_term) == ("4980000000000202", "1234")
        row, number = stored_card(runtime, ids["CCLOSED"])
        assert row.closed_at is not None and number.reveal() == CARDS["CCLOSED"]
        row, number = stored_card(runtime, ids["CCONTACT"])
        assert (row.refresh_result, row.closed_at) == ("contact_cardholder", None)
        row, number = stored_card(runtime, ids["CSILENT"])
        assert (number.reveal(), row.card_valid_term, row.refresh_result) == (
            CARDS["CSILENT"],
            "1230",
            "",
        )

        ref = MerchantRef(id=merchant.merchant_id, mode="sandbox")
        [entry] = updater.history(runtime.core, ref, int(ids["CNUMBER"]))
        assert (entry.trigger, entry.outcome) == ("file", "new_number")
        assert (entry.old_last4, entry.new_last4) == ("7202", "0202")
        with runtime.core.sessions() as session:
            triggers = session.scalars(
                select(CardRefresh.trigger).where(CardRefresh.merchant_id == merchant.merchant_id)
            ).all()
        assert sorted(triggers) == ["file"] * 6  # one inquiry per card; the missing one asks none

    def test_a_card_closed_by_a_file_cannot_be_charged(self, server, merchant, runtime):
        ids, data = refresh_file(server, merchant)
        accepted(server, merchant, "024", data)
        run_files(runtime)

        def charge(customer: str) -> tuple[str, str, str]:
            reply = send(
                server,
                merchant,
                "020",
                trading_id=f"R{customer}",
                payment_amount=1000,
                stock_card_mode="1",
                customer_id=customer,
                customer_card_id=ids[customer],
            )
            return reply.result, reply.code, reply["response_detail"]

        assert charge("CCLOSED") == ("1", "2001", "1G12")
        assert charge("CNUMBER")[0] == "0"  # the replaced card charges with its new number
        assert charge("CCONTACT")[0] == "0"

    def test_a_closed_card_in_a_second_file_is_not_asked_again(self, server, merchant, runtime):
        card_id = store(server, merchant, "CCLOSED", CARDS["CCLOSED"])
        data = f"customer_id,customer_card_id\r\nCCLOSED,{card_id}\r\n"
        accepted(server, merchant, "024", data)
        run_files(runtime)
        receipt_id = accepted(server, merchant, "024", data)
        run_files(runtime)
        line = fetch_result(server, merchant, receipt_id).line(2)
        assert (line["result"], line["refresh_outcome"]) == ("0", "closed")
        ref = MerchantRef(id=merchant.merchant_id, mode="sandbox")
        assert len(updater.history(runtime.core, ref, int(card_id))) == 1


class TestMalformedRefreshFiles:
    def test_customer_card_id_is_required(self, server, merchant, runtime):
        reply = submit(server, merchant, "024", "customer_id\r\nC1\r\n")
        assert (reply.result, reply.code) == ("1", "9101")
        assert "customer_card_id" in reply["response_detail"]

    def test_a_card_number_column_is_refused(self, server, merchant, runtime):
        data = "customer_id,customer_card_id,card_number\r\nC1,1,4980000000001234\r\n"
        reply = submit(server, merchant, "024", data)
        assert (reply.result, reply.code) == ("1", "9101")
        assert "card_number" in reply["response_detail"]

    def test_a_non_numeric_customer_card_id_names_its_line(self, server, merchant, runtime):
        data = "customer_id,customer_card_id\r\nC1,12\r\nC2,X3\r\n"
        reply = submit(server, merchant, "024", data)
        assert (reply.result, reply.code) == ("1", "9101")
        assert reply["response_detail"].startswith("3行目")
