"""Roles and permissions of console users (pure; no database).

An admin (管理者) has every permission. A general user (一般) has the ones an admin gave them.
Every console endpoint names the permission it needs and the face checks it on the server for
every request, whatever the page showed (PRODUCT.md §6).
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from kessai.kit.errors import InvalidRequest


class Role(StrEnum):
    ADMIN = "admin"  # 管理者
    GENERAL = "general"  # 一般


class Permission(StrEnum):
    VIEW = "view"  # 照会: dashboard, search, detail
    CARD = "card"  # カード処理: capture, cancel, refund, amount change; stored cards, 洗替, file payments
    REGISTER = "register"  # 手動登録: card and CVS payments typed by staff
    DOWNLOAD = "download"  # CSVダウンロード
    NOTIFY = "notify"  # 通知: see deliveries, send again
    USERS = "users"  # ユーザー管理: users, certificates, the audit log
    STATEMENTS = "statements"  # 支払明細: payout statements, their PDF and detail CSV
    RECONCILE = "reconcile"  # 消し込み: the merchant's order list against its payments; 売掛金


ROLE_LABELS: dict[Role, str] = {Role.ADMIN: "管理者", Role.GENERAL: "一般"}

PERMISSION_LABELS: dict[Permission, str] = {
    Permission.VIEW: "照会",
    Permission.CARD: "カード処理（売上・取消・返金・金額変更、カード情報お預かり・洗替、ファイル決済）",
    Permission.REGISTER: "手動登録",
    Permission.DOWNLOAD: "CSVダウンロード",
    Permission.NOTIFY: "結果通知の確認・再送",
    Permission.USERS: "ユーザー管理・監査ログ",
    Permission.STATEMENTS: "支払明細（照会・PDF・明細CSV）",
    Permission.RECONCILE: "消し込み・売掛金",
}

ALL = frozenset(Permission)


def parse_role(value: str) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise InvalidRequest(message=f"role must be admin or general, not {value!r}") from None


def parse_permissions(values: Iterable[str]) -> frozenset[Permission]:
    """Permission names (as stored, or as typed on the CLI) → a set; unknown names are refused."""
    found: set[Permission] = set()
    for value in values:
        name = value.strip()
        if not name:
            continue
        try:
            found.add(Permission(name))
        except ValueError:
            known = ", ".join(p.value for p in Permission)
            raise InvalidRequest(message=f"unknown permission {name!r}; known: {known}") from None
    return frozenset(found)


def effective(role: Role, granted: Iterable[Permission]) -> frozenset[Permission]:
    """What a user may do: everything for an admin, the granted flags for a general user."""
    match role:
        case Role.ADMIN:
            return ALL
        case Role.GENERAL:
            return frozenset(granted)


def encode(permissions: Iterable[Permission]) -> str:
    return ",".join(sorted(p.value for p in permissions))
