"""The SDK's exceptions: the telegram could not be exchanged, or the answer was not a telegram.

A decline is not an exception: the gateway answered, and the result says ``result=1`` with its code.
Exceptions carry the telegram kind (``020``, …) and never a card number, a security code or a
password: messages are built from the kind and what went wrong, never from request fields.

Tree::

    KessaiClientError
    ├── TransportError   the request could not be sent, or the connection broke before an answer
    ├── TimeoutError     no answer in time; `outcome_unknown`: the gateway may have acted
    └── ProtocolError    not a telegram (HTTP status ≠ 200, no `result`, malformed CSV)
"""

from __future__ import annotations


class KessaiClientError(Exception):
    """Base of the SDK's errors. `kind` is the telegram kind (e.g. ``"020"``) or None."""

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(f"telegram {kind}: {message}" if kind else message)
        self.kind = kind


class TransportError(KessaiClientError):
    """The exchange failed at the network or TLS level.

    `request_sent` is False when the connection was never established (nothing reached the gateway),
    True when it broke after the request may have been written (the outcome is then unknown).
    """

    def __init__(self, message: str, *, kind: str | None = None, request_sent: bool = True) -> None:
        super().__init__(message, kind=kind)
        self.request_sent = request_sent


class TimeoutError(KessaiClientError):
    """No answer in time.

    `outcome_unknown` is True when the request may have reached the gateway: the payment may or may
    not exist. Inquire (094) by `trading_id` later before trying again.
    """

    def __init__(
        self, message: str, *, kind: str | None = None, outcome_unknown: bool = True
    ) -> None:
        super().__init__(message, kind=kind)
        self.outcome_unknown = outcome_unknown


class ProtocolError(KessaiClientError):
    """The answer is not a telegram: HTTP status other than 200, no ``result``, or malformed CSV.

    `status_code` is the HTTP status when there was one.
    """

    def __init__(
        self, message: str, *, kind: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(message, kind=kind)
        self.status_code = status_code
