"""The sandbox account updater's stub rules (洗替): the table in `updater_rules`' docstring."""

from __future__ import annotations

import pytest

from kessai.connectors.base import CardUpdate
from kessai.connectors.sandbox import rules, updater_rules
from kessai.kit.secrets import CardNumber


@pytest.mark.parametrize(
    ("last4", "outcome"),
    [
        ("7100", CardUpdate.NEW_EXPIRY),
        ("7299", CardUpdate.NEW_NUMBER),
        ("7312", CardUpdate.CLOSED),
        ("7400", CardUpdate.CONTACT_CARDHOLDER),
        ("7900", CardUpdate.UNKNOWN),
        ("7000", CardUpdate.UNCHANGED),
        ("7500", CardUpdate.UNCHANGED),
        ("1234", CardUpdate.UNCHANGED),
        ("8212", CardUpdate.UNCHANGED),  # the card stub's decline digits are not the updater's
    ],
)
def test_last_digits_choose_the_answer(last4: str, outcome: CardUpdate) -> None:
    answer = updater_rules.answer_for(CardNumber("490000000000" + last4), "1230")
    assert answer.outcome is outcome
    assert (answer.number is not None) == (outcome is CardUpdate.NEW_NUMBER)


def test_new_number_keeps_the_digits_around_x_and_pays_and_stays() -> None:
    answer = updater_rules.answer_for(CardNumber("4900000000007245"), "0527")
    assert answer.number is not None
    assert answer.number.reveal() == "4900000000000245"
    assert answer.valid_term == "0531"
    # The new card authorises in the card stub and is unchanged by the next run.
    assert rules.cancellation_result(answer.number.last4).ok
    assert updater_rules.answer_for(answer.number, "0531").outcome is CardUpdate.UNCHANGED


@pytest.mark.parametrize(("term", "later"), [("1230", "1234"), ("0198", "0102"), ("bad", "bad")])
def test_later_expiry_moves_four_years_and_wraps(term: str, later: str) -> None:
    assert updater_rules.later_expiry(term) == later


def test_answer_never_shows_a_number() -> None:
    answer = updater_rules.answer_for(CardNumber("4900000000007245"), "0527")
    assert "4900000000000245" not in repr(answer)
