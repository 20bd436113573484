"""A 020 with `3dsecure_use_type=2` and `3ds_auth_id`: the checks on the authentication, made under
its row lock inside the authorisation's first transaction, and marking it used there too — so two
020s racing with one auth id make one payment, the other answers 31010.

Codes (paygent-protocol.md §1.7, 31008–31011 as Kessai assigns them):

- 31008: no such authentication for this merchant (unknown id, or another merchant's);
- 31009: not usable: not finished yet, failed (result 1), or timed out;
- 31010: already used by another payment;
- 31011: does not match the 020: another amount, another site, or another card.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kessai.core.context import MerchantRef
from kessai.core.threeds import rules
from kessai.core.threeds.models import ThreeDSAuthentication
from kessai.core.threeds.records import expire, lock
from kessai.kit.errors import InvalidRequest, InvalidState, NotFound

NOT_FOUND = "31008"
NOT_USABLE = "31009"
ALREADY_USED = "31010"
MISMATCH = "31011"


def claim(
    session: Session,
    merchant: MerchantRef,
    auth_id: str,
    *,
    amount: int,
    site_id: str,
    now: datetime,
    retry_payment_id: int | None = None,
) -> ThreeDSAuthentication:
    """The authentication a 020 names, locked, after every check that needs no card. A retry of
    the payment that already used it (2003, same payment_id) may use it again."""
    auth = lock(session, auth_id)
    if auth is None or auth.merchant_id != merchant.id:
        raise NotFound(NOT_FOUND)
    if auth.payment_id is not None and auth.payment_id != retry_payment_id:
        raise InvalidState(ALREADY_USED)
    if auth.status in rules.OPEN_STATUSES and auth.expires_at <= now:
        expire(auth, now)  # the worker had not got to it yet
    if auth.status != rules.DONE or auth.result != "0":
        raise InvalidState(NOT_USABLE)
    if auth.amount != amount or str(auth.details.get("site_id", "")) != site_id:
        raise InvalidRequest(MISMATCH)
    return auth


def check_card(auth: ThreeDSAuthentication, fingerprint: str) -> None:
    """31011 unless the 020's card (when it sends one) is the card that was authenticated."""
    if fingerprint != str(auth.details.get("card", {}).get("fingerprint", "")):
        raise InvalidRequest(MISMATCH)


def valid_term(auth: ThreeDSAuthentication) -> str:
    """The authenticated card's expiry (MMYY), for a 020 that sends no card."""
    return str(auth.details.get("card_valid_term", ""))


def mark_used(auth: ThreeDSAuthentication, payment_id: int, now: datetime) -> None:
    """The authentication now belongs to `payment_id` (in the authorisation's transaction)."""
    auth.payment_id = payment_id
    auth.updated_at = now


def payment_details(auth: ThreeDSAuthentication) -> dict[str, object]:
    """What the payment records of its authentication (094's and 020's 3-D Secure fields)."""
    return {
        "attempt_kbn": auth.attempt_kbn,
        "3dsecure_message_version": rules.MESSAGE_VERSION,
        "3ds_auth_id": auth.auth_id,
    }
