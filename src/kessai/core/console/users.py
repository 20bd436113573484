"""Console users: the only writers of `console_users` (creation, sign-in, lockout, passwords,
roles and permissions).

Sign-in (`sign_in`) answers the same way for an unknown login, a wrong password, a locked or
disabled user and a missing or foreign certificate, so an attacker learns nothing; the audit log
records the real reason. Every refusal counts towards the lockout, the certificate ones too: a
stolen password without its certificate is as useless as a guessed one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from kessai.core.console import certificates, passwords
from kessai.core.console.models import ConsoleUser
from kessai.core.console.permissions import (
    Permission,
    Role,
    effective,
    encode,
    parse_permissions,
)
from kessai.core.merchants.models import Merchant
from kessai.kit.clock import as_utc
from kessai.kit.errors import AuthError, InvalidRequest, NotFound

LOGIN_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{2,63}$")

USER_NOT_FOUND = "このユーザーは見つかりません。"
MAX_ID = 2**62  # beyond it an ID is not one of ours (and a 64-bit column cannot even be asked)


@dataclass(frozen=True, slots=True)
class LockoutPolicy:
    """How many failed sign-ins lock a user, and for how long (settings build it)."""

    failures: int = 5
    lock_for: timedelta = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class UserView:
    id: int
    merchant_id: int
    login: str
    role: Role
    granted: frozenset[Permission]
    must_change_password: bool
    disabled: bool
    locked_until: datetime | None
    failed_logins: int
    last_login_at: datetime | None
    created_at: datetime

    @property
    def permissions(self) -> frozenset[Permission]:
        return effective(self.role, self.granted)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and as_utc(self.locked_until) > now

    @classmethod
    def of(cls, row: ConsoleUser) -> UserView:
        return cls(
            id=row.id,
            merchant_id=row.merchant_id,
            login=row.login,
            role=Role(row.role),
            granted=parse_permissions(row.permissions.split(",")),
            must_change_password=row.must_change_password,
            disabled=row.disabled,
            locked_until=row.locked_until,
            failed_logins=row.failed_logins,
            last_login_at=row.last_login_at,
            created_at=row.created_at,
        )


@dataclass(frozen=True, slots=True)
class NewUser:
    """A created user with the initial password in the clear: shown once, stored only hashed."""

    user_id: int
    merchant_id: int
    login: str
    role: str
    permissions: list[str]
    initial_password: str


class Refusal(StrEnum):
    """Why a sign-in was refused (for the audit log; the person sees one message for all)."""

    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    DISABLED = "disabled"
    NO_CERTIFICATE = "no_certificate"
    WRONG_CERTIFICATE = "wrong_certificate"


@dataclass(frozen=True, slots=True)
class SignIn:
    user: UserView | None  # set when the login named a user, even if refused
    refusal: Refusal | None = None
    just_locked: bool = False

    @property
    def ok(self) -> bool:
        return self.refusal is None and self.user is not None


def create_user(
    session: Session,
    *,
    merchant_id: int,
    login: str,
    role: Role,
    permissions: frozenset[Permission] = frozenset({Permission.VIEW}),
    now: datetime,
) -> NewUser:
    """Create a console user for a merchant with a random initial password (changed at first
    sign-in). Raises NotFound for an unknown merchant, InvalidRequest for a bad or taken login."""
    if session.get(Merchant, merchant_id) is None:
        raise NotFound(message=f"merchant {merchant_id} does not exist (see: kessai merchant list)")
    _check_login(session, login)
    password = passwords.new_initial_password()
    granted = frozenset() if role is Role.ADMIN else permissions
    row = ConsoleUser(
        merchant_id=merchant_id,
        login=login,
        role=role.value,
        permissions=encode(granted),
        password_hash=passwords.hash_password(password),
        must_change_password=True,
        failed_logins=0,
        disabled=False,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    return NewUser(
        user_id=row.id,
        merchant_id=merchant_id,
        login=login,
        role=role.value,
        permissions=sorted(p.value for p in effective(role, granted)),
        initial_password=password,
    )


def _check_login(session: Session, login: str) -> None:
    if not LOGIN_PATTERN.match(login):
        raise InvalidRequest(
            message="ログインIDは英数字で始まる3〜64文字（英数字と . _ @ -）にしてください。"
        )
    if session.scalar(select(ConsoleUser.id).where(ConsoleUser.login == login)) is not None:
        raise InvalidRequest(message=f"ログインID {login} は既に使われています。")


def sign_in(
    session: Session,
    *,
    login: str,
    password: str,
    certificate: str | None,
    require_certificate: bool,
    now: datetime,
    policy: LockoutPolicy,
) -> SignIn:
    """Check a sign-in: password (argon2), lock, and — when certificates are required — that
    `certificate` (the presented certificate's fingerprint) is this user's live certificate."""
    row = session.scalar(select(ConsoleUser).where(ConsoleUser.login == login).with_for_update())
    password_ok = passwords.verify(row.password_hash if row else None, password)
    if row is None:
        return SignIn(None, Refusal.BAD_CREDENTIALS)
    refusal = _refusal(session, row, password_ok, certificate, require_certificate, now)
    if refusal is None:
        row.failed_logins, row.locked_until, row.last_login_at = 0, None, now
        if passwords.needs_rehash(row.password_hash):
            row.password_hash = passwords.hash_password(password)
        return SignIn(UserView.of(row))
    just_locked = False
    if refusal is not Refusal.LOCKED:
        row.failed_logins += 1
        if row.failed_logins >= policy.failures:
            row.locked_until, just_locked = now + policy.lock_for, True
    row.updated_at = now
    return SignIn(UserView.of(row), refusal, just_locked)


def _refusal(
    session: Session,
    row: ConsoleUser,
    password_ok: bool,
    certificate: str | None,
    require_certificate: bool,
    now: datetime,
) -> Refusal | None:
    if row.disabled:
        return Refusal.DISABLED
    if row.locked_until is not None and as_utc(row.locked_until) > now:
        return Refusal.LOCKED
    if not password_ok:
        return Refusal.BAD_CREDENTIALS
    if not require_certificate:
        return None
    if certificate is None:
        return Refusal.NO_CERTIFICATE
    if certificates.live_fingerprint(session, row.id, now) != certificate:
        return Refusal.WRONG_CERTIFICATE
    return None


def change_password(
    session: Session, user_id: int, *, current: str, new: str, now: datetime
) -> None:
    """The user's own change (forced at first sign-in). Raises AuthError for a wrong current
    password, InvalidRequest for a new one that breaks the rules or equals the old one."""
    row = _get(session, user_id)
    if not passwords.verify(row.password_hash, current):
        raise AuthError(message="現在のパスワードが正しくありません。")
    passwords.check_new_password(new, login=row.login)
    if new == current:
        raise InvalidRequest(message="新しいパスワードは現在のものと違うものにしてください。")
    row.password_hash = passwords.hash_password(new)
    row.must_change_password = False
    row.updated_at = now


def reset_password(session: Session, user_id: int, *, now: datetime) -> str:
    """A new initial password (an admin's reset): returned once; also unlocks the user."""
    row = _get(session, user_id)
    password = passwords.new_initial_password()
    row.password_hash = passwords.hash_password(password)
    row.must_change_password = True
    row.failed_logins, row.locked_until, row.updated_at = 0, None, now
    return password


def update_user(
    session: Session,
    user_id: int,
    *,
    role: Role | None = None,
    permissions: frozenset[Permission] | None = None,
    disabled: bool | None = None,
    unlock: bool = False,
    now: datetime,
) -> UserView:
    """Change a user's role, permissions (general users), enabled state or lock."""
    row = _get(session, user_id)
    if role is not None:
        row.role = role.value
    if permissions is not None or role is Role.ADMIN:
        row.permissions = "" if Role(row.role) is Role.ADMIN else encode(permissions or ())
    if disabled is not None:
        row.disabled = disabled
    if unlock:
        row.failed_logins, row.locked_until = 0, None
    row.updated_at = now
    return UserView.of(row)


def get_user(session: Session, user_id: int) -> UserView:
    return UserView.of(_get(session, user_id))


def get_user_of(session: Session, merchant_id: int, user_id: int) -> UserView:
    """One of this merchant's users. Another merchant's user is NotFound exactly as a user that
    does not exist (user IDs are sequential: a different answer would list other merchants')."""
    row = session.get(ConsoleUser, user_id) if 0 < user_id <= MAX_ID else None
    if row is None or row.merchant_id != merchant_id:
        raise NotFound(message=USER_NOT_FOUND)
    return UserView.of(row)


def find_user_by_login(session: Session, login: str) -> UserView | None:
    row = session.scalar(select(ConsoleUser).where(ConsoleUser.login == login))
    return UserView.of(row) if row is not None else None


def get_user_by_login(session: Session, login: str) -> UserView:
    user = find_user_by_login(session, login)
    if user is None:
        raise NotFound(message=f"no console user {login!r} (see: kessai user list)")
    return user


def list_users(session: Session, merchant_id: int | None = None) -> list[UserView]:
    query = select(ConsoleUser).order_by(ConsoleUser.merchant_id, ConsoleUser.login)
    if merchant_id is not None:
        query = query.where(ConsoleUser.merchant_id == merchant_id)
    return [UserView.of(row) for row in session.scalars(query)]


def _get(session: Session, user_id: int) -> ConsoleUser:
    row = session.get(ConsoleUser, user_id, with_for_update=True)
    if row is None:
        raise NotFound(message=f"no console user {user_id}")
    return row


def check_may_manage(
    actor: UserView,
    target: UserView | None,
    *,
    role: Role | None = None,
    permissions: frozenset[Permission] | None = None,
    changes_self: bool = False,
) -> None:
    """Who may manage whom (raises AuthError): users of the same merchant with the user-admin
    permission; only an admin creates, changes or makes admins; a general user grants only what
    they have themselves; nobody changes their own role, permissions or enabled state (so the
    last admin cannot lock everyone out by mistake)."""
    if not actor.can(Permission.USERS):
        raise AuthError(message="ユーザー管理の権限がありません。")
    if target is not None and target.merchant_id != actor.merchant_id:
        raise NotFound(message=USER_NOT_FOUND)
    is_admin = actor.role is Role.ADMIN
    if not is_admin and (role is Role.ADMIN or (target is not None and target.role is Role.ADMIN)):
        raise AuthError(message="管理者ユーザーを作成・変更できるのは管理者だけです。")
    if permissions is not None and not permissions <= actor.permissions:
        raise AuthError(message="自分にない権限は付与できません。")
    if changes_self and target is not None and target.id == actor.id:
        raise AuthError(message="自分自身の権限・状態は変更できません。")
