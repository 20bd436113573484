"""Card operations as the console asks for them, one payment or many at once.

The console speaks of 売上 (capture), 取消 (cancel: a void before capture, a refund after), 返金
(refund, whole or part) and 金額変更 (amount change). Each maps onto the card commands merchants'
telegrams use (021/022/023, 028/029 for amounts), so the console and the module face can never
disagree about a payment.

A bulk submission (`run_bulk`) carries a key from the form that offered it. The key is claimed
first, in its own transaction; submitting the same form again finds it and answers the results
already recorded instead of acting again. Each payment's row is written before the payment is
acted on, and each payment is acted on in its own transactions, so one payment's failure (declined,
wrong status, an exception) is recorded on its row and never stops the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError

from kessai.core.console.models import BulkAction, BulkRow
from kessai.core.context import Core, MerchantRef
from kessai.core.payments.card import commands, corrections
from kessai.core.payments.card.corrections import CorrectionRequest
from kessai.core.payments.card.states import CardOperation, CardStatus
from kessai.core.payments.models import Payment
from kessai.core.payments.refs import PaymentRef
from kessai.core.payments.views import OperationResult
from kessai.kit.errors import InvalidRequest, InvalidState, KessaiError, NotFound, message_for

log = logging.getLogger("kessai.console")

MAX_BULK = 500


class CardAction(StrEnum):
    CAPTURE = "capture"  # 売上
    CANCEL = "cancel"  # 取消 (void or whole refund)
    REFUND = "refund"  # 返金: `amount` taken off (whole amount: a full refund)
    CHANGE_AMOUNT = "change_amount"  # 金額変更: `amount` is the new total


ACTION_LABELS: dict[CardAction, str] = {
    CardAction.CAPTURE: "売上",
    CardAction.CANCEL: "取消",
    CardAction.REFUND: "返金",
    CardAction.CHANGE_AMOUNT: "金額変更",
}

# Actions that take an amount cannot be applied to many payments at once.
NEEDS_AMOUNT = frozenset({CardAction.REFUND, CardAction.CHANGE_AMOUNT})


@dataclass(frozen=True, slots=True)
class RowResult:
    payment_id: int
    trading_id: str
    ok: bool | None  # None: being processed (a concurrent submission is still at it)
    code: str
    message: str
    status_after: str
    new_payment_id: int | None = None


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    action: CardAction
    rows: list[RowResult]
    repeated: bool  # this key was submitted before: nothing was done this time

    @property
    def succeeded(self) -> int:
        return sum(1 for row in self.rows if row.ok)

    @property
    def failed(self) -> int:
        return sum(1 for row in self.rows if row.ok is False)


def run_bulk(
    core: Core,
    merchant: MerchantRef,
    *,
    key: str,
    user_id: int,
    action: CardAction,
    payment_ids: list[int],
    amount: int | None = None,
) -> BulkOutcome:
    """Apply `action` to each payment once per `key`; a result per payment, in the given order."""
    _check(action, payment_ids, amount, key)
    bulk_id = _claim(core, merchant, key, user_id, action, amount)
    if bulk_id is None:
        return BulkOutcome(action, _rows_of_key(core, merchant, key), repeated=True)
    for payment_id in dict.fromkeys(payment_ids):  # in order, each once
        _one(core, merchant, bulk_id, payment_id, action, amount)
    with core.sessions.begin() as session:
        bulk = session.get(BulkAction, bulk_id)
        assert bulk is not None
        bulk.finished_at = core.clock.now()
    return BulkOutcome(action, _rows(core, bulk_id), repeated=False)


def _check(action: CardAction, payment_ids: list[int], amount: int | None, key: str) -> None:
    if not payment_ids:
        raise InvalidRequest(message="決済を選択してください。")
    if len(payment_ids) > MAX_BULK:
        raise InvalidRequest(message=f"一度に処理できるのは{MAX_BULK}件までです。")
    if not 16 <= len(key) <= 64:
        raise InvalidRequest(message="画面を開き直してから、もう一度実行してください。")
    if action in NEEDS_AMOUNT:
        if len(payment_ids) != 1:
            raise InvalidRequest(message="返金と金額変更は1件ずつ実行してください。")
        if amount is None or amount <= 0:
            raise InvalidRequest("P014")


def _claim(
    core: Core,
    merchant: MerchantRef,
    key: str,
    user_id: int,
    action: CardAction,
    amount: int | None,
) -> int | None:
    """The new submission's id, or None if `key` was claimed before (by this merchant)."""
    try:
        with core.sessions.begin() as session:
            bulk = BulkAction(
                key=key,
                merchant_id=merchant.id,
                user_id=user_id,
                action=action.value,
                amount=amount,
                created_at=core.clock.now(),
            )
            session.add(bulk)
            session.flush()
            return bulk.id
    except IntegrityError:
        return None


def _one(
    core: Core,
    merchant: MerchantRef,
    bulk_id: int,
    payment_id: int,
    action: CardAction,
    amount: int | None,
) -> None:
    row_id = _start_row(core, bulk_id, payment_id)
    if row_id is None:
        return  # listed twice, or already done by this submission
    try:
        result = _apply(core, merchant, payment_id, action, amount)
        _finish_row(core, row_id, _from_result(result))
    except KessaiError as error:
        _finish_row(core, row_id, (False, error.code, error.message, "", None))
    except Exception:
        log.exception("console %s on payment %s failed", action.value, payment_id)
        _finish_row(core, row_id, (False, "E001", message_for("E001"), "", None))


