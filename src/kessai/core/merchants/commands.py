"""Merchant onboarding and authentication: the only writers of the merchants table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kessai.core.merchants import credentials
from kessai.core.merchants.access import CERTIFICATE_PATH, check_paths, normalise_allow_list
from kessai.core.merchants.models import Merchant
from kessai.core.merchants.notification_url import Resolver, check_notification_url, resolve_host
from kessai.core.merchants.telegram_hash import DEFAULT_OVERLAP, MAX_OVERLAP
from kessai.core.notifications.models import NoticeCounter
from kessai.core.payouts.settings import set_payout_settings
from kessai.kit.errors import InvalidRequest, NotFound

# payment_type codes a merchant can have enabled; card only until the other methods land.
KNOWN_METHODS = ("01", "02", "03", "04", "05", "06", "07")
# ATM (Pay-easy), card, CVS number, CVS slip, bank net, carrier, virtual account
MODES = ("sandbox", "production")
# How a merchant signs link requests (core.link.hashing); new merchants get the first.
LINK_SIGNATURES = ("hmac", "paygent")
# Where the notices of a payment made on a link page with a signed `inform_url` go: there instead
# of the notification URL (`replace`, new merchants), or to the notification URL all the same.
INFORM_URL_MODES = ("replace", "ignore")


@dataclass(frozen=True, slots=True)
class NewMerchant:
    """A created merchant with its secrets in the clear: shown once, never stored so."""

    merchant_id: int
    name: str
    connect_id: str
    connect_password: str
    hash_key: str
    notification_hash_key: str
    threeds_hash_key: str
    telegram_hash_key: str
    notification_url: str | None
    enabled_methods: list[str]
    mode: str
    link_signature: str
    module_paths: list[str]
    ip_allow_list: list[str]
    inform_url_mode: str


def create_merchant(
    session: Session,
    *,
    secret: bytes,
    now: datetime,
    name: str,
    mode: str = "sandbox",
    methods: list[str] | None = None,
    notification_url: str | None = None,
    merchant_id: int | None = None,
    link_signature: str = "hmac",
    module_paths: list[str] | None = None,
    ip_allow_list: list[str] | None = None,
    inform_url_mode: str = "replace",
    resolve: Resolver = resolve_host,
) -> NewMerchant:
    """Create a merchant (加盟店) with fresh credentials and hash keys.

    A production merchant's notification URL must not point inside (`notification_url`).
    `module_paths` defaults to `/n/` only; `/s/` (telegram hash check) is opted into."""
    methods = _check_methods(methods or list(KNOWN_METHODS))
    _check_mode(mode)
    _check_link_signature(link_signature)
    paths = check_paths(module_paths or [CERTIFICATE_PATH])
    allow_list = normalise_allow_list(ip_allow_list or [])
    _check_inform_url_mode(inform_url_mode)
    notification_url = notification_url or None
    if notification_url is not None:
        check_notification_url(notification_url, mode=mode, resolve=resolve)
    merchant_id = merchant_id or _next_merchant_id(session)
    if not 0 < merchant_id <= 999_999_999:
        raise InvalidRequest("P010", field="merchant_id", message="merchant_id must be 1–999999999")
    if session.get(Merchant, merchant_id) is not None:
        raise InvalidRequest(message=f"merchant {merchant_id} already exists")
    password = credentials.new_connect_password()
    new = NewMerchant(
        merchant_id=merchant_id,
        name=name,
        connect_id=credentials.new_connect_id(merchant_id),
        connect_password=password,
        hash_key=credentials.new_hash_key(),
        notification_hash_key=credentials.new_hash_key(),
        threeds_hash_key=credentials.new_hash_key(),
        telegram_hash_key=credentials.new_telegram_hash_key(),
        notification_url=notification_url,
        enabled_methods=methods,
        mode=mode,
        link_signature=link_signature,
        module_paths=paths.split(","),
        ip_allow_list=allow_list.split(),
        inform_url_mode=inform_url_mode,
    )
    session.add(_row(new, secret=secret, now=now))
    session.add(NoticeCounter(merchant_id=merchant_id, last_notice_id=0))
    session.flush()
    return new


def _row(new: NewMerchant, *, secret: bytes, now: datetime) -> Merchant:
    return Merchant(
        id=new.merchant_id,
        name=new.name,
        connect_id=new.connect_id,
        connect_password_hash=credentials.hash_password(secret, new.connect_password),
        link_hash_key=new.hash_key,
        link_signature=new.link_signature,
        inform_url_mode=new.inform_url_mode,
        notification_hash_key=new.notification_hash_key,
        threeds_hash_key=new.threeds_hash_key,
        telegram_hash_key=new.telegram_hash_key,
        notification_url=new.notification_url,
        enabled_methods=",".join(new.enabled_methods),
        mode=new.mode,
        module_paths=",".join(new.module_paths),
        ip_allow_list=" ".join(new.ip_allow_list),
        created_at=now,
        updated_at=now,
    )


@dataclass(frozen=True, slots=True)
class PayoutChange:
    """What to change of a merchant's payout settings (None: keep it)."""

    cycle: str | None = None  # monthly | semimonthly | weekly
    closing_day: int | None = None
    payout_day: int | None = None
    bank_account: str | None = None  # BANK-BRANCH-TYPE-NUMBER
    account_holder: str | None = None  # kana; full-width is made half-width

    def changes_anything(self) -> bool:
        return any(getattr(self, name) is not None for name in self.__slots__)


