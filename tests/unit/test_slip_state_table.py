"""The CVS payment slip's state table (paygent-protocol.md §3.4, §3.1), walked without a database."""

from __future__ import annotations

from kessai.core.payments.slip.states import (
    INITIAL,
    TRANSITIONS,
    SlipOperation,
    SlipStatus,
    notifies_merchant,
)
from kessai.core.payments.tables import notifies


def reachable() -> set[SlipStatus]:
    seen = set(INITIAL.values())
    frontier = list(seen)
    while frontier:
        status = frontier.pop()
        for (source, _op), target in TRANSITIONS.items():
            if source == status and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_status_is_reachable_from_where_payments_start():
    assert reachable() == set(SlipStatus)


def test_the_moves_of_section_3_4():
    moves = {(s.value, op.value, t.value) for (s, op), t in TRANSITIONS.items()}
    assert moves == {
        ("10", "report", "43"),
        ("43", "confirm", "40"),
        ("43", "cancel_report", "61"),
        ("10", "expire", "12"),
    }


def test_a_slip_paid_without_application_starts_reported():
    assert INITIAL[SlipOperation.APPLY] is SlipStatus.APPLIED
    assert INITIAL[SlipOperation.REPORT_UNAPPLIED] is SlipStatus.REPORTED


def test_final_statuses_have_no_way_out():
    sources = {source for source, _op in TRANSITIONS}
    assert sources == {SlipStatus.APPLIED, SlipStatus.REPORTED}


def test_every_status_but_10_is_notified():
    assert {s.value for s in SlipStatus if notifies_merchant(s)} == {"12", "40", "43", "61"}
    assert not notifies("04", "10") and notifies("04", "43")
