"""The card acquirer contract (architecture-notes §1.9): one scenario suite, run against every
`CardAcquirer` — the in-process sandbox and the simulator client talking to the real simulator over
loopback HTTP. The fault scenarios (timeout, lost answer, unreachable) exist only where a network
does, so they run against the simulator alone, steered through its control API."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from kessai.connectors.acquirer_sim import SimAcquirer
from kessai.connectors.base import CardAcquirer, CardData, ConnectorResult, Outcome
from kessai.connectors.sandbox import SandboxAcquirer
from kessai.kit.clock import FrozenClock
from kessai.kit.secrets import CardNumber, SecurityCode
from kessai.simulators.acquirer import create_app
from tests.support.servers import serve_app

CLIENT_TIMEOUT = 0.5  # seconds; the `delay` knob sleeps longer than this
VALID_TERM = "1230"  # FrozenClock stands in April 2026
AMOUNT = 1200


def key() -> str:
    return uuid.uuid4().hex


def card(number: str = "4900000000000000", valid_term: str = VALID_TERM) -> CardData:
    return CardData(CardNumber(number), valid_term, SecurityCode("123"))


def authorise(
    acquirer: CardAcquirer, number: str = "4900000000000000", *, capture: bool = False
) -> ConnectorResult:
    return acquirer.authorize(
        idempotency_key=key(), card=card(number), amount=AMOUNT, capture=capture
    )


class SimulatorControl:
    """The simulator's test knobs (POST /control/next …)."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url, timeout=5)

    def next(self, action: str, *, delay_ms: int = 0, count: int = 1) -> None:
        body = {"action": action, "delay_ms": delay_ms, "count": count}
        self._http.post("/control/next", json=body).raise_for_status()

    def reset(self) -> None:
        self._http.post("/control/reset").raise_for_status()

    def operations(self) -> list[dict[str, Any]]:
        response = self._http.get("/control/operations")
        response.raise_for_status()
        operations: list[dict[str, Any]] = response.json()["operations"]
        return operations

    def close(self) -> None:
        self._http.close()


@dataclass
class Simulated:
    acquirer: SimAcquirer
    control: SimulatorControl


@pytest.fixture(scope="module")
def simulator_url() -> Iterator[str]:
    with serve_app(create_app(FrozenClock())) as base_url:
        yield base_url


@pytest.fixture
def simulated(simulator_url: str) -> Iterator[Simulated]:
    control = SimulatorControl(simulator_url)
    control.reset()
    acquirer = SimAcquirer(simulator_url, timeout=CLIENT_TIMEOUT)
    yield Simulated(acquirer, control)
    acquirer.close()
    control.close()


@pytest.fixture(params=["sandbox", "acquirer_sim"])
def acquirer(request: pytest.FixtureRequest) -> CardAcquirer:
    if request.param == "sandbox":
        return SandboxAcquirer(FrozenClock())
    simulated: Simulated = request.getfixturevalue("simulated")
    return simulated.acquirer


class TestHappyPaths:
    def test_authorise_capture_refund_succeed_on_one_reference(
        self, acquirer: CardAcquirer
    ) -> None:
        auth = authorise(acquirer)
        assert auth.outcome is Outcome.SUCCEEDED
        assert auth.reference and auth.amount == AMOUNT and auth.approval_number
        ref = auth.reference
        captured = acquirer.capture(idempotency_key=key(), reference=ref, amount=AMOUNT)
        assert (captured.outcome, captured.reference, captured.amount) == (
            Outcome.SUCCEEDED,
            ref,
            AMOUNT,
        )
        refunded = acquirer.refund(idempotency_key=key(), reference=ref, amount=AMOUNT)
        assert (refunded.outcome, refunded.reference, refunded.amount) == (
            Outcome.SUCCEEDED,
            ref,
            AMOUNT,
        )

    def test_authorise_then_void_succeeds(self, acquirer: CardAcquirer) -> None:
        auth = authorise(acquirer)
        assert auth.reference is not None
        voided = acquirer.void(idempotency_key=key(), reference=auth.reference, amount=AMOUNT)
        assert (voided.outcome, voided.reference) == (Outcome.SUCCEEDED, auth.reference)

    def test_authorise_and_capture_in_one_call_can_be_refunded(
        self, acquirer: CardAcquirer
    ) -> None:
        auth = authorise(acquirer, capture=True)
        assert auth.outcome is Outcome.SUCCEEDED and auth.reference is not None
        refunded = acquirer.refund(idempotency_key=key(), reference=auth.reference, amount=AMOUNT)
        assert refunded.outcome is Outcome.SUCCEEDED

    def test_zero_yen_validity_check_is_authorised(self, acquirer: CardAcquirer) -> None:
        result = acquirer.authorize(idempotency_key=key(), card=card(), amount=0, capture=False)
        assert (result.outcome, result.amount) == (Outcome.SUCCEEDED, 0)

    def test_authorisation_reports_issuer_and_acquirer(self, acquirer: CardAcquirer) -> None:
        jcb = authorise(acquirer, "3580000000000000").issuer
        assert jcb is not None and (jcb.acq_id, jcb.acq_name, jcb.issur_class) == (
            "99661",
            "ＪＣＢ",
            "0",
        )
        foreign = authorise(acquirer, "4000000000000000").issuer
        assert foreign is not None and foreign.issur_class == "1"


