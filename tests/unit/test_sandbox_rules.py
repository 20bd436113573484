"""PAYGENT's sandbox card stub (paygent-protocol.md §4): one test per row of the magic-digit table,
the issuer/acquirer by leading digits, and the expiry window."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.connectors.sandbox import rules
from kessai.connectors.sandbox.rules import StubResult
from kessai.kit.secrets import CardNumber, SecurityCode

# 2026-04-01 12:00 in Japan: "this month" is April 2026.
NOW = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
VALID = "1230"


def authorise(number: str, valid_term: str = VALID, cvc: str | None = "123") -> StubResult:
    code = SecurityCode(cvc) if cvc is not None else None
    return rules.authorisation_result(CardNumber(number), valid_term, code, now=NOW)


def cancel(number: str) -> StubResult:
    return rules.cancellation_result(CardNumber(number).last4)


class TestAuthorisation:
    def test_plain_number_is_authorised(self) -> None:
        assert authorise("4900000000000000") == rules.OK

    def test_x1_is_authorised_and_cancellable(self) -> None:
        assert authorise("4900000000001234").ok
        assert cancel("4900000000001234").ok

    def test_x8_y1_is_a_cafis_network_error(self) -> None:
        assert authorise("4900000000008101") == StubResult("2002", "1C01")

    def test_x8_y2_g12_is_a_refusal(self) -> None:
        assert authorise("4900000000008212") == StubResult("2001", "1G12")

    @pytest.mark.parametrize(
        ("zz", "code"),
        [
            ("44", "2003"),  # セキュリティコード誤り
            ("83", "2003"),  # 有効期限エラー
            ("65", "2003"),  # 会員番号エラー
            ("42", "2003"),  # 暗証番号エラー
            ("30", "2001"),  # 保留判定: the buyer must call the issuer, retyping will not help
            ("60", "2001"),  # 事故カード
            ("61", "2001"),  # 無効カード
            ("55", "2001"),  # 限度額オーバー
            ("95", "2002"),  # 当該業務オンライン終了
            ("99", "2002"),  # 接続要求自社受付拒否
            ("01", "2001"),  # not in the table: a refusal
        ],
    )
    def test_x8_y2_is_classified_by_the_issuer_table(self, zz: str, code: str) -> None:
        assert authorise(f"49000000000082{zz}") == StubResult(code, f"1G{zz}")

    def test_x8_y5_is_a_vendor_system_error(self) -> None:
        assert authorise("4900000000008512") == StubResult("2002", "1K12")

    def test_x8_y6_is_a_cardnet_code_classified_like_the_issuer_table(self) -> None:
        assert authorise("4900000000008612") == StubResult("2001", "1P12")
        assert authorise("4900000000008644") == StubResult("2003", "1P44")

    def test_x8_other_y_is_the_generic_vendor_error(self) -> None:
        assert authorise("376500000008300") == StubResult("2002", "2999")  # §4's AMEX example

    def test_x9_times_out(self) -> None:
        assert authorise("4900000000009000") == StubResult("2008", "2999")

    @pytest.mark.parametrize("x", ["2", "3"])
    def test_x2_and_x3_authorise_fine(self, x: str) -> None:
        assert authorise(f"490000000000{x}115").ok

    def test_luhn_is_not_checked(self) -> None:
        assert not CardNumber("4900000000000001").luhn_ok()
        assert authorise("4900000000000001").ok

    def test_14_digit_diners_number_is_read_by_its_last_four(self) -> None:
        assert authorise("36000000008212") == StubResult("2001", "1G12")

    @pytest.mark.parametrize("number", ["490000000000", "49000000000000000", "49000000000a0000"])
    def test_malformed_number_is_a_number_input_error(self, number: str) -> None:
        assert authorise(number) == StubResult("2003", "1G65")

    @pytest.mark.parametrize("cvc", ["12", "12345", "12a"])
    def test_malformed_security_code_is_a_cvc_input_error(self, cvc: str) -> None:
        assert authorise("4900000000000000", cvc=cvc) == StubResult("2003", "1G44")

    def test_missing_security_code_is_accepted(self) -> None:
        assert authorise("4900000000000000", cvc=None).ok

    def test_security_code_cannot_steer_the_result(self) -> None:
        assert authorise("4900000000008212", cvc="9999") == StubResult("2001", "1G12")


class TestExpiry:
    @pytest.mark.parametrize("valid_term", ["0426", "1226", "0146", "0446"])
    def test_this_month_up_to_twenty_years_ahead_is_accepted(self, valid_term: str) -> None:
        assert authorise("4900000000000000", valid_term).ok

    @pytest.mark.parametrize("valid_term", ["0326", "0546", "1299", "0026", "1326", "12/26", ""])
    def test_outside_the_window_or_malformed_is_an_expiry_input_error(
        self, valid_term: str
    ) -> None:
        assert authorise("4900000000000000", valid_term) == StubResult("2003", "1G83")

    def test_expiry_is_checked_before_the_magic_digits(self) -> None:
        assert authorise("4900000000009000", "0326") == StubResult("2003", "1G83")

    def test_this_month_is_japan_time(self) -> None:
        # 2026-03-31 16:00 UTC is already April 1st in Tokyo: March cards have expired there.
        evening = datetime(2026, 3, 31, 16, 0, tzinfo=UTC)
        assert not rules.valid_term_ok("0326", evening)
        assert rules.valid_term_ok("0426", evening)


class TestCaptureAndCancellation:
    def test_capture_always_succeeds(self) -> None:
        assert rules.capture_result() == rules.OK

    def test_x2_y1_void_fails_with_the_cafis_code(self) -> None:
        assert cancel("4900000000002115") == StubResult("2002", "1C15")

    def test_x2_y5_void_fails_with_a_vendor_code(self) -> None:
        assert cancel("4900000000002503") == StubResult("2002", "1K03")

    def test_x2_y6_void_fails_with_a_cardnet_code(self) -> None:
        assert cancel("4900000000002607") == StubResult("2002", "1P07")

    def test_x2_other_y_void_fails_with_the_generic_code(self) -> None:
        assert cancel("4900000000002300") == StubResult("2002", "2999")

    def test_x3_void_times_out(self) -> None:
        assert cancel("4900000000003000") == StubResult("2008", "2999")

    @pytest.mark.parametrize("last4", ["0000", "1999", "4115", "8212", "9000"])
    def test_other_cards_cancel_fine(self, last4: str) -> None:
        assert rules.cancellation_result(last4).ok


class TestRoute:
    @pytest.mark.parametrize(
        ("number", "brand", "acq_id", "acq_name"),
        [
            ("3580000000000000", "JCB", "99661", "ＪＣＢ"),
            ("376500000000000", "AMEX", "99819", "アメリカン・エキスプレス"),
            ("36000000000000", "DINERS", "99660", "三井住友トラストクラブ"),
            ("6440000000000000", "DISCOVER", "99661", "ＪＣＢ"),
            ("4923000000000000", "VISA", "50001", "三菱ＵＦＪニコス"),
            ("5251000000000000", "MASTER", "50001", "三菱ＵＦＪニコス"),
            ("4980000000000000", "VISA", "99663", "三井住友カード"),
            ("5304000000000000", "MASTER", "99663", "三井住友カード"),
            ("4541000000000000", "VISA", "10035", "クレディセゾン"),
            ("5252000000000000", "MASTER", "10035", "クレディセゾン"),
            ("3528000000000000", "JCB", "10035", "クレディセゾン"),
            ("4542000000000000", "VISA", "99665", "ユーシーカード"),
            ("5250000000000000", "MASTER", "99665", "ユーシーカード"),
            ("4900000000000000", "VISA", "99663", "三井住友カード"),
            ("5500000000000000", "MASTER", "99663", "三井住友カード"),
            ("3530000000000000", "JCB", "99661", "ＪＣＢ"),
        ],
    )
    def test_leading_digits_choose_brand_and_acquirer(
        self, number: str, brand: str, acq_id: str, acq_name: str
    ) -> None:
        card_route = rules.route(CardNumber(number))
        assert (card_route.brand, card_route.acquirer.code, card_route.acquirer.name) == (
            brand,
            acq_id,
            acq_name,
        )

    def test_domestic_issuer_example(self) -> None:
        card_route = rules.route(CardNumber("5120790000000000"))
        assert card_route.issur_class == "0"
        assert card_route.issuer.name == "三井住友カード"

    def test_foreign_issuer_example(self) -> None:
        card_route = rules.route(CardNumber("4000000000000000"))
        assert card_route.issur_class == "1"
        assert (card_route.issuer.code, card_route.issuer.name) == ("", "海外発行カード")

    def test_saison_issues_and_acquires_its_own_cards(self) -> None:
        card_route = rules.route(CardNumber("4541000000000000"))
        assert card_route.issuer == card_route.acquirer == rules.SAISON


RESPONSE_CODES = {"", "2001", "2002", "2003", "2008"}


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_any_16_digit_number_gets_a_classified_answer(number: str) -> None:
    card = CardNumber(number)
    auth = authorise(number)
    assert auth.response_code in RESPONSE_CODES
    assert auth.ok == (auth.response_detail == "")
    assert rules.cancellation_result(card.last4).response_code in RESPONSE_CODES
    card_route = rules.route(card)
    assert card_route.acquirer.code and card_route.acquirer.name and card_route.issuer.name
    assert card_route.issur_class in {"0", "1"}
