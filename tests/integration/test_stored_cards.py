"""Stored cards (カード情報お預かり) 025 / 116 / 026 / 027 and payments with them, over HTTP."""

from __future__ import annotations

import csv
import io

import httpx

from kessai.core.merchants.commands import NewMerchant
from tests.support.telegrams import form_body, header, send


def register(
    server: str,
    merchant: NewMerchant,
    customer: str = "CUST1",
    card: str = "4900000000000000",
    **extra: str | int,
):
    return send(
        server,
        merchant,
        "025",
        customer_id=customer,
        card_number=card,
        card_valid_term="1230",
        card_conf_number="123",
        **extra,
    )


def inquiry_rows(server: str, merchant: NewMerchant, **fields: str) -> list[list[str]]:
    response = httpx.post(
        server + "/n/card/request", content=form_body(header(merchant, "027", **fields))
    )
    assert response.status_code == 200
    text = response.content.decode("cp932")
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text.replace("\r\n", "\n"))))


class TestRegister:
    def test_register_answers_card_id_mask_and_count(self, server, merchant):
        reply = register(server, merchant, cardholder_name="TARO YAMADA")
        assert reply.result == "0", reply.fields
        assert reply["customer_card_id"].isdigit()
        assert reply["num_of_cards"] == "1"
        assert reply["masked_card_number"] == "************0000"
        assert reply["cardholder_name"] == "TARO YAMADA"
        assert len(reply["fingerprint"]) == 64

    def test_eleventh_card_answers_p023(self, server, merchant):
        for i in range(10):
            assert register(server, merchant, card=f"49000000000000{i:02d}").result == "0"
        assert register(server, merchant, card="4900000000000099").code == "P023"

    def test_validity_check_records_issuer(self, server, merchant):
        reply = register(server, merchant, valid_check_flg="1")
        assert reply.result == "0", reply.fields
        assert reply["acq_id"] and reply["issur_name"]

    def test_validity_check_failure_stores_nothing(self, server, merchant):
        reply = register(server, merchant, card="4900000000008212", valid_check_flg="1")
        assert (reply.result, reply.code) == ("1", "2001")
        assert inquiry_rows(server, merchant, customer_id="CUST1")[0][:3] == ["1", "1", "P026"]


class TestInquiry:
    def test_027_answers_quoted_csv_with_matching_columns(self, server, merchant):
        register(server, merchant, card_brand="VISA", add_info1="メモ")
        rows = inquiry_rows(server, merchant, customer_id="CUST1")
        assert rows[0] == ["1", "0", "", ""]
        assert rows[1][0] == "2" and rows[2][0] == "3"
        assert len(rows[1]) == len(rows[2])
        record = dict(zip(rows[1][1:], rows[2][1:], strict=True))
        assert record["customer_id"] == "CUST1"
        assert record["card_number"] == "************0000"
        assert record["add_info1"] == "メモ"
        assert rows[-1] == ["4", "1"]

    def test_027_without_cards_answers_p026_header_and_trailer(self, server, merchant):
        rows = inquiry_rows(server, merchant, customer_id="NOBODY")
        assert rows == [
            ["1", "1", "P026", "指定した顧客ID、顧客カードIDのカード情報はありません。"],
            ["4", "0"],
        ]

    def test_027_lists_most_recently_used_first(self, server, merchant):
        first = register(server, merchant, card="4900000000000001")["customer_card_id"]
        second = register(server, merchant, card="4900000000000002")["customer_card_id"]
        send(
            server,
            merchant,
            "020",
            trading_id="USE1",
            payment_amount=100,
            stock_card_mode="1",
            customer_id="CUST1",
            customer_card_id=first,
        )
        rows = inquiry_rows(server, merchant, customer_id="CUST1")
        assert [row[2] for row in rows if row[0] == "3"] == [first, second]


class TestUpdateAndDelete:
    def test_116_changes_only_what_is_sent(self, server, merchant):
        card_id = register(server, merchant, add_info1="A", add_info2="B")["customer_card_id"]
        reply = send(
            server,
            merchant,
            "116",
            customer_id="CUST1",
            customer_card_id=card_id,
            card_valid_term="0131",
            add_info1="",
        )
        assert reply.result == "0", reply.fields
        rows = inquiry_rows(server, merchant, customer_id="CUST1")
        record = dict(zip(rows[1][1:], rows[2][1:], strict=True))
        assert (record["card_valid_term"], record["add_info1"], record["add_info2"]) == (
            "0131",
            "",
            "B",
        )

    def test_026_deletes_one_card(self, server, merchant):
        card_id = register(server, merchant)["customer_card_id"]
        register(server, merchant, card="4900000000000001")
        reply = send(server, merchant, "026", customer_id="CUST1", customer_card_id=card_id)
        assert (reply.result, reply["num_of_cards"]) == ("0", "1")

    def test_026_unknown_card_answers_p022(self, server, merchant):
        assert (
            send(server, merchant, "026", customer_id="CUST1", customer_card_id="123456789").code
            == "P022"
        )

    def test_026_without_card_id_deletes_all(self, server, merchant):
        register(server, merchant)
        register(server, merchant, card="4900000000000001")
        reply = send(server, merchant, "026", customer_id="CUST1")
        assert reply["num_of_cards"] == "0"


class TestPayWithStoredCard:
    def test_authorise_with_stored_card(self, server, merchant):
        card_id = register(server, merchant, card="3580000000000000")["customer_card_id"]
        reply = send(
            server,
            merchant,
            "020",
            trading_id="S1",
            payment_amount=3300,
            stock_card_mode="1",
            customer_id="CUST1",
            customer_card_id=card_id,
        )
        assert reply.result == "0", reply.fields
        assert reply["masked_card_number"] == "************0000"
        assert reply["acq_id"] == "99661"  # JCB

    def test_stored_card_of_another_customer_answers_p025(self, server, merchant):
        card_id = register(server, merchant)["customer_card_id"]
        reply = send(
            server,
            merchant,
            "020",
            trading_id="S2",
            payment_amount=100,
            stock_card_mode="1",
            customer_id="SOMEONE",
            customer_card_id=card_id,
        )
        assert reply.code == "P025"

    def test_deleted_card_cannot_pay(self, server, merchant):
        card_id = register(server, merchant)["customer_card_id"]
        send(server, merchant, "026", customer_id="CUST1", customer_card_id=card_id)
        reply = send(
            server,
            merchant,
            "020",
            trading_id="S3",
            payment_amount=100,
            stock_card_mode="1",
            customer_id="CUST1",
            customer_card_id=card_id,
        )
        assert reply.code == "P025"
