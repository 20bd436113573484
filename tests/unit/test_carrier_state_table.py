"""The carrier state tables themselves (paygent-protocol.md §3.1), walked without a database: each
carrier type reaches exactly the statuses §3.1 lists for it, and nothing else."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kessai.core.payments.card.states import Verdict
from kessai.core.payments.carrier.states import (
    TABLES,
    CareerType,
    CarrierOperation,
    CarrierStatus,
    CarrierTable,
    judge,
    notifies_merchant,
)

# §3.1, as written there.
PROTOCOL_SETS = {
    CareerType.DOCOMO: "10,15,20,21,30,33,34,40,41,42,44,60,62",
    CareerType.SOFTBANK_B: "10,15,20,21,32,33,40,41,60",
    CareerType.SOFTBANK_A: "10,15,40",
    CareerType.AU_MATOMETE: "10,15,20,32,33,40",
    CareerType.AU_KANTAN: "10,15,20,32,33,40,41,60",
}
CAPTURED = {CarrierStatus.CAPTURED, CarrierStatus.CAPTURED_CLOSED, CarrierStatus.CAPTURE_COMPLETED}


def reachable(table: CarrierTable) -> set[CarrierStatus]:
    seen = {CarrierStatus.APPLIED}
    frontier = [CarrierStatus.APPLIED]
    while frontier:
        status = frontier.pop()
        for (source, _op), rule in table.transitions.items():
            if source != status:
                continue
            for nxt in (rule.on_success, rule.on_decline, rule.on_unknown):
                if nxt is not None and nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)
    return seen


def mentioned(table: CarrierTable) -> set[CarrierStatus]:
    statuses = {
        s for pair in (*table.transitions, *table.repeats, *table.expired) for s in pair[:1]
    }
    for rule in table.transitions.values():
        statuses |= {rule.on_success, rule.on_decline} | (
            {rule.on_unknown} if rule.on_unknown else set()
        )
    return statuses | {timed.status for timed in table.timed}


@pytest.mark.parametrize("career_type", list(CareerType))
def test_each_carrier_reaches_exactly_its_protocol_status_set(career_type: CareerType) -> None:
    table = TABLES[career_type]
    expected = {CarrierStatus(code) for code in PROTOCOL_SETS[career_type].split(",")}
    assert table.statuses == expected
    assert reachable(table) == expected
    assert mentioned(table) <= expected


@pytest.mark.parametrize("career_type", list(CareerType))
def test_applied_repeated_and_expired_pairs_are_disjoint(career_type: CareerType) -> None:
    table = TABLES[career_type]
    assert not set(table.transitions) & table.repeats
    assert not set(table.transitions) & table.expired
    assert not table.repeats & table.expired


@pytest.mark.parametrize("career_type", list(CareerType))
def test_every_timed_move_is_a_transition(career_type: CareerType) -> None:
    table = TABLES[career_type]
    for timed in table.timed:
        assert (timed.status, timed.operation) in table.transitions


@pytest.mark.parametrize("career_type", list(CareerType))
def test_pairs_outside_the_table_are_refused(career_type: CareerType) -> None:
    table = TABLES[career_type]
    known = set(table.transitions) | table.repeats | table.expired
    for pair in itertools.product(CarrierStatus, CarrierOperation):
        if pair not in known:
            assert judge(table, *pair) is Verdict.REFUSED


def test_only_softbank_a_captures_on_every_approval() -> None:
    always = {ct for ct, table in TABLES.items() if table.captures_on_approval("0")}
    assert always == {CareerType.SOFTBANK_A}
    assert all(table.captures_on_approval("1") for table in TABLES.values())


def test_requests_in_flight_and_the_application_are_not_notified() -> None:
    quiet = {s for s in CarrierStatus if not notifies_merchant(s)}
    assert quiet == {
        CarrierStatus.APPLIED,
        CarrierStatus.CAPTURE_REQUESTED,
        CarrierStatus.CORRECTION_REQUESTED,
        CarrierStatus.CANCEL_REQUESTED,
    }


@given(
    st.sampled_from(list(CareerType)),
    st.lists(st.tuples(st.sampled_from(CarrierOperation), st.booleans()), max_size=30),
)
def test_any_sequence_stays_in_the_carriers_set_and_captures_at_most_once(
    career_type: CareerType, steps: list[tuple[CarrierOperation, bool]]
) -> None:
    table = TABLES[career_type]
    status, captures = CarrierStatus.APPLIED, 0
    for operation, succeeds in steps:
        if judge(table, status, operation) is not Verdict.APPLY:
            continue
        rule = table.transitions[(status, operation)]
        new = rule.on_success if succeeds else rule.on_decline
        captures += status not in CAPTURED and new in CAPTURED
        status = new
        assert status in table.statuses
    assert captures <= 1