class TestDeclines:
    def test_decline_is_a_result_with_paygent_codes(self, acquirer: CardAcquirer) -> None:
        result = authorise(acquirer, "4900000000008212")
        assert (result.outcome, result.response_code, result.response_detail) == (
            Outcome.DECLINED,
            "2001",
            "1G12",
        )
        assert result.reference is None
        assert result.amount == AMOUNT

    def test_expired_card_is_an_input_error(self, acquirer: CardAcquirer) -> None:
        result = acquirer.authorize(
            idempotency_key=key(), card=card(valid_term="0326"), amount=AMOUNT, capture=False
        )
        assert (result.outcome, result.response_code, result.response_detail) == (
            Outcome.DECLINED,
            "2003",
            "1G83",
        )

    def test_stub_timeout_is_a_declined_2008(self, acquirer: CardAcquirer) -> None:
        result = authorise(acquirer, "4900000000009000")
        assert (result.outcome, result.response_code) == (Outcome.DECLINED, "2008")

    @pytest.mark.parametrize("operation", ["void", "refund"])
    def test_x2_card_cannot_be_cancelled(self, acquirer: CardAcquirer, operation: str) -> None:
        auth = authorise(acquirer, "4900000000002115", capture=operation == "refund")
        assert auth.outcome is Outcome.SUCCEEDED and auth.reference is not None
        cancel = getattr(acquirer, operation)
        result = cancel(idempotency_key=key(), reference=auth.reference, amount=AMOUNT)
        assert (result.outcome, result.response_code, result.response_detail) == (
            Outcome.DECLINED,
            "2002",
            "1C15",
        )

    def test_x2_card_can_still_be_captured(self, acquirer: CardAcquirer) -> None:
        auth = authorise(acquirer, "4900000000002115")
        assert auth.reference is not None
        captured = acquirer.capture(idempotency_key=key(), reference=auth.reference, amount=AMOUNT)
        assert captured.outcome is Outcome.SUCCEEDED

    def test_x3_card_void_times_out(self, acquirer: CardAcquirer) -> None:
        auth = authorise(acquirer, "4900000000003000")
        assert auth.reference is not None
        result = acquirer.void(idempotency_key=key(), reference=auth.reference, amount=AMOUNT)
        assert (result.outcome, result.response_code) == (Outcome.DECLINED, "2008")

    def test_follow_up_on_a_reference_never_issued_is_declined(
        self, acquirer: CardAcquirer
    ) -> None:
        result = acquirer.capture(idempotency_key=key(), reference="au_nothing", amount=AMOUNT)
        assert (result.outcome, result.response_code) == (Outcome.DECLINED, "2002")


class TestIdempotency:
    def test_repeated_key_answers_the_same_authorisation_once(self, acquirer: CardAcquirer) -> None:
        k, c = key(), card()
        first = acquirer.authorize(idempotency_key=k, card=c, amount=AMOUNT, capture=False)
        again = acquirer.authorize(idempotency_key=k, card=c, amount=AMOUNT, capture=False)
        assert first.outcome is Outcome.SUCCEEDED
        # A second charge would carry a new reference and approval number.
        assert again == first

    def test_concurrent_calls_with_one_key_authorise_once(self, acquirer: CardAcquirer) -> None:
        k, c = key(), card()
        results: list[ConnectorResult] = []

        def call() -> None:
            results.append(
                acquirer.authorize(idempotency_key=k, card=c, amount=AMOUNT, capture=False)
            )

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len({r.reference for r in results}) == 1 and results[0].reference

    def test_repeated_capture_key_answers_the_same_result(self, acquirer: CardAcquirer) -> None:
        auth = authorise(acquirer)
        assert auth.reference is not None
        k = key()
        first = acquirer.capture(idempotency_key=k, reference=auth.reference, amount=AMOUNT)
        again = acquirer.capture(idempotency_key=k, reference=auth.reference, amount=AMOUNT)
        assert again == first

    def test_repeated_key_repeats_a_decline(self, acquirer: CardAcquirer) -> None:
        k, c = key(), card("4900000000008101")
        first = acquirer.authorize(idempotency_key=k, card=c, amount=AMOUNT, capture=False)
        again = acquirer.authorize(idempotency_key=k, card=c, amount=AMOUNT, capture=False)
        assert first.response_detail == "1C01" and again == first

    def test_key_reused_for_another_request_is_a_programming_error(
        self, acquirer: CardAcquirer
    ) -> None:
        k = key()
        acquirer.authorize(idempotency_key=k, card=card(), amount=AMOUNT, capture=False)
        with pytest.raises(ValueError):
            acquirer.authorize(idempotency_key=k, card=card(), amount=AMOUNT + 1, capture=False)

    def test_lookup_answers_what_was_done(self, acquirer: CardAcquirer) -> None:
        k = key()
        auth = acquirer.authorize(idempotency_key=k, card=card(), amount=AMOUNT, capture=False)
        assert acquirer.lookup(idempotency_key=k) == auth

    def test_lookup_of_an_unseen_key_is_not_sent(self, acquirer: CardAcquirer) -> None:
        assert acquirer.lookup(idempotency_key=key()).outcome is Outcome.NOT_SENT


