"""Every model, imported in one place so metadata is complete (Alembic, tests)."""

from kessai.core.cards.models import CardRefresh, CardRefreshSchedule, StoredCard, VaultCard
from kessai.core.console.models import (
    AuditEntry,
    BulkAction,
    BulkRow,
    CertificateDownload,
    ConsoleCertificate,
    ConsoleSession,
    ConsoleUser,
)
from kessai.core.files.models import PaymentFile, PaymentFileLine
from kessai.core.institution_reports.models import (
    InstitutionReport,
    InstitutionReportLine,
    SettlementBreak,
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
from kessai.core.reconcile.models import Reconciliation, ReconciliationRow
from kessai.core.statements.models import FeeSchedule, PayoutFeeTerms, Statement, StatementLine
from kessai.core.threeds.models import ThreeDSAuthentication
from kessai.db.base import Base

__all__ = [
    "AuditEntry",
    "BankNetRequest",
    "Base",
    "BulkAction",
    "BulkRow",
    "CardRefresh",
    "CardRefreshSchedule",
    "CarrierOpenId",
    "CertificateDownload",
    "ConsoleCertificate",
    "ConsoleSession",
    "ConsoleUser",
    "FeeSchedule",
    "InstitutionReport",
    "InstitutionReportLine",
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
    "PaymentFile",
    "PaymentFileLine",
    "PaymentOperation",
    "PayoutFeeTerms",
    "PayoutSettings",
    "PayoutTransfer",
    "Reconciliation",
    "ReconciliationRow",
    "SettlementBreak",
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
