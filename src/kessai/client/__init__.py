"""Kessai's connection module (接続モジュール): PAYGENT-compatible telegrams over HTTPS.

Needs only `httpx` and the standard library; it never imports the server's packages. Example::

    from kessai.client import KessaiClient

    with KessaiClient(
        "https://kessai.example",
        merchant_id=123,
        connect_id="shop",
        connect_password="...",
        cert=("123.pem", "123.key"),
        ca="server-ca.pem",
    ) as kessai:
        auth = kessai.authorize(
            trading_id="order_42", payment_amount=1500, card_token=token, retry_on_timeout=True
        )
        if auth.ok:
            kessai.capture(payment_id=auth.payment_id)
        else:
            print(auth.response_code, auth.response_detail)  # a decline is a result, not an error
"""

from kessai.client import _notices as notices
from kessai.client._client import KessaiClient, SlipItem
from kessai.client._errors import KessaiClientError, ProtocolError, TimeoutError, TransportError
from kessai.client._link import LinkPage, SignedLink, link_hash, link_hmac, signed_link
from kessai.client._notices import (
    NOTICE_ACK,
    FileNotice,
    Notice,
    NoticeVerificationError,
    file_notice_hash,
    is_file_notice,
    notice_hash,
    verify_file_notice,
    verify_notice,
)
from kessai.client._results import (
    AuthorizationResult,
    BankNetResult,
    CardList,
    CardResult,
    CarrierRedirect,
    CorrectionResult,
    FileReceipt,
    FileResult,
    FileResultLine,
    PaidLaterApplication,
    PaymentInquiry,
    Response,
    SlipResult,
    StoredCard,
    ThreeDSResult,
    VirtualAccountResult,
)
from kessai.client._sandbox import SandboxClient, SandboxError
from kessai.client._telegram import Kind
from kessai.client._threeds import threeds_result_hash, verify_threeds_result

__all__ = [
    "NOTICE_ACK",
    "AuthorizationResult",
    "BankNetResult",
    "CardList",
    "CardResult",
    "CarrierRedirect",
    "CorrectionResult",
    "FileNotice",
    "FileReceipt",
    "FileResult",
    "FileResultLine",
    "KessaiClient",
    "KessaiClientError",
    "Kind",
    "LinkPage",
    "Notice",
    "NoticeVerificationError",
    "PaidLaterApplication",
    "PaymentInquiry",
    "ProtocolError",
    "Response",
    "SandboxClient",
    "SandboxError",
    "SignedLink",
    "SlipItem",
    "SlipResult",
    "StoredCard",
    "ThreeDSResult",
    "TimeoutError",
    "TransportError",
    "VirtualAccountResult",
    "file_notice_hash",
    "is_file_notice",
    "link_hash",
    "link_hmac",
    "notice_hash",
    "notices",
    "signed_link",
    "threeds_result_hash",
    "verify_file_notice",
    "verify_notice",
    "verify_threeds_result",
]