def _apply(
    core: Core, merchant: MerchantRef, payment_id: int, action: CardAction, amount: int | None
) -> OperationResult:
    ref = PaymentRef(payment_id=str(payment_id))
    current = commands.inquire(core, merchant, ref, payment_type="02")
    match action:
        case CardAction.CAPTURE:
            return commands.follow_up(core, merchant, ref, CardOperation.CAPTURE)
        case CardAction.CANCEL:
            return commands.follow_up(core, merchant, ref, _cancel_operation(current.status))
        case CardAction.REFUND:
            assert amount is not None
            if current.status != CardStatus.CAPTURED:
                raise InvalidState("2004", message="売上済（消込済）の決済だけ返金できます。")
            if amount == current.amount:
                return commands.follow_up(core, merchant, ref, CardOperation.REFUND)
            return corrections.correct(
                core, merchant, CorrectionRequest(ref, amount, is_reduction=True, capture=True)
            )
        case CardAction.CHANGE_AMOUNT:
            assert amount is not None
            captured = current.status == CardStatus.CAPTURED
            return corrections.correct(
                core, merchant, CorrectionRequest(ref, amount, is_reduction=False, capture=captured)
            )


def _cancel_operation(status: str) -> CardOperation:
    """取消 before capture is a void (021); after, a whole refund (023)."""
    if status in (CardStatus.CAPTURED, CardStatus.CAPTURED_CLOSED, CardStatus.CANCELLED):
        return CardOperation.REFUND
    return CardOperation.VOID


Finished = tuple[bool, str, str, str, int | None]


def _from_result(result: OperationResult) -> Finished:
    payment = result.payment
    status = payment.status if payment else ""
    if result.base_payment is not None and payment is not None:
        # A correction: the new payment carries on; the row reports the one the staff chose.
        new_id = payment.payment_id
        return (result.ok, result.response_code, _message(result), status, new_id)
    return (result.ok, result.response_code, _message(result), status, None)


def _message(result: OperationResult) -> str:
    if result.ok:
        return "完了"
    return message_for(result.response_code) if result.response_code else result.response_detail


def _start_row(core: Core, bulk_id: int, payment_id: int) -> int | None:
    try:
        with core.sessions.begin() as session:
            row = BulkRow(bulk_id=bulk_id, payment_id=payment_id, ok=None)
            session.add(row)
            session.flush()
            return row.id
    except IntegrityError:
        return None


def _finish_row(core: Core, row_id: int, finished: Finished) -> None:
    ok, code, message, status, new_id = finished
    with core.sessions.begin() as session:
        row = session.get(BulkRow, row_id)
        assert row is not None
        row.ok, row.code, row.message = ok, code, message[:256]
        row.status_after, row.new_payment_id = status, new_id


def _rows(core: Core, bulk_id: int) -> list[RowResult]:
    """The submission's rows, each with its payment's trading_id only when the payment is the
    submitting merchant's: staff type any payment ID, and IDs are sequential, so a row for another
    merchant's payment must read exactly like one for an ID that does not exist. (The trading_id
    is joined here rather than read from `bulk_rows.trading_id`, which rows written before this
    check may hold for other merchants' payments.)"""
    theirs = and_(Payment.id == BulkRow.payment_id, Payment.merchant_id == BulkAction.merchant_id)
    with core.sessions() as session:
        rows = session.execute(
            select(BulkRow, Payment.trading_id)
            .join(BulkAction, BulkAction.id == BulkRow.bulk_id)
            .outerjoin(Payment, theirs)
            .where(BulkRow.bulk_id == bulk_id)
            .order_by(BulkRow.id)
        )
        return [_row_view(row, trading_id or "") for row, trading_id in rows]


def _rows_of_key(core: Core, merchant: MerchantRef, key: str) -> list[RowResult]:
    with core.sessions() as session:
        bulk = session.scalar(select(BulkAction).where(BulkAction.key == key))
        if bulk is None or bulk.merchant_id != merchant.id:
            raise NotFound(message="この一括処理は見つかりません。")
        bulk_id = bulk.id
    return _rows(core, bulk_id)


def _row_view(row: BulkRow, trading_id: str) -> RowResult:
    return RowResult(
        payment_id=row.payment_id,
        trading_id=trading_id,
        ok=row.ok,
        code=row.code,
        message=row.message if row.ok is not None else "処理中",
        status_after=row.status_after,
        new_payment_id=row.new_payment_id,
    )


def describe(action: CardAction) -> str:
    return ACTION_LABELS[action]


def available(payment_type: str, status: str) -> list[CardAction]:
    """The console actions the card table allows on a payment now (the page offers only these;
    the commands still judge every request)."""
    if payment_type != "02":
        return []
    match status:
        case CardStatus.AUTHORIZED:
            return [CardAction.CAPTURE, CardAction.CANCEL, CardAction.CHANGE_AMOUNT]
        case CardStatus.CAPTURE_REQUESTED:
            return [CardAction.CAPTURE]
        case CardStatus.CAPTURED:
            return [CardAction.CANCEL, CardAction.REFUND, CardAction.CHANGE_AMOUNT]
        case _:
            return []
