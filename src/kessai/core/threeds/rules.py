"""What an authentication's outcome means on the wire: the term_url result, attempt_kbn and
response code (paygent-protocol.md §1.5 450), as a table; and the authentication's lifecycle.

Statuses: ``waiting`` (450 answered, the ACS not reached or not answering) → ``challenge``
(password page shown) → ``done`` (decided once, for good); ``waiting``/``challenge`` →
``timed_out`` 30 minutes after the 450. A 020 may use a ``done`` authentication whose result is 0,
once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, assert_never

from kessai.connectors.base import ThreeDSFlow, ThreeDSOutcome

WAITING: Final = "waiting"
CHALLENGE: Final = "challenge"
DONE: Final = "done"
TIMED_OUT: Final = "timed_out"
OPEN_STATUSES: Final = (WAITING, CHALLENGE)

LIFETIME: Final = timedelta(minutes=30)  # PAYGENT's: then the timeout notice (31013)
MESSAGE_VERSION: Final = "2.2.0"  # 3dsecure_message_version of the payments that use one
MAX_CHALLENGE_TRIES: Final = 3  # unrecognised passwords before the ACS fails the authentication
NOTICE_RETRY: Final = timedelta(minutes=60)
NOTICE_ATTEMPTS: Final = 4  # the timeout notice, then 3 retries an hour apart

FAILED: Final = "31007"  # authentication failed (N, R, or the wrong challenge answer)
SERVER_ERROR: Final = "31012"  # the 3-D Secure server or ACS refused the request
TIMEOUT: Final = "31013"  # nobody authenticated within 30 minutes


@dataclass(frozen=True, slots=True)
class Verdict:
    """An authentication's result as the merchant sees it on term_url."""

    result: str  # "0" the 020 may follow, "1" failed
    attempt_kbn: str  # "0" authenticated, "1" attempt, "" on failure
    response_code: str = ""

    @property
    def ok(self) -> bool:
        return self.result == "0"


# transStatus → verdict (EMV 3DS 2.2 table 'Transaction Status').
_BY_TRANS_STATUS: Final[dict[str, Verdict]] = {
    "Y": Verdict("0", "0"),  # authenticated
    "A": Verdict("0", "1"),  # attempted: the issuer's ACS stood in
    "U": Verdict("0", "1"),  # could not be performed: authorised as an attempt
    "N": Verdict("1", "", FAILED),
    "R": Verdict("1", "", FAILED),
}
TIMED_OUT_VERDICT: Final = Verdict("1", "", TIMEOUT)


def verdict(outcome: ThreeDSOutcome) -> Verdict:
    """The result of a decided outcome (frictionless or after a challenge, or an error)."""
    match outcome.flow:
        case ThreeDSFlow.ERROR:
            return Verdict("1", "", SERVER_ERROR)
        case ThreeDSFlow.FRICTIONLESS:
            return _BY_TRANS_STATUS.get(outcome.trans_status, Verdict("1", "", FAILED))
        case ThreeDSFlow.CHALLENGE | ThreeDSFlow.NO_ANSWER:
            raise ValueError(f"{outcome.flow} is not a decision")
        case _:
            assert_never(outcome.flow)
