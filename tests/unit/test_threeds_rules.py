"""EMV 3-D Secure 2 as pure rules: the result hash (PAYGENT's published vector, the SDK's copy),
the sandbox ACS's names, amounts and passwords (paygent-protocol.md §4), and what each outcome
means on term_url."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.client import threeds_result_hash, verify_threeds_result
from kessai.connectors.base import ThreeDSFlow, ThreeDSOutcome
from kessai.connectors.sandbox.threeds_rules import challenge_answer, first_answer
from kessai.core.threeds.rules import Verdict, verdict
from kessai.core.threeds.signing import result_hash, verify_params

VECTOR_KEY = "test_1234567890123456789"
VECTOR_ID = "11111111-1111-1111-1111-111111111111"
VECTOR_HC = "e3f5400fb96b6ae955ac16f58cc81ba33e93f5ae35ec4a07bac6f0496c51bc43"


def test_result_hash_matches_paygents_published_vector() -> None:
    assert result_hash("0", VECTOR_ID, "0", VECTOR_KEY) == VECTOR_HC


def test_sdk_result_hash_matches_paygents_published_vector() -> None:
    assert threeds_result_hash("0", VECTOR_ID, "0", VECTOR_KEY) == VECTOR_HC


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)


@given(result=st.sampled_from(["0", "1"]), auth_id=_text, attempt=_text, key=_text)
def test_server_and_sdk_hash_alike(result: str, auth_id: str, attempt: str, key: str) -> None:
    assert result_hash(result, auth_id, attempt, key) == threeds_result_hash(
        result, auth_id, attempt, key
    )


@pytest.mark.parametrize("name", ["result", "3ds_auth_id", "attempt_kbn", "hc"])
def test_a_changed_signed_parameter_fails_verification(name: str) -> None:
    params = {"result": "0", "3ds_auth_id": VECTOR_ID, "attempt_kbn": "0", "hc": VECTOR_HC}
    assert verify_params(params, VECTOR_KEY) and verify_threeds_result(params, VECTOR_KEY)
    tampered = {**params, name: params[name][:-1] + ("1" if params[name][-1] != "1" else "2")}
    assert not verify_params(tampered, VECTOR_KEY)
    assert not verify_threeds_result(tampered, VECTOR_KEY)


def test_verification_needs_the_merchants_key() -> None:
    params = {"result": "0", "3ds_auth_id": VECTOR_ID, "attempt_kbn": "0", "hc": VECTOR_HC}
    assert not verify_threeds_result(params, VECTOR_KEY + "x")


@pytest.mark.parametrize(
    ("name", "status"),
    [("BAVYA", "Y"), ("BAMAA", "A"), ("BAJUA", "U"), ("BAANA", "N"), ("BAJRA", "R")],
)
def test_frictionless_names_choose_the_transaction_status(name: str, status: str) -> None:
    assert first_answer(name, 1000) == ThreeDSOutcome(ThreeDSFlow.FRICTIONLESS, status)


@pytest.mark.parametrize("name", ["BAVCA", "BAMCA", "BAJCA", "BAACA", "bavca", "BA VCA"])
def test_challenge_names_open_the_password_page(name: str) -> None:
    assert first_answer(name, 1000).flow is ThreeDSFlow.CHALLENGE


def test_error_names() -> None:
    assert first_answer("BBErrABAB", 1000).flow is ThreeDSFlow.ERROR
    assert first_answer("BBErrABAB", 1000).server_error_code
    assert first_answer("BDErrInvalidInput", 1000).requestor_error_code
    assert first_answer("BCErrTimeOut", 1000).flow is ThreeDSFlow.NO_ANSWER


@pytest.mark.parametrize(
    ("amount", "status"),
    [(314010, "Y"), (313510, "Y"), (314020, "A"), (314030, "U"), (314040, "N"), (314050, "R")],
)
def test_amounts_steer_when_the_name_does_not(amount: int, status: str) -> None:
    assert first_answer("TARO YAMADA", amount).trans_status == status


def test_the_name_wins_over_the_amount() -> None:
    assert first_answer("BAVNA", 314010).trans_status == "N"
    assert first_answer("BAVYA", 314060).flow is ThreeDSFlow.FRICTIONLESS
    assert first_answer("", 314060).flow is ThreeDSFlow.CHALLENGE


def test_anything_else_is_a_frictionless_success() -> None:
    assert first_answer("TARO YAMADA", 1000) == ThreeDSOutcome(ThreeDSFlow.FRICTIONLESS, "Y")
    assert first_answer("BAXYA", 1000).trans_status == "Y"  # no such brand letter: ordinary


@pytest.mark.parametrize(("password", "status"), [("14012", "Y"), ("14042", "N"), ("14052", "A")])
def test_challenge_passwords(password: str, status: str) -> None:
    answer = challenge_answer(password)
    assert answer is not None and answer.trans_status == status


@pytest.mark.parametrize("password", ["", "1401", "14013", "password"])
def test_other_passwords_are_not_recognised(password: str) -> None:
    assert challenge_answer(password) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Y", Verdict("0", "0")),
        ("A", Verdict("0", "1")),
        ("U", Verdict("0", "1")),
        ("N", Verdict("1", "", "31007")),
        ("R", Verdict("1", "", "31007")),
    ],
)
def test_each_transaction_status_has_its_term_url_result(status: str, expected: Verdict) -> None:
    assert verdict(ThreeDSOutcome(ThreeDSFlow.FRICTIONLESS, status)) == expected


def test_an_error_answers_31012() -> None:
    assert verdict(ThreeDSOutcome(ThreeDSFlow.ERROR, server_error_code="101")).response_code == (
        "31012"
    )


@pytest.mark.parametrize("flow", [ThreeDSFlow.CHALLENGE, ThreeDSFlow.NO_ANSWER])
def test_a_challenge_or_no_answer_is_no_verdict(flow: ThreeDSFlow) -> None:
    with pytest.raises(ValueError):
        verdict(ThreeDSOutcome(flow))
