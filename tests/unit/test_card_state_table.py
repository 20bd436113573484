"""The card state table itself (paygent-protocol.md §3.2), walked without a database."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from kessai.core.payments.card.states import (
    EXPIRED,
    REPEATS,
    TRANSITIONS,
    CardOperation,
    CardStatus,
    Verdict,
    is_captured,
    is_terminal,
    judge,
)


def reachable() -> set[CardStatus]:
    seen = {CardStatus.APPLIED}
    frontier = [CardStatus.APPLIED]
    while frontier:
        status = frontier.pop()
        for (source, _op), rule in TRANSITIONS.items():
            if source == status:
                for nxt in (rule.on_success, rule.on_decline):
                    if nxt not in seen:
                        seen.add(nxt)
                        frontier.append(nxt)
    return seen


def test_every_status_is_reachable_from_applied() -> None:
    assert reachable() == set(CardStatus)


def test_terminal_statuses_have_no_exits() -> None:
    for status, operation in TRANSITIONS:
        assert not is_terminal(status), (status, operation)


def test_applied_repeated_and_expired_pairs_are_disjoint() -> None:
    assert not set(TRANSITIONS) & REPEATS
    assert not set(TRANSITIONS) & EXPIRED
    assert not REPEATS & EXPIRED


def test_capture_is_refused_in_every_status_that_cannot_capture() -> None:
    for status in CardStatus:
        verdict = judge(status, CardOperation.CAPTURE)
        if status in (CardStatus.AUTHORIZED, CardStatus.CAPTURE_REQUESTED):
            assert verdict is Verdict.APPLY
        elif is_captured(status):
            assert verdict is Verdict.REPEAT
        else:
            assert verdict in (Verdict.REFUSED, Verdict.EXPIRED), status


def test_pairs_outside_the_table_are_refused() -> None:
    known = set(TRANSITIONS) | REPEATS | EXPIRED
    for pair in itertools.product(CardStatus, CardOperation):
        if pair not in known:
            assert judge(*pair) is Verdict.REFUSED


@given(st.lists(st.tuples(st.sampled_from(CardOperation), st.booleans()), max_size=30))
def test_any_sequence_stays_in_the_table_and_captures_at_most_once(
    steps: list[tuple[CardOperation, bool]],
) -> None:
    status, captures = CardStatus.APPLIED, 0
    for operation, succeeds in steps:
        if judge(status, operation) is not Verdict.APPLY:
            continue
        rule = TRANSITIONS[(status, operation)]
        new = rule.on_success if succeeds else rule.on_decline
        captures += (not is_captured(status)) and is_captured(new)
        status = new
    assert status in reachable()
    assert captures <= 1


def test_the_documented_diagram_is_the_table() -> None:
    from pathlib import Path

    from kessai.core.payments.diagram import render

    doc = Path(__file__).parents[2] / "docs" / "dev" / "card-states.md"
    assert doc.read_text(encoding="utf-8") == render(), (
        "regenerate: python -m kessai.core.payments.diagram > docs/dev/card-states.md"
    )
