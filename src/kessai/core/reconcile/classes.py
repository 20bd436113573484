"""The seven classes every order line and every payment of a reconciliation lands in, one each."""

from __future__ import annotations

from enum import StrEnum


class ReconClass(StrEnum):
    """A reconciliation row's class (消し込み結果)."""

    MATCHED = "matched"  # 入金済（一致）
    AMOUNT_DIFFERS = "amount_differs"  # 金額相違
    UNPAID = "unpaid"  # 未入金（売掛金）
    CANCELLED = "cancelled"  # 取消・返金
    PAID_TWICE = "paid_twice"  # 二重入金
    UNMATCHED_PAYMENTS = "unmatched_payments"  # 注文なしの決済
    DUPLICATE_ORDERS = "duplicate_orders"  # 注文の重複


LABELS: dict[ReconClass, str] = {
    ReconClass.MATCHED: "入金済（一致）",
    ReconClass.AMOUNT_DIFFERS: "金額相違",
    ReconClass.UNPAID: "未入金（売掛金）",
    ReconClass.CANCELLED: "取消・返金",
    ReconClass.PAID_TWICE: "二重入金",
    ReconClass.UNMATCHED_PAYMENTS: "注文なしの決済",
    ReconClass.DUPLICATE_ORDERS: "注文の重複",
}


def label(cls: ReconClass) -> str:
    """The class's Japanese name, as the console and the CSV show it."""
    return LABELS[cls]
