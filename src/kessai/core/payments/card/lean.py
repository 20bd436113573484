"""The lean path of a plain card authorisation (020) and capture (022) on PostgreSQL: each
transaction is ONE statement.

The ORM path (`commands.authorize`) costs about a dozen round trips and most of a core's CPU per
authorisation (bench/README.md). Here the same rows are written by two data-modifying CTEs, each sent
alone in autocommit (`kessai.db.session.one_statement`): one round trip per transaction, no BEGIN or
COMMIT, the SQL text fixed so psycopg keeps it prepared. A file's lines send them through
`kessai.db.group_commit.run_statement`, which commits several lines' statements together. The order of the write-ahead design stays:

1. `OPEN_AUTHORIZATION`: the in-flight check on the trading_id, the sealed card, the payment (申込済)
   and the operation `sending`, atomically; no row when the trading_id is in flight (InProgress).
2. The acquirer is called outside any transaction; a crash here leaves the `sending` row that the
   reconciler settles, exactly as on the ORM path.
3. `SETTLE_AUTHORIZED`: under the payment's row lock, the operation `succeeded` (only if still
   open, so a reconciler that got there first wins and nothing is applied twice), the payment 20
   with the acquirer's stamps, the history row, the notice counter bump and the notice, in one
   transaction: a notice reader never sees a number without its notice (091).

Only the common case takes this path: a card number in the telegram, authorisation without capture,
no 3-D Secure, no retry of an earlier payment, on PostgreSQL. Everything else, and every outcome but
a clean success (a refusal, an unknown answer, an integrity failure, an operation already settled),
goes through the ORM code, which remains the reference for behaviour. SQLite keeps the ORM path.
A capture (022) by payment_id takes the same shape (`OPEN_CAPTURE`, `SETTLE_CAPTURED`, the SALE entry
of the ledger inside the second): the first statement writes the operation only for a payment in
20, not expired, with nothing in flight; anything else writes nothing and the ORM path judges it.
The statements are module constants so that `bench/auth.py` measures the storage limit with exactly
these texts.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.base import manager_of_class

from kessai.connectors.base import CardAcquirer, ConnectorResult, Outcome
from kessai.core.context import Core, MerchantRef
from kessai.core.ledger.postings import payment_move_entry
from kessai.core.notifications.outbox import notice_fields
from kessai.core.payments.card.requests import AuthorizeRequest
from kessai.core.payments.card.states import AUTH_LIFETIME, CardOperation, CardStatus
from kessai.core.payments.models import Payment
from kessai.core.payments.operations import file_line
from kessai.core.payments.refs import PaymentRef
from kessai.core.payments.settle import stamp_authorization
from kessai.core.payments.views import OperationResult, PaymentView
from kessai.db.group_commit import run_statement
from kessai.db.session import dialect_of
from kessai.kit.errors import InProgress


def _notice_tail(status: str) -> str:
    """The end both settle statements share: the merchant's notice counter bumped and the notice
    for `status` written (its number spliced into the fields), to the link's inform_url if any;
    `skipped` at once when it has nowhere to go (outbox.record_change's rule).
    A merchant without a counter row fails the whole statement (a NULL payment_notice_id), as the
    ORM's `record_change` does, rather than settling the payment without its notice."""
    return f"""\
), counter AS (
  UPDATE notice_counters SET last_notice_id = last_notice_id + 1
  WHERE merchant_id = %(merchant_id)s AND EXISTS (SELECT 1 FROM payment)
  RETURNING last_notice_id
)
INSERT INTO notices (merchant_id, payment_notice_id, payment_id, kind, payment_seq,
  payment_status, fields, site_id, push_url, delivery_status, attempts, next_attempt_at,
  last_error, created_at)
SELECT payment.merchant_id, counter.last_notice_id, payment.id, 'payment', payment.notice_count,
  '{status}', CAST(CAST(%(fields_head)s AS text) || counter.last_notice_id || %(fields_tail)s AS json),
  payment.site_id, dest.push_url,
  CASE WHEN dest.addressed THEN 'pending' ELSE 'skipped' END, 0,
  CASE WHEN dest.addressed THEN CAST(%(now)s AS timestamptz) END, '', CAST(%(now)s AS timestamptz)
FROM payment LEFT JOIN counter ON true
CROSS JOIN LATERAL (
  SELECT link.push_url, link.push_url IS NOT NULL OR COALESCE(m.notification_url, '') <> ''
    AS addressed
  FROM merchants m LEFT JOIN LATERAL (
    SELECT CASE WHEN m.inform_url_mode = 'replace'
             THEN NULLIF(l.params ->> 'inform_url', '') END AS push_url
    FROM link_requests l
    WHERE l.merchant_id = payment.merchant_id AND l.trading_id = payment.trading_id
      AND payment.trading_id <> ''
    LIMIT 1
  ) link ON true
  WHERE m.id = payment.merchant_id
) dest
RETURNING payment_seq
"""


OPEN_AUTHORIZATION = """\
WITH busy AS (
  SELECT 1 FROM payment_operations o JOIN payments p ON p.id = o.payment_id
  WHERE p.merchant_id = %(merchant_id)s AND p.trading_id = %(trading_id)s
    AND %(trading_id)s <> '' AND o.status IN ('sending', 'unknown')
  LIMIT 1
), card AS (
  INSERT INTO vault_cards (key_id, wrapped_key, nonce, ciphertext, fingerprint, masked, brand,
    created_at)
  SELECT CAST(%(key_id)s AS text), CAST(%(wrapped_key)s AS bytea), CAST(%(nonce)s AS bytea),
    CAST(%(ciphertext)s AS bytea), CAST(%(fingerprint)s AS text), CAST(%(masked)s AS text),
    CAST(%(brand)s AS text), CAST(%(now)s AS timestamptz)
  WHERE NOT EXISTS (SELECT 1 FROM busy)
  RETURNING id
), payment AS (
  INSERT INTO payments (merchant_id, trading_id, site_id, payment_type, amount, status,
    institution_code, institution_name, vault_card_id, related_payment_id, notice_count, details,
    created_at, updated_at)
  SELECT CAST(%(merchant_id)s AS bigint), CAST(%(trading_id)s AS text), CAST(%(site_id)s AS text),
    '02', CAST(%(amount)s AS integer), '10', '', '', card.id,
    CAST(%(related_payment_id)s AS bigint), 0, CAST(%(details)s AS json),
    CAST(%(now)s AS timestamptz), CAST(%(now)s AS timestamptz)
  FROM card
  RETURNING id, vault_card_id
)
INSERT INTO payment_operations (payment_id, kind, status, idempotency_key, amount, response_code,
  response_detail, attempts, created_at, updated_at, file_line_id)
SELECT payment.id, 'authorize', 'sending', CAST(%(idempotency_key)s AS text),
  CAST(%(amount)s AS integer), '', '', 0, CAST(%(now)s AS timestamptz),
  CAST(%(now)s AS timestamptz), CAST(%(file_line_id)s AS bigint)
FROM payment
RETURNING payment_id, id AS operation_id, (SELECT vault_card_id FROM payment) AS vault_card_id
"""

SETTLE_AUTHORIZED = """\
WITH locked AS (
  SELECT id FROM payments WHERE id = %(payment_id)s AND status = '10' FOR UPDATE
), operation AS (
  UPDATE payment_operations
  SET status = 'succeeded', reference = COALESCE(NULLIF(%(reference)s, ''), reference),
    attempts = attempts + 1, updated_at = %(now)s
  WHERE id = %(operation_id)s AND status IN ('sending', 'unknown')
    AND EXISTS (SELECT 1 FROM locked)
  RETURNING payment_id
), payment AS (
  UPDATE payments
  SET status = '20', institution_ref = %(reference)s, institution_code = %(acq_id)s,
    institution_name = %(acq_name)s, details = CAST(%(details)s AS json), updated_at = %(now)s,
    authorized_at = %(now)s, notice_count = notice_count + 1
  WHERE id IN (SELECT payment_id FROM operation)
  RETURNING id, merchant_id, trading_id, site_id, notice_count
), event AS (
  INSERT INTO payment_events (payment_id, operation, from_status, to_status, amount,
    response_code, response_detail, created_at)
  SELECT id, 'authorize', '10', '20', CAST(%(amount)s AS integer), '', '',
    CAST(%(now)s AS timestamptz)
  FROM payment
""" + _notice_tail("20")

# The notice's fields are built here, its number in the statement: JSON text split around it.
_NOTICE_ID_MARK = "\x00notice\x00"


Settle = Callable[[Core, int, int, ConnectorResult], OperationResult]


def takes_lean_path(core: Core, req: AuthorizeRequest, operation: CardOperation) -> bool:
    """Whether this authorisation is the common case the lean statements cover."""
    return (
        req.card is not None
        and operation is CardOperation.AUTHORIZE
        and not req.threeds_auth_id
        and req.retry_payment_id is None
        and dialect_of(core.sessions) == "postgresql"
    )


def authorize(
    core: Core,
    merchant: MerchantRef,
    req: AuthorizeRequest,
    acquirer: CardAcquirer,
    settle: Settle,
) -> OperationResult:
    """Authorise (オーソリ) as `commands.authorize` does, in two one-statement transactions;
    `settle` (the ORM's) answers every outcome but a clean success."""
    assert req.card is not None
    payment, op_id, key = _open(core, merchant, req)
    result = acquirer.authorize(
        idempotency_key=key, card=req.card, amount=req.amount, capture=False
    )
    clean = result.outcome is Outcome.SUCCEEDED and result.amount in (None, payment.amount)
    answer = _settle_authorized(core, payment, op_id, result) if clean else None
    return answer or settle(core, payment.id, op_id, result)


def _open(core: Core, merchant: MerchantRef, req: AuthorizeRequest) -> tuple[Payment, int, str]:
    """Transaction 1 in one statement; InProgress when the trading_id is being authorised. The
    payment as written (attached to no session), its operation's id and idempotency key."""
    assert req.card is not None
    sealed = core.vault.seal(req.card.number)
    details = card_details(req, sealed.masked, sealed.brand, sealed.fingerprint)
    key, now = uuid.uuid4().hex, core.clock.now()
    values = {
        "merchant_id": merchant.id,
        "trading_id": req.trading_id,
        "site_id": req.site_id,
        "amount": req.amount,
        "related_payment_id": req.related_payment_id,
        "key_id": sealed.key_id,
        "wrapped_key": sealed.wrapped_key,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "fingerprint": sealed.fingerprint,
        "masked": sealed.masked,
        "brand": sealed.brand,
        "details": json.dumps(details),
        "idempotency_key": key,
        "file_line_id": file_line(),
        "now": now,
    }
    row = run_statement(core.sessions, OPEN_AUTHORIZATION, values)
    if row is None:
        raise InProgress()
    payment = _detached(
        id=int(row[0]),
        merchant_id=merchant.id,
        trading_id=req.trading_id,
        site_id=req.site_id,
        payment_type="02",
        amount=req.amount,
        status=CardStatus.APPLIED.value,
        institution_code="",
        institution_name="",
        vault_card_id=int(row[2]),
        related_payment_id=req.related_payment_id,
        notice_count=0,
        details=details,
        created_at=now,
        updated_at=now,
    )
    return payment, int(row[1]), key


def card_details(
    req: AuthorizeRequest, masked: str, brand: str, fingerprint: str
) -> dict[str, object]:
    """A new card payment's `details` (both paths write the same)."""
    return {
        "masked_card_number": "*" * 12 + masked[-4:],
        "card_display": masked,
        "card_brand": brand,
        "fingerprint": fingerprint,
        "card_valid_term": req.card.valid_term if req.card else req.valid_term,
        "payment_class": req.payment_class,
        "split_count": req.split_count,
        "customer_id": req.customer_id,
        "customer_card_id": req.customer_card_id,
        "sales_mode": "1" if req.capture else "0",
        "input_error_retries": 0,
    }


def _settle_authorized(
    core: Core, payment: Payment, op_id: int, result: ConnectorResult
) -> OperationResult | None:
    """Transaction 2 in one statement, for a clean success; None when the statement found the
    operation already settled (the caller then answers through the ORM's `settle`)."""
    now = core.clock.now()
    payment.status = CardStatus.AUTHORIZED.value
    payment.updated_at = now
    stamp_authorization(payment, result, now)
    payment.notice_count = 1
    head, tail = _split_fields(payment, now)
    values = {
        "payment_id": payment.id,
        "operation_id": op_id,
        "merchant_id": payment.merchant_id,
        "reference": result.reference,
        "acq_id": payment.institution_code,
        "acq_name": payment.institution_name,
        "details": json.dumps(payment.details),
        "amount": payment.amount,
        "fields_head": head,
        "fields_tail": tail,
        "now": now,
    }
    row = run_statement(core.sessions, SETTLE_AUTHORIZED, values)
    if row is None:
        return None
    payment.notice_count = int(row[0])
    return OperationResult(True, PaymentView.of(payment))


def _split_fields(payment: Payment, now: datetime) -> tuple[str, str]:
    """The notice's fields as JSON text, split where its number goes."""
    text = json.dumps(notice_fields(payment, 0, now) | {"payment_notice_id": _NOTICE_ID_MARK})
    head, tail = text.split(json.dumps(_NOTICE_ID_MARK), 1)
    return head + '"', '"' + tail


# ---------------------------------------------------------------- capture (022)

OPEN_CAPTURE = """\
WITH target AS (
  SELECT * FROM payments
  WHERE id = %(payment_id)s AND merchant_id = %(merchant_id)s AND payment_type = '02'
    AND status = '20' AND authorized_at > %(expired_before)s
    AND (%(trading_id)s = '' OR trading_id = %(trading_id)s)
  FOR UPDATE
)
INSERT INTO payment_operations (payment_id, kind, status, idempotency_key, amount, response_code,
  response_detail, attempts, created_at, updated_at, file_line_id)
SELECT target.id, 'capture', 'sending', CAST(%(idempotency_key)s AS text), target.amount, '', '',
  0, CAST(%(now)s AS timestamptz), CAST(%(now)s AS timestamptz), CAST(%(file_line_id)s AS bigint)
FROM target
WHERE NOT EXISTS (
  SELECT 1 FROM payment_operations o
  WHERE o.payment_id = target.id AND o.status IN ('sending', 'unknown'))
ON CONFLICT DO NOTHING
RETURNING id, (SELECT row_to_json(target) FROM target)
"""

SETTLE_CAPTURED = """\
WITH locked AS (
  SELECT id FROM payments WHERE id = %(payment_id)s AND status = '20' FOR UPDATE
), operation AS (
  UPDATE payment_operations
  SET status = 'succeeded', reference = COALESCE(NULLIF(%(reference)s, ''), reference),
    attempts = attempts + 1, updated_at = %(now)s
  WHERE id = %(operation_id)s AND status IN ('sending', 'unknown')
    AND EXISTS (SELECT 1 FROM locked)
  RETURNING payment_id
), payment AS (
  UPDATE payments
  SET status = '40', captured_at = %(now)s, updated_at = %(now)s,
    notice_count = notice_count + 1
  WHERE id IN (SELECT payment_id FROM operation)
  RETURNING id, merchant_id, trading_id, site_id, notice_count
), event AS (
  INSERT INTO payment_events (payment_id, operation, from_status, to_status, amount,
    response_code, response_detail, created_at)
  SELECT id, 'capture', '20', '40', CAST(%(amount)s AS integer), '', '',
    CAST(%(now)s AS timestamptz)
  FROM payment
), sale AS (
  INSERT INTO ledger_entries (merchant_id, payment_id, payment_type, institution, kind, debit,
    credit, amount, event_date, statement_id, created_at)
  SELECT payment.merchant_id, payment.id, '02', CAST(%(institution)s AS text),
    CAST(%(entry_kind)s AS text), CAST(%(debit)s AS text), CAST(%(credit)s AS text),
    CAST(%(amount)s AS bigint), CAST(%(event_date)s AS date), NULL,
    CAST(%(now)s AS timestamptz)
  FROM payment
""" + _notice_tail("40")


def takes_lean_capture(core: Core, ref: PaymentRef) -> bool:
    """Whether a capture names its payment by payment_id, on PostgreSQL (the lean statements)."""
    named = ref.payment_id.isascii() and ref.payment_id.isdigit() and len(ref.payment_id) <= 18
    return named and dialect_of(core.sessions) == "postgresql"


def capture(
    core: Core, merchant: MerchantRef, ref: PaymentRef, settle: Settle
) -> OperationResult | None:
    """Capture (売上) an authorisation (20, not expired, nothing in flight) in two one-statement
    transactions; None when the first statement wrote nothing (another status, an expired or
    unknown payment, an operation in flight: the ORM path answers those)."""
    acquirer = core.acquirer_for(merchant)  # P007 before the operation is written `sending`
    opened = _open_capture(core, merchant, ref)
    if opened is None:
        return None
    payment, op_id, key = opened
    result = acquirer.capture(
        idempotency_key=key, reference=payment.institution_ref or "", amount=payment.amount
    )
    clean = result.outcome is Outcome.SUCCEEDED and result.amount in (None, payment.amount)
    answer = _settle_captured(core, payment, op_id, result) if clean else None
    return answer or settle(core, payment.id, op_id, result)


def _open_capture(
    core: Core, merchant: MerchantRef, ref: PaymentRef
) -> tuple[Payment, int, str] | None:
    key, now = uuid.uuid4().hex, core.clock.now()
    values = {
        "payment_id": int(ref.payment_id),
        "merchant_id": merchant.id,
        "trading_id": ref.trading_id,
        "expired_before": core.now_for(merchant) - AUTH_LIFETIME,
        "idempotency_key": key,
        "file_line_id": file_line(),
        "now": now,
    }
    row = run_statement(core.sessions, OPEN_CAPTURE, values)
    if row is None:
        return None
    return _payment_of(row[1]), int(row[0]), key


def _payment_of(row: dict[str, Any]) -> Payment:
    """A payment row as `row_to_json` gives it, as a `Payment` attached to no session."""
    stamps = ("created_at", "updated_at", "authorized_at", "captured_at", "cancelled_at", "due_at")
    values = {name: row.get(name) for name in _PAYMENT_COLUMNS}
    for name in stamps:
        if values[name] is not None:
            values[name] = datetime.fromisoformat(str(values[name])).astimezone(UTC)
    return _detached(**values)


def _detached(**values: Any) -> Payment:
    """A `Payment` holding `values`, attached to no session: its columns are written straight
    into the instance, without the constructor's per-attribute events (3.4 against 16.6 µs)."""
    configure_mappers()  # at once when done; the attributes need their mapper set up
    payment: Payment = manager_of_class(Payment).new_instance()
    payment.__dict__.update(values)
    return payment


_PAYMENT_COLUMNS = tuple(column.key for column in Payment.__table__.columns)


def _settle_captured(
    core: Core, payment: Payment, op_id: int, result: ConnectorResult
) -> OperationResult | None:
    """Transaction 2 of a capture in one statement: the operation, 40, the history row, the SALE
    entry of the ledger and the notice; None when the operation was settled meanwhile."""
    now = core.clock.now()
    payment.status = CardStatus.CAPTURED.value
    payment.captured_at = payment.updated_at = now
    payment.notice_count = (payment.notice_count or 0) + 1
    sale = payment_move_entry(payment, gave_back=False, now=now)
    head, tail = _split_fields(payment, now)
    values = {
        "payment_id": payment.id,
        "operation_id": op_id,
        "merchant_id": payment.merchant_id,
        "reference": result.reference,
        "amount": payment.amount,
        "institution": sale.institution,
        "entry_kind": sale.kind.value,
        "debit": sale.debit,
        "credit": sale.credit,
        "event_date": sale.event_date,
        "fields_head": head,
        "fields_tail": tail,
        "now": now,
    }
    row = run_statement(core.sessions, SETTLE_CAPTURED, values)
    if row is None:
        return None
    payment.notice_count = int(row[0])
    return OperationResult(True, PaymentView.of(payment))