class TestCardNumbersStayHidden:
    def test_card_number_never_reaches_a_log_or_a_result(
        self, acquirer: CardAcquirer, caplog: pytest.LogCaptureFixture
    ) -> None:
        number = "4980123456782115"
        with caplog.at_level(logging.DEBUG):
            auth = authorise(acquirer, number)
            assert auth.reference is not None
            acquirer.void(idempotency_key=key(), reference=auth.reference, amount=AMOUNT)
        assert number not in caplog.text
        assert number not in repr(auth)


class TestSimulatorFaults:
    """What only a network can do, steered through the simulator's control API."""

    def test_timeout_is_unknown_and_lookup_finds_the_authorisation(
        self, simulated: Simulated
    ) -> None:
        simulated.control.next("delay", delay_ms=int(CLIENT_TIMEOUT * 3000))
        k = key()
        lost = simulated.acquirer.authorize(
            idempotency_key=k, card=card(), amount=AMOUNT, capture=False
        )
        assert lost.outcome is Outcome.UNKNOWN
        found = simulated.acquirer.lookup(idempotency_key=k)
        [performed] = simulated.control.operations()
        assert found.outcome is Outcome.SUCCEEDED
        assert found.reference == performed["authorization_id"] and found.amount == AMOUNT

    def test_garbage_answer_is_unknown_and_a_retry_charges_once(self, simulated: Simulated) -> None:
        simulated.control.next("unknown")
        k, c = key(), card()
        lost = simulated.acquirer.authorize(idempotency_key=k, card=c, amount=AMOUNT, capture=False)
        retried = simulated.acquirer.authorize(
            idempotency_key=k, card=c, amount=AMOUNT, capture=False
        )
        assert lost.outcome is Outcome.UNKNOWN
        assert retried.outcome is Outcome.SUCCEEDED
        assert len(simulated.control.operations()) == 1

    def test_not_sent_is_not_sent_and_nothing_is_recorded(self, simulated: Simulated) -> None:
        simulated.control.next("not_sent")
        k = key()
        result = simulated.acquirer.authorize(
            idempotency_key=k, card=card(), amount=AMOUNT, capture=False
        )
        assert result.outcome is Outcome.NOT_SENT
        assert simulated.control.operations() == []
        assert simulated.acquirer.lookup(idempotency_key=k).outcome is Outcome.NOT_SENT

    def test_forced_decline_declines_a_good_card(self, simulated: Simulated) -> None:
        simulated.control.next("decline")
        result = authorise(simulated.acquirer)
        assert (result.outcome, result.response_code, result.response_detail) == (
            Outcome.DECLINED,
            "2001",
            "1G12",
        )

    def test_knob_count_steers_that_many_calls(self, simulated: Simulated) -> None:
        simulated.control.next("not_sent", count=2)
        outcomes = [authorise(simulated.acquirer).outcome for _ in range(3)]
        assert outcomes == [Outcome.NOT_SENT, Outcome.NOT_SENT, Outcome.SUCCEEDED]

    def test_unreachable_acquirer_is_not_sent_and_lookup_is_unknown(self) -> None:
        # A port nothing listens on: bound, then closed by leaving the context.
        with serve_app(create_app(FrozenClock())) as gone_url:
            pass
        acquirer = SimAcquirer(gone_url, timeout=CLIENT_TIMEOUT)
        assert authorise(acquirer).outcome is Outcome.NOT_SENT
        assert acquirer.lookup(idempotency_key=key()).outcome is Outcome.UNKNOWN
        acquirer.close()

    def test_wrong_acquirer_url_is_not_sent(self, simulator_url: str) -> None:
        acquirer = SimAcquirer(f"{simulator_url}/not-the-api", timeout=CLIENT_TIMEOUT)
        assert authorise(acquirer).outcome is Outcome.NOT_SENT
        acquirer.close()

    def test_lookup_at_a_wrong_acquirer_url_is_unknown(self, simulator_url: str) -> None:
        # Not the acquirer saying it never saw the key: a not_sent authorisation fails (11), and
        # an authorisation it did make must not fail because the URL was wrong after a restart.
        acquirer = SimAcquirer(f"{simulator_url}/not-the-api", timeout=CLIENT_TIMEOUT)
        assert acquirer.lookup(idempotency_key=key()).outcome is Outcome.UNKNOWN
        acquirer.close()

    def test_operations_list_shows_card_numbers_masked(self, simulated: Simulated) -> None:
        authorise(simulated.acquirer, "4980123456780000")
        [performed] = simulated.control.operations()
        assert performed["card"] == "************0000"
        assert "4980123456780000" not in json.dumps(performed)


