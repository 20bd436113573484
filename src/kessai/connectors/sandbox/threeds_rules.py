"""PAYGENT's sandbox EMV 3-D Secure 2 stub (telegram 450) as pure rules (paygent-protocol.md §4).

The cardholder name or the amount chooses what the simulated ACS answers; when both would, the
name wins. Nothing here does I/O or keeps state.

Cardholder names (upper or lower case; spaces ignored):

=================  ==========================================================================
name               answer
=================  ==========================================================================
``BA?YA``          frictionless, transStatus Y (authenticated)         → result 0, attempt_kbn 0
``BA?AA``          frictionless, transStatus A (attempted)             → result 0, attempt_kbn 1
``BA?UA``          frictionless, transStatus U (could not authenticate) → result 0, attempt_kbn 1
``BA?NA``          frictionless, transStatus N (not authenticated)     → result 1, 31007
``BA?RA``          frictionless, transStatus R (rejected)              → result 1, 31007
``BA?CA``          challenge: the password page decides (below)
``BBErrABAB``      the 3-D Secure server refuses                        → result 1, 31012
``BCErrTimeOut``   the ACS never answers: only the 30-minute timeout (31013) ends it
``BDErrInvalidInput``  the request is refused as invalid                → result 1, 31012
=================  ==========================================================================

``?`` is the brand letter, ``V`` Visa, ``M`` Mastercard, ``J`` JCB or ``A`` American Express. It
is accepted whatever the card's own brand is (the answer's `card_brand` comes from the number).

Challenge passwords, for every brand: ``14012`` → Y, ``14042`` → N (failure), ``14052`` → A
(attempt). Any other password is not recognised: the page asks again.

Amounts, when the name says nothing (yen): 314010 and 313510 → Y, 314020 → A, 314030 → U,
314040 → N, 314050 → R, 314060 → challenge, 314070 → server error. Anything else: frictionless Y.
"""

from __future__ import annotations

import re
from typing import Final

from kessai.connectors.base import ThreeDSFlow, ThreeDSOutcome

# EMV 3DS error codes carried on the term_url GET for the error names.
SERVER_ERROR_CODE: Final = "101"  # "message received invalid"
INVALID_INPUT_CODE: Final = "203"  # "format of one or more data elements is invalid"

PASSWORD_SUCCESS: Final = "14012"
PASSWORD_FAILURE: Final = "14042"
PASSWORD_ATTEMPT: Final = "14052"

_FRICTIONLESS_NAME: Final = re.compile(r"BA[VMJA]([YAUNR])A")
_CHALLENGE_NAME: Final = re.compile(r"BA[VMJA]CA")

_SERVER_ERROR: Final = ThreeDSOutcome(ThreeDSFlow.ERROR, server_error_code=SERVER_ERROR_CODE)
_INVALID_INPUT: Final = ThreeDSOutcome(ThreeDSFlow.ERROR, requestor_error_code=INVALID_INPUT_CODE)
_NO_ANSWER: Final = ThreeDSOutcome(ThreeDSFlow.NO_ANSWER)
_CHALLENGE: Final = ThreeDSOutcome(ThreeDSFlow.CHALLENGE)

_ERROR_NAMES: Final[dict[str, ThreeDSOutcome]] = {
    "BBERRABAB": _SERVER_ERROR,
    "BCERRTIMEOUT": _NO_ANSWER,
    "BDERRINVALIDINPUT": _INVALID_INPUT,
}


def _frictionless(status: str) -> ThreeDSOutcome:
    return ThreeDSOutcome(ThreeDSFlow.FRICTIONLESS, trans_status=status)


_AMOUNTS: Final[dict[int, ThreeDSOutcome]] = {
    314010: _frictionless("Y"),  # Visa-style success
    313510: _frictionless("Y"),  # JCB-style success
    314020: _frictionless("A"),
    314030: _frictionless("U"),
    314040: _frictionless("N"),
    314050: _frictionless("R"),
    314060: _CHALLENGE,
    314070: _SERVER_ERROR,
}

_PASSWORDS: Final[dict[str, str]] = {
    PASSWORD_SUCCESS: "Y",
    PASSWORD_FAILURE: "N",
    PASSWORD_ATTEMPT: "A",
}


def first_answer(cardholder_name: str, amount: int) -> ThreeDSOutcome:
    """What the sandbox ACS answers to an authentication request."""
    return _by_name(cardholder_name) or _AMOUNTS.get(amount) or _frictionless("Y")


def challenge_answer(password: str) -> ThreeDSOutcome | None:
    """The decision for a password typed on the challenge page; None when not recognised."""
    status = _PASSWORDS.get(password.strip())
    return _frictionless(status) if status else None


def _by_name(cardholder_name: str) -> ThreeDSOutcome | None:
    name = "".join(cardholder_name.split()).upper()
    if name in _ERROR_NAMES:
        return _ERROR_NAMES[name]
    if _CHALLENGE_NAME.fullmatch(name):
        return _CHALLENGE
    found = _FRICTIONLESS_NAME.fullmatch(name)
    return _frictionless(found.group(1)) if found else None
