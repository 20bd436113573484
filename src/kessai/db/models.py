"""Every model, imported in one place so metadata is complete (Alembic, tests)."""

from kessai.core.cards.models import StoredCard, VaultCard
from kessai.core.console.models import (
    AuditEntry,
    BulkAction,
    BulkRow,
    CertificateDownload,
    ConsoleCertificate,
    ConsoleSession,
    ConsoleUser,
)
from kessai.core.ledger.models import LedgerEntry
from kessai.core.link.models import LinkRequest, MerchantLogo
from kessai.core.merchants.models import Merchant, TelegramReplay
from kessai.core.notifications.models import Notice, NoticeAttempt, NoticeCounter, NoticeReadCursor
from kessai.core.payments.banknet.models import BankNetRequest
from kessai.core.payments.carrier.models import CarrierOpenId
from kessai.core.payments.models import Payment, PaymentEvent, PaymentOperation
from kessai.core.payments.vaccount.models import (
    VirtualAccount,
    VirtualAccountClaim,
    VirtualAccountTerms,
    VirtualAccountTransfer,
)
from kessai.core.payouts.models import PayoutSettings, PayoutTransfer
from kessai.core.statements.models import FeeSchedule, PayoutFeeTerms, Statement, StatementLine
from kessai.core.threeds.models import ThreeDSAuthentication
from kessai.db.base import Base

__all__ = [
    "AuditEntry",
    "BankNetRequest",
    "Base",
    "BulkAction",
    "BulkRow",
    "CarrierOpenId",
    "CertificateDownload",
    "ConsoleCertificate",
    "ConsoleSession",
    "ConsoleUser",
    "FeeSchedule",
    "LedgerEntry",
    "LinkRequest",
    "Merchant",
    "MerchantLogo",
    "Notice",
    "NoticeAttempt",
    "NoticeCounter",
    "NoticeReadCursor",
    "Payment",
    "PaymentEvent",
    "PaymentOperation",
    "PayoutFeeTerms",
    "PayoutSettings",
    "PayoutTransfer",
    "Statement",
    "StatementLine",
    "StoredCard",
    "TelegramReplay",
    "ThreeDSAuthentication",
    "VaultCard",
    "VirtualAccount",
    "VirtualAccountClaim",
    "VirtualAccountTerms",
    "VirtualAccountTransfer",
]