def update_merchant(
    session: Session,
    merchant_id: int,
    *,
    now: datetime,
    name: str | None = None,
    mode: str | None = None,
    methods: list[str] | None = None,
    notification_url: str | None = None,
    link_signature: str | None = None,
    inform_url_mode: str | None = None,
    payout: PayoutChange | None = None,
    module_paths: list[str] | None = None,
    ip_allow_list: list[str] | None = None,
    resolve: Resolver = resolve_host,
) -> Merchant:
    """Change a merchant's settings; credentials are changed by `rotate_password` and
    `rotate_telegram_hash_key` only. `ip_allow_list=[]` removes the list.

    The notification URL is checked against the mode it will be used in, so a sandbox merchant
    with an internal URL cannot be switched to production without a public one. The payout
    settings (cycle, bank account) are checked before anything changes."""
    merchant = get_merchant(session, merchant_id)
    if payout is not None and payout.changes_anything():
        set_payout_settings(
            session,
            merchant_id,
            now=now,
            cycle=payout.cycle,
            closing_day=payout.closing_day,
            payout_day=payout.payout_day,
            account=payout.bank_account,
            holder=payout.account_holder,
        )
    if mode is not None or notification_url is not None:
        url = merchant.notification_url if notification_url is None else notification_url
        if url:
            check_notification_url(url, mode=mode or merchant.mode, resolve=resolve)
    if name is not None:
        merchant.name = name
    if mode is not None:
        merchant.mode = _check_mode(mode)
    if methods is not None:
        merchant.enabled_methods = ",".join(_check_methods(methods))
    if notification_url is not None:
        merchant.notification_url = notification_url or None
    _set_access(merchant, link_signature, module_paths, ip_allow_list)
    if inform_url_mode is not None:
        merchant.inform_url_mode = _check_inform_url_mode(inform_url_mode)
    merchant.updated_at = now
    return merchant


def _set_access(
    merchant: Merchant,
    link_signature: str | None,
    module_paths: list[str] | None,
    ip_allow_list: list[str] | None,
) -> None:
    """How the merchant's requests are authenticated: the link signature scheme, the module
    paths (`/n/`, `/s/`) and the IP allow-list; None leaves a setting as it is."""
    if link_signature is not None:
        merchant.link_signature = _check_link_signature(link_signature)
    if module_paths is not None:
        merchant.module_paths = check_paths(module_paths)
    if ip_allow_list is not None:
        merchant.ip_allow_list = normalise_allow_list(ip_allow_list)


def rotate_password(session: Session, merchant_id: int, *, secret: bytes, now: datetime) -> str:
    """A new connect password; the old one stops working at commit."""
    merchant = get_merchant(session, merchant_id)
    password = credentials.new_connect_password()
    merchant.connect_password_hash = credentials.hash_password(secret, password)
    merchant.updated_at = now
    return password


def rotate_telegram_hash_key(
    session: Session, merchant_id: int, *, now: datetime, overlap: timedelta = DEFAULT_OVERLAP
) -> str:
    """A new telegram hash key (電文ハッシュ鍵); the current one keeps working for `overlap`, so
    the shop can change its setting without refused telegrams. `overlap=0` ends it at once (a
    leaked key). A key rotated again within the overlap drops the oldest key."""
    if not timedelta(0) <= overlap <= MAX_OVERLAP:
        raise InvalidRequest(message=f"the overlap must be between 0 and {MAX_OVERLAP}")
    merchant = get_merchant(session, merchant_id)
    key = credentials.new_telegram_hash_key()
    keep = overlap > timedelta(0)
    merchant.telegram_hash_key_previous = merchant.telegram_hash_key if keep else None
    merchant.telegram_hash_key_previous_until = now + overlap if keep else None
    merchant.telegram_hash_key = key
    merchant.updated_at = now
    return key


def get_merchant(session: Session, merchant_id: int) -> Merchant:
    merchant = session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(message=f"merchant {merchant_id} does not exist (see: kessai merchant list)")
    return merchant


def list_merchants(session: Session) -> list[Merchant]:
    return list(session.scalars(select(Merchant).order_by(Merchant.id)))


def _next_merchant_id(session: Session) -> int:
    highest = session.scalar(select(func.max(Merchant.id)))
    return max(highest or 0, 30000) + 1


def _check_methods(methods: list[str]) -> list[str]:
    unknown = sorted(set(methods) - set(KNOWN_METHODS))
    if unknown:
        raise InvalidRequest(
            message=f"unknown payment method(s) {', '.join(unknown)}; known: {', '.join(KNOWN_METHODS)}"
        )
    return sorted(set(methods))


def _check_mode(mode: str) -> str:
    if mode not in MODES:
        raise InvalidRequest(message=f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    return mode


def _check_link_signature(scheme: str) -> str:
    if scheme not in LINK_SIGNATURES:
        raise InvalidRequest(
            message=f"link signature must be one of {', '.join(LINK_SIGNATURES)}, not {scheme!r}"
        )
    return scheme


def _check_inform_url_mode(mode: str) -> str:
    if mode not in INFORM_URL_MODES:
        raise InvalidRequest(
            message=f"inform_url mode must be one of {', '.join(INFORM_URL_MODES)}, not {mode!r}"
        )
    return mode
