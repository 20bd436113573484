"""The sandbox account updater's stub rules (洗替): pure, chosen by the card number's last digits.

Cards whose last four digits are `7YZZ` get an answer by `Y`; every other card is unchanged. `X=7`
is free in the card stub (`rules`): such cards authorise OK, so a card keeps working with the
acquirer until the updater says otherwise.

=========  ====================  ===========================================================
last 4     answer                what the vault holds afterwards
=========  ====================  ===========================================================
``71ZZ``   new expiry            the same number, expiry 4 years later (``1230`` → ``1234``)
``72ZZ``   new number            the number with its ``7`` made ``0`` (…``7200`` → …``0200``),
                                 expiry 4 years later
``73ZZ``   closed                unchanged, but the stored card can no longer pay
``74ZZ``   contact cardholder    unchanged, flagged: ask the cardholder for their card
``79ZZ``   no answer (unknown)   unchanged; asked again on the next run
other      unchanged             unchanged
=========  ====================  ===========================================================

The new number keeps the first digits and the ``YZZ`` digits, so it is easy to recognise in a test,
and ends ``0YZZ``: it authorises OK and is unchanged by a later run.
"""

from __future__ import annotations

from typing import Final

from kessai.connectors.base import CardUpdate, CardUpdateAnswer
from kessai.kit.secrets import CardNumber

UPDATER_DIGIT: Final = "7"  # the X of XYZZ that selects an updater answer
YEARS_AHEAD: Final = 4  # how much later a reissued card expires

_BY_Y: Final[dict[str, CardUpdate]] = {
    "1": CardUpdate.NEW_EXPIRY,
    "2": CardUpdate.NEW_NUMBER,
    "3": CardUpdate.CLOSED,
    "4": CardUpdate.CONTACT_CARDHOLDER,
    "9": CardUpdate.UNKNOWN,
}


def answer_for(number: CardNumber, valid_term: str) -> CardUpdateAnswer:
    """The stub's answer for a card ending `XYZZ` with expiry `valid_term` (MMYY)."""
    last4 = number.last4
    if len(last4) != 4 or last4[0] != UPDATER_DIGIT:
        return CardUpdateAnswer(CardUpdate.UNCHANGED)
    outcome = _BY_Y.get(last4[1], CardUpdate.UNCHANGED)
    match outcome:
        case CardUpdate.NEW_EXPIRY:
            return CardUpdateAnswer(outcome, valid_term=later_expiry(valid_term))
        case CardUpdate.NEW_NUMBER:
            return CardUpdateAnswer(
                outcome, valid_term=later_expiry(valid_term), number=replacement(number)
            )
        case _:
            return CardUpdateAnswer(outcome)


def later_expiry(valid_term: str) -> str:
    """`MMYY` moved `YEARS_AHEAD` years on (two-digit years wrap: ``1298`` → ``1202``)."""
    if len(valid_term) != 4 or not valid_term.isdigit():
        return valid_term
    return f"{valid_term[:2]}{(int(valid_term[2:]) + YEARS_AHEAD) % 100:02d}"


def replacement(number: CardNumber) -> CardNumber:
    """The card that replaces `number`: its `X` digit (the fourth from the end) made ``0``."""
    pan = number.reveal()  # only to derive the sandbox's new number; never kept or shown
    return CardNumber(pan[:-4] + "0" + pan[-3:])
