"""The carrier billing (携帯キャリア決済) state machines, one table per carrier type (paygent-protocol.md
§3.1, §1.5 100–105), as data.

Each carrier uses only the statuses §3.1 lists for it: d払い 10,15,20,21,30,33,34,40,41,42,44,60,62;
SoftBank(B) 10,15,20,21,32,33,40,41,60; SoftBank(A) 10,15,40; au matomete 10,15,20,32,33,40; au Kantan
10,15,20,32,33,40,41,60. `TABLES[career_type].transitions[(status, operation)]` says which carrier call an
operation makes and where each outcome leads; `repeats` are completed operations asked again (result 0,
nothing changes); `expired` answer 2007; every other pair is refused with 2004. `timed` are the moves
time makes on its own (the worker, or the next telegram or inquiry, applies them).

How the statuses are read (the carrier annex itself is not in the sources; our reading, see
docs/user/carrier.md):

- 10 → 20 when the buyer approves on the carrier's page, → 40 at once when the payment captures on
  approval (`sales_flg=1`, and always for SoftBank(A), whose set has no 20); → 15 when the buyer cancels,
  picks another method (d払い's other_url), the carrier refuses, or the consent window passes.
- 21 オーソリ完了, 44 消込完了, 62 取消完了 are the carrier's own completion reports, sent after the
  operation (d払い for authorisations, captures and cancellations; SoftBank(B) for authorisations).
  20/21 and 40/44 allow the same operations, as PAYGENT's own clients treat them.
- 30 売上要求中, 42 売上取消中, 34 補正要求中 (d払い only) show a capture, cancellation or correction
  whose answer from docomo is not known yet; the same telegram may be sent again from there.
- d払い has no 32: an authorisation is cancelled to 60 (then 62). au matomete has no 60: a capture is
  final. SoftBank(A) has neither: 102 and 103 are always refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import assert_never

from kessai.core.payments.card.states import Verdict


class CarrierStatus(StrEnum):
    APPLIED = "10"  # 申込済
    ABANDONED = "15"  # 申込中断
    AUTHORIZED = "20"  # オーソリOK
    AUTH_COMPLETED = "21"  # オーソリ完了
    CAPTURE_REQUESTED = "30"  # 売上要求中
    VOIDED = "32"  # オーソリ取消済
    AUTH_EXPIRED = "33"  # オーソリ期限切
    CORRECTION_REQUESTED = "34"  # 補正要求中
    CAPTURED = "40"  # 消込済
    CAPTURED_CLOSED = "41"  # 消込済（売上取消期限切）
    CANCEL_REQUESTED = "42"  # 売上取消中
    CAPTURE_COMPLETED = "44"  # 消込完了
    CANCELLED = "60"  # 売上取消済
    CANCEL_COMPLETED = "62"  # 取消完了


STATUS_NAMES: dict[CarrierStatus, str] = {
    CarrierStatus.APPLIED: "申込済",
    CarrierStatus.ABANDONED: "申込中断",
    CarrierStatus.AUTHORIZED: "オーソリOK",
    CarrierStatus.AUTH_COMPLETED: "オーソリ完了",
    CarrierStatus.CAPTURE_REQUESTED: "売上要求中",
    CarrierStatus.VOIDED: "オーソリ取消済",
    CarrierStatus.AUTH_EXPIRED: "オーソリ期限切",
    CarrierStatus.CORRECTION_REQUESTED: "補正要求中",
    CarrierStatus.CAPTURED: "消込済",
    CarrierStatus.CAPTURED_CLOSED: "消込済（売上取消期限切）",
    CarrierStatus.CANCEL_REQUESTED: "売上取消中",
    CarrierStatus.CAPTURE_COMPLETED: "消込完了",
    CarrierStatus.CANCELLED: "売上取消済",
    CarrierStatus.CANCEL_COMPLETED: "取消完了",
}


class CareerType(StrEnum):
    """`career_type` of telegrams 100 and 104 (the protocol's spelling)."""

    AU_MATOMETE = "2"  # まとめてau支払い (auかんたん決済 matomete)
    AU_KANTAN = "4"  # auかんたん決済
    DOCOMO = "5"  # d払い
    SOFTBANK_B = "6"  # ソフトバンクまとめて支払い(B)・ワイモバイルまとめて支払い
    SOFTBANK_A = "7"  # ソフトバンクまとめて支払い(A)・ワイモバイルまとめて支払い


class CarrierOperation(StrEnum):
    AUTHORIZE = "authorize"  # the buyer approves on the carrier's page; captured later by 101
    AUTHORIZE_CAPTURE = "authorize_capture"  # approved and captured at once (sales_flg=1)
    ABANDON = "abandon"  # the buyer cancels or leaves; the consent window passes ("expire")
    CAPTURE = "capture"  # 101 売上
    CANCEL = "cancel"  # 102 取消
    CORRECT = "correct"  # 103 補正売上: the base payment's side (a new payment takes the amount)
    REPORT = "report"  # the carrier's completion report (オーソリ完了 / 消込完了 / 取消完了)
    EXPIRE_AUTH = "expire_auth"  # an authorisation never captured (20/21 → 33)
    CLOSE_CANCEL_WINDOW = "close_cancel_window"  # a capture too old to cancel (40/44 → 41)


class Call(StrEnum):
    """The carrier call an operation makes (NONE: decided by the buyer's page or by time)."""

    AUTHORIZE = "authorize"
    CAPTURE = "capture"
    CANCEL = "cancel"
    REDUCE = "reduce"
    NONE = "none"


class Since(StrEnum):
    """The payment time a timed move counts from."""

    AUTHORIZED = "authorized_at"
    CAPTURED = "captured_at"
    CANCELLED = "cancelled_at"


@dataclass(frozen=True, slots=True)
class Rule:
    call: Call
    on_success: CarrierStatus
    on_decline: CarrierStatus
    # Shown while the carrier's answer is not known (None: the payment stays where it is).
    on_unknown: CarrierStatus | None = None


@dataclass(frozen=True, slots=True)
class Timed:
    """`operation` happens on its own once `after` has passed since the payment's `since` time."""

    status: CarrierStatus
    since: Since
    after: timedelta
    operation: CarrierOperation


@dataclass(frozen=True, slots=True)
class CarrierTable:
    name: str  # as the carrier's page and the docs name it
    statuses: frozenset[CarrierStatus]  # §3.1
    transitions: dict[tuple[CarrierStatus, CarrierOperation], Rule]
    repeats: frozenset[tuple[CarrierStatus, CarrierOperation]]
    expired: frozenset[tuple[CarrierStatus, CarrierOperation]]
    timed: tuple[Timed, ...] = ()
    redirect_html: bool = False  # 100/104 answer a FORM (redirect_html) rather than redirect_url
    openid: bool = False  # 104/105 user authentication (OpenID) is offered
    other_url: bool = False  # the carrier's page offers "other payment methods" (other_url)

    def captures_on_approval(self, sales_flg: str) -> bool:
        """Approval captures at once: `sales_flg=1`, or the carrier has no separate capture."""
        return sales_flg == "1" or (S.APPLIED, Op.AUTHORIZE) not in self.transitions


S = CarrierStatus
Op = CarrierOperation

# How long an authorisation stays capturable and a capture cancellable. The sources give no carrier
# figures; these are the card's (§3.2: 60 days both), kept as data so a contract can change them.
AUTH_LIFETIME = timedelta(days=60)
CANCEL_WINDOW = timedelta(days=60)
# When the sandbox carriers send their completion reports (21 / 44 / 62) after the operation.
REPORT_LAG = timedelta(minutes=5)
# How long the buyer has on the carrier's page (as WebMoney's redirect_url, §1.5 150: 60 minutes).
CONSENT_WINDOW = timedelta(minutes=60)


def _consent(*, capture_only: bool = False) -> dict[tuple[S, Op], Rule]:
    """10 → 20 / 40 on approval, → 15 when the carrier refuses or the buyer leaves."""
    rules = {
        (S.APPLIED, Op.AUTHORIZE_CAPTURE): Rule(Call.AUTHORIZE, S.CAPTURED, S.ABANDONED),
        (S.APPLIED, Op.ABANDON): Rule(Call.NONE, S.ABANDONED, S.ABANDONED),
    }
    if not capture_only:
        rules[(S.APPLIED, Op.AUTHORIZE)] = Rule(Call.AUTHORIZE, S.AUTHORIZED, S.ABANDONED)
    return rules


def _moves(
    sources: tuple[S, ...], operation: Op, call: Call, to: S, unknown: S | None = None
) -> dict[tuple[S, Op], Rule]:
    """`operation` from each of `sources` to `to`; a refusal leaves the payment where it was."""
    return {(source, operation): Rule(call, to, source, unknown) for source in sources}


def _timed_moves(sources: tuple[S, ...], operation: Op, to: S) -> dict[tuple[S, Op], Rule]:
    return {(source, operation): Rule(Call.NONE, to, to) for source in sources}


def _pairs(sources: tuple[S, ...], operation: Op) -> frozenset[tuple[S, Op]]:
    return frozenset((source, operation) for source in sources)


def _statuses(codes: str) -> frozenset[CarrierStatus]:
    return frozenset(CarrierStatus(code) for code in codes.split())


_AUTHORISED = (S.AUTHORIZED,)
_AUTHORISED_B = (S.AUTHORIZED, S.AUTH_COMPLETED)  # SoftBank(B), d払い: before and after the report
_CAPTURED_D = (S.CAPTURED, S.CAPTURE_COMPLETED)


def _expiry(authorised: tuple[S, ...], captured: tuple[S, ...] = ()) -> tuple[Timed, ...]:
    return tuple(
        [Timed(s, Since.AUTHORIZED, AUTH_LIFETIME, Op.EXPIRE_AUTH) for s in authorised]
        + [Timed(s, Since.CAPTURED, CANCEL_WINDOW, Op.CLOSE_CANCEL_WINDOW) for s in captured]
    )


AU_MATOMETE = CarrierTable(
    name="まとめてau支払い",
    statuses=_statuses("10 15 20 32 33 40"),
    transitions={
        **_consent(),
        **_moves(_AUTHORISED, Op.CAPTURE, Call.CAPTURE, S.CAPTURED),
        **_moves(_AUTHORISED, Op.CANCEL, Call.CANCEL, S.VOIDED),
        **_moves(_AUTHORISED, Op.CORRECT, Call.REDUCE, S.VOIDED),
        **_timed_moves(_AUTHORISED, Op.EXPIRE_AUTH, S.AUTH_EXPIRED),
    },
    repeats=_pairs((S.CAPTURED,), Op.CAPTURE)
    | _pairs((S.VOIDED, S.AUTH_EXPIRED), Op.CANCEL)
    | _pairs((S.ABANDONED,), Op.ABANDON),
    expired=_pairs((S.AUTH_EXPIRED,), Op.CAPTURE) | _pairs((S.AUTH_EXPIRED,), Op.CORRECT),
    timed=_expiry(_AUTHORISED),
)

AU_KANTAN = CarrierTable(
    name="auかんたん決済",
    statuses=_statuses("10 15 20 32 33 40 41 60"),
    transitions={
        **AU_MATOMETE.transitions,
        **_moves((S.CAPTURED,), Op.CANCEL, Call.CANCEL, S.CANCELLED),
        **_moves((S.CAPTURED,), Op.CORRECT, Call.REDUCE, S.CANCELLED),
        **_timed_moves((S.CAPTURED,), Op.CLOSE_CANCEL_WINDOW, S.CAPTURED_CLOSED),
    },
    repeats=AU_MATOMETE.repeats
    | _pairs((S.CAPTURED_CLOSED,), Op.CAPTURE)
    | _pairs((S.CANCELLED,), Op.CANCEL),
    expired=AU_MATOMETE.expired
    | _pairs((S.CAPTURED_CLOSED,), Op.CANCEL)
    # A correction cancels the capture, so it is too late once cancelling is.
    | _pairs((S.CAPTURED_CLOSED,), Op.CORRECT),
    timed=_expiry(_AUTHORISED, (S.CAPTURED,)),
    openid=True,
)

SOFTBANK_A = CarrierTable(
    name="ソフトバンクまとめて支払い(A)・ワイモバイルまとめて支払い",
    statuses=_statuses("10 15 40"),
    transitions=_consent(capture_only=True),
    repeats=_pairs((S.CAPTURED,), Op.CAPTURE) | _pairs((S.ABANDONED,), Op.ABANDON),
    expired=frozenset(),
    redirect_html=True,
)

SOFTBANK_B = CarrierTable(
    name="ソフトバンクまとめて支払い(B)・ワイモバイルまとめて支払い",
    statuses=_statuses("10 15 20 21 32 33 40 41 60"),
    transitions={
        **_consent(),
        (S.AUTHORIZED, Op.REPORT): Rule(Call.NONE, S.AUTH_COMPLETED, S.AUTH_COMPLETED),
        **_moves(_AUTHORISED_B, Op.CAPTURE, Call.CAPTURE, S.CAPTURED),
        **_moves(_AUTHORISED_B, Op.CANCEL, Call.CANCEL, S.VOIDED),
        **_moves((S.CAPTURED,), Op.CANCEL, Call.CANCEL, S.CANCELLED),
        **_moves(_AUTHORISED_B, Op.CORRECT, Call.REDUCE, S.VOIDED),
        **_moves((S.CAPTURED,), Op.CORRECT, Call.REDUCE, S.CANCELLED),
        **_timed_moves(_AUTHORISED_B, Op.EXPIRE_AUTH, S.AUTH_EXPIRED),
        **_timed_moves((S.CAPTURED,), Op.CLOSE_CANCEL_WINDOW, S.CAPTURED_CLOSED),
    },
    repeats=_pairs((S.CAPTURED, S.CAPTURED_CLOSED), Op.CAPTURE)
    | _pairs((S.VOIDED, S.CANCELLED, S.AUTH_EXPIRED), Op.CANCEL)
    | _pairs((S.ABANDONED,), Op.ABANDON),
    expired=_pairs((S.AUTH_EXPIRED,), Op.CAPTURE)
    | _pairs((S.AUTH_EXPIRED, S.CAPTURED_CLOSED), Op.CORRECT)
    | _pairs((S.CAPTURED_CLOSED,), Op.CANCEL),
    timed=(
        Timed(S.AUTHORIZED, Since.AUTHORIZED, REPORT_LAG, Op.REPORT),
        *_expiry(_AUTHORISED_B, (S.CAPTURED,)),
    ),
    redirect_html=True,
)

DOCOMO = CarrierTable(
    name="d払い",
    statuses=_statuses("10 15 20 21 30 33 34 40 41 42 44 60 62"),
    transitions={
        **_consent(),
        (S.AUTHORIZED, Op.REPORT): Rule(Call.NONE, S.AUTH_COMPLETED, S.AUTH_COMPLETED),
        (S.CAPTURED, Op.REPORT): Rule(Call.NONE, S.CAPTURE_COMPLETED, S.CAPTURE_COMPLETED),
        (S.CANCELLED, Op.REPORT): Rule(Call.NONE, S.CANCEL_COMPLETED, S.CANCEL_COMPLETED),
        **_moves(
            (*_AUTHORISED_B, S.CAPTURE_REQUESTED),
            Op.CAPTURE,
            Call.CAPTURE,
            S.CAPTURED,
            S.CAPTURE_REQUESTED,
        ),
        **_moves(
            (*_AUTHORISED_B, *_CAPTURED_D, S.CANCEL_REQUESTED),
            Op.CANCEL,
            Call.CANCEL,
            S.CANCELLED,
            S.CANCEL_REQUESTED,
        ),
        **_moves(
            (*_AUTHORISED_B, *_CAPTURED_D, S.CORRECTION_REQUESTED),
            Op.CORRECT,
            Call.REDUCE,
            S.CANCELLED,
            S.CORRECTION_REQUESTED,
        ),
        **_timed_moves(_AUTHORISED_B, Op.EXPIRE_AUTH, S.AUTH_EXPIRED),
        **_timed_moves(_CAPTURED_D, Op.CLOSE_CANCEL_WINDOW, S.CAPTURED_CLOSED),
    },
    repeats=_pairs((*_CAPTURED_D, S.CAPTURED_CLOSED), Op.CAPTURE)
    | _pairs((S.CANCELLED, S.CANCEL_COMPLETED, S.AUTH_EXPIRED), Op.CANCEL)
    | _pairs((S.ABANDONED,), Op.ABANDON),
    expired=_pairs((S.AUTH_EXPIRED,), Op.CAPTURE)
    | _pairs((S.AUTH_EXPIRED, S.CAPTURED_CLOSED), Op.CORRECT)
    | _pairs((S.CAPTURED_CLOSED,), Op.CANCEL),
    timed=(
        Timed(S.AUTHORIZED, Since.AUTHORIZED, REPORT_LAG, Op.REPORT),
        Timed(S.CAPTURED, Since.CAPTURED, REPORT_LAG, Op.REPORT),
        Timed(S.CANCELLED, Since.CANCELLED, REPORT_LAG, Op.REPORT),
        *_expiry(_AUTHORISED_B, _CAPTURED_D),
    ),
    redirect_html=True,
    openid=True,
    other_url=True,
)

TABLES: dict[CareerType, CarrierTable] = {
    CareerType.AU_MATOMETE: AU_MATOMETE,
    CareerType.AU_KANTAN: AU_KANTAN,
    CareerType.DOCOMO: DOCOMO,
    CareerType.SOFTBANK_B: SOFTBANK_B,
    CareerType.SOFTBANK_A: SOFTBANK_A,
}


def table_of(career_type: str) -> CarrierTable:
    """The table of a stored payment's carrier type."""
    return TABLES[CareerType(career_type)]


def judge(table: CarrierTable, status: CarrierStatus, operation: CarrierOperation) -> Verdict:
    """What the carrier's table says about `operation` on a payment in `status`."""
    key = (status, operation)
    if key in table.transitions:
        return Verdict.APPLY
    if key in table.repeats:
        return Verdict.REPEAT
    if key in table.expired:
        return Verdict.EXPIRED
    return Verdict.REFUSED


def notifies_merchant(status: CarrierStatus) -> bool:
    """Statuses delivered by 091 and the push. §3.1 marks none for carriers; as for bank net (10
    not notified, the merchant has the 100 answer) and the card (30 not notified), the statuses of a
    request still in flight are not either."""
    match status:
        case S.APPLIED | S.CAPTURE_REQUESTED | S.CORRECTION_REQUESTED | S.CANCEL_REQUESTED:
            return False
        case (
            S.ABANDONED
            | S.AUTHORIZED
            | S.AUTH_COMPLETED
            | S.VOIDED
            | S.AUTH_EXPIRED
            | S.CAPTURED
            | S.CAPTURED_CLOSED
            | S.CAPTURE_COMPLETED
            | S.CANCELLED
            | S.CANCEL_COMPLETED
        ):
            return True
        case _:
            assert_never(status)


def holds_money(status: CarrierStatus, captured: bool) -> bool:
    """The buyer's money is the merchant's (a sale in the ledger): captured and not cancelled.
    `captured`: the payment was ever captured (captured_at is set) — it decides the two statuses
    a request in flight shows whether it started from an authorisation or from a capture (34
    補正要求中, 42 売上取消中: until the carrier answers, a capture stands)."""
    match status:
        case S.CAPTURED | S.CAPTURED_CLOSED | S.CAPTURE_COMPLETED:
            return True
        case S.CORRECTION_REQUESTED | S.CANCEL_REQUESTED:
            return captured
        case (
            S.APPLIED
            | S.ABANDONED
            | S.AUTHORIZED
            | S.AUTH_COMPLETED
            | S.CAPTURE_REQUESTED
            | S.VOIDED
            | S.AUTH_EXPIRED
            | S.CANCELLED
            | S.CANCEL_COMPLETED
        ):
            return False
        case _:
            assert_never(status)
