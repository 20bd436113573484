"""Helpers for methods paid later (ATM, CVS): statuses, notices, and the pay-versus-expire race."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select

from kessai.app import Runtime
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import NewMerchant
from kessai.core.notifications.models import Notice
from kessai.core.payments.views import PaymentView
from kessai.kit.errors import InvalidState
from tests.support.telegrams import send


def ref(merchant: NewMerchant) -> MerchantRef:
    return MerchantRef(id=merchant.merchant_id, mode="sandbox")


def status(server: str, merchant: NewMerchant, payment_id: str) -> str:
    """The payment's status as the merchant sees it (094)."""
    return send(server, merchant, "094", payment_id=payment_id)["payment_status"]


def notice_statuses(runtime: Runtime, merchant: NewMerchant) -> list[str]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Notice.payment_status)
                .where(Notice.merchant_id == merchant.merchant_id)
                .order_by(Notice.payment_notice_id)
            )
        )


def payment_notice_statuses(runtime: Runtime, payment_id: int) -> list[str]:
    with runtime.core.sessions() as session:
        return list(
            session.scalars(
                select(Notice.payment_status)
                .where(Notice.payment_id == payment_id)
                .order_by(Notice.payment_notice_id)
            )
        )


def race_pay_and_expire(
    pids: list[int],
    pay: Callable[[int, datetime], PaymentView],
    expire: Callable[[], int],
    paid_at: datetime,
) -> None:
    """Pay every payment (as of `paid_at`, before its deadline) while the expiry job runs."""

    def pay_all() -> None:
        for pid in pids:
            with contextlib.suppress(InvalidState):  # expired first
                pay(pid, paid_at)

    threads = [threading.Thread(target=pay_all), threading.Thread(target=expire)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
