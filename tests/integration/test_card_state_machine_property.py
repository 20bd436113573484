"""Random operation sequences on real payments (core + database + sandbox acquirer): every payment
ends in a status the table can reach, is captured at most once, and its notices follow its history."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from kessai.app import Runtime
from kessai.connectors.base import CardData
from kessai.core.context import MerchantRef
from kessai.core.notifications.models import Notice
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.core.payments.card.corrections import CorrectionRequest, correct
from kessai.core.payments.card.states import CardStatus, is_captured
from kessai.core.payments.models import Payment, PaymentEvent
from kessai.core.payments.refs import PaymentRef
from kessai.kit.errors import KessaiError
from kessai.kit.secrets import CardNumber
from tests.conftest import TestClock, make_merchant
from tests.unit.test_card_state_table import reachable

CARDS = (
    "4900000000000000",
    "4900000000002115",
    "4900000000003100",
)  # ok, void fails, void times out
STEPS = st.sampled_from(
    ["capture", "void", "refund", "correct_auth", "correct_capture", "wait_61_days", "inquire"]
)


def _run_step(
    runtime: Runtime, merchant: MerchantRef, payment_id: int, step: str, clock: TestClock
) -> int:
    """Apply one step; returns the payment id that is now current (corrections make new ones)."""
    ref = PaymentRef(payment_id=str(payment_id))
    core = runtime.core
    try:
        if step == "wait_61_days":
            clock.advance(timedelta(days=61))
        elif step == "inquire":
            commands.inquire(core, merchant, ref)
        elif step in ("correct_auth", "correct_capture"):
            result = correct(
                core,
                merchant,
                CorrectionRequest(
                    ref=ref, amount=1, is_reduction=True, capture=step == "correct_capture"
                ),
            )
            if result.payment is not None and result.payment.payment_id != payment_id:
                return result.payment.payment_id
        else:
            getattr(commands, step)(core, merchant, ref)
    except KessaiError:
        pass  # refused (2004/2007/2013…): the property is about what is left behind
    return payment_id


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(card=st.sampled_from(CARDS), capture_first=st.booleans(), steps=st.lists(STEPS, max_size=8))
def test_any_sequence_leaves_reachable_states_and_one_capture(
    runtime: Runtime, clock: TestClock, card: str, capture_first: bool, steps: list[str]
) -> None:
    shop = make_merchant(runtime)
    merchant = MerchantRef(id=shop.merchant_id, mode="sandbox")
    clock.offset = timedelta()
    first = commands.authorize(
        runtime.core,
        merchant,
        AuthorizeRequest(
            trading_id="PROP",
            amount=10_000,
            capture=capture_first,
            card=CardData(CardNumber(card), "1230"),
        ),
    )
    assert first.ok and first.payment is not None
    current = first.payment.payment_id
    for step in steps:
        current = _run_step(runtime, merchant, current, step, clock)
    _check_invariants(runtime, shop.merchant_id)


def _check_invariants(runtime: Runtime, merchant_id: int) -> None:
    statuses = reachable()
    with runtime.core.sessions() as session:
        payments = session.scalars(select(Payment).where(Payment.merchant_id == merchant_id)).all()
        for payment in payments:
            assert CardStatus(payment.status) in statuses
            events = session.scalars(
                select(PaymentEvent)
                .where(PaymentEvent.payment_id == payment.id)
                .order_by(PaymentEvent.id)
            ).all()
            captures = sum(
                1
                for e in events
                if is_captured(CardStatus(e.to_status))
                and not is_captured(CardStatus(e.from_status))
            )
            assert captures <= 1, payment.id
            assert 0 < payment.amount <= 10_000
            notices = session.scalars(
                select(Notice)
                .where(Notice.payment_id == payment.id)
                .order_by(Notice.payment_notice_id)
            ).all()
            assert [n.payment_seq for n in notices] == list(range(1, len(notices) + 1))
            if notices:
                assert notices[-1].payment_status == payment.status
        numbers = session.scalars(
            select(Notice.payment_notice_id)
            .where(Notice.merchant_id == merchant_id)
            .order_by(Notice.payment_notice_id)
        ).all()
        assert list(numbers) == list(range(1, len(numbers) + 1))  # per-merchant, no gaps