class TestSimulatorEcho:
    """The client trusts no answer whose echo differs from what was sent (§1.7)."""

    @staticmethod
    def answering(**changes: object) -> SimAcquirer:
        def handler(request: httpx.Request) -> httpx.Response:
            sent = json.loads(request.content)
            answer = {
                "operation_id": "op_1",
                "idempotency_key": sent["idempotency_key"],
                "type": "authorization",
                "authorization_id": "au_1",
                "status": "approved",
                "amount": sent["amount"],
                "approval_code": "1234567",
                "decline": None,
                "card": None,
            }
            return httpx.Response(200, json=answer | changes)

        return SimAcquirer("http://acquirer.test", 1.0, transport=httpx.MockTransport(handler))

    def test_matching_echo_is_trusted(self) -> None:
        assert authorise(self.answering()).outcome is Outcome.SUCCEEDED

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"amount": AMOUNT + 1}, "amount"),
            ({"idempotency_key": "someone-else"}, "idempotency_key"),
            ({"type": "refund"}, "type"),
        ],
    )
    def test_differing_echo_is_unknown(self, changes: dict[str, object], field: str) -> None:
        result = authorise(self.answering(**changes))
        assert result.outcome is Outcome.UNKNOWN
        assert result.extra == {"integrity_failure": field}

    def test_answer_that_is_not_an_operation_is_unknown(self) -> None:
        assert authorise(self.answering(status="maybe")).outcome is Outcome.UNKNOWN


class TestSandboxMemory:
    """The sandbox's answer memory is bounded and small: a worker running a 100,000-line file keeps
    its full 50,000 answers, and the file's memory should not grow with its size."""

    def test_the_oldest_answers_are_forgotten_past_the_bound(self) -> None:
        acquirer = SandboxAcquirer(FrozenClock(), memory=3)
        keys = [key() for _ in range(4)]
        for k in keys:
            acquirer.authorize(idempotency_key=k, card=card(), amount=AMOUNT, capture=False)
        assert acquirer.lookup(idempotency_key=keys[0]).outcome is Outcome.NOT_SENT
        assert {acquirer.lookup(idempotency_key=k).outcome for k in keys[1:]} == {Outcome.SUCCEEDED}

    def test_an_answer_kept_costs_a_few_hundred_bytes(self) -> None:
        # Measured in a process of its own: other tests' servers allocate on their own threads.
        done = subprocess.run(
            [sys.executable, "-c", MEMORY_PROBE], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        per_answer = float(done.stdout.split()[-1])
        assert per_answer < 500, f"{per_answer:.0f} bytes per answer kept"  # was ~770


MEMORY_PROBE = """\
import tracemalloc, uuid
from kessai.connectors.base import CardData
from kessai.connectors.sandbox import SandboxAcquirer
from kessai.kit.clock import FrozenClock
from kessai.kit.secrets import CardNumber, SecurityCode
acquirer, answers = SandboxAcquirer(FrozenClock()), 20_000
keys = [uuid.uuid4().hex for _ in range(answers)]  # the caller's keys are not the memory's cost
card = CardData(CardNumber("4900000000000000"), "1230", SecurityCode("123"))
tracemalloc.start()
before = tracemalloc.get_traced_memory()[0]
for k in keys:
    acquirer.authorize(idempotency_key=k, card=card, amount=1200, capture=False)
print((tracemalloc.get_traced_memory()[0] - before) / answers)
"""
