"""A file line cut off mid-call — its worker died after the line's write-ahead mark — is settled by
what it did (issue #15). A 020/021/022 line's one operation names the line
(`payment_operations.file_line_id`): with none, the line reached nobody and runs again; with one
settled, that is its outcome, as 094 would show it; with one still open, or for a type that writes
more than one operation, it is closed with 9105 and never run again.

The deaths are made in-process: an acquirer whose call is followed (or preceded) by an exception
no handler catches leaves the line `running` with its operation `sending`, exactly as a kill -9
does (test_file_crash.py kills a real worker process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from kessai.app import Runtime
from kessai.core.context import Core, MerchantRef
from kessai.core.files import commands as files
from kessai.core.files import process
from kessai.core.files.models import PaymentFile, PaymentFileLine
from kessai.core.merchants.commands import NewMerchant
from kessai.core.payments.models import Payment, PaymentOperation
from kessai.worker.scheduler import run_periodic_jobs
from tests.support.files import accepted, fetch_result, run_files

OK = "4900000000000000"
DECLINED = "4900000000008101"  # 2002 (§4)
LATER = process.STALE_RUNNING + process.STALE_CLAIM + timedelta(seconds=1)


class Died(BaseException):
    """The worker's death: no `except Exception` of the line's code catches it."""


class Dies:
    """The merchant's real acquirer, and a death right `after` its first call, or before it."""

    def __init__(self, real: object, *, after: bool) -> None:
        self._real, self._after, self.calls = real, after, 0

    def __getattr__(self, method: str) -> Callable[..., object]:
        def call(**kwargs: object) -> object:
            self.calls += 1
            if not self._after:
                raise Died()
            getattr(self._real, method)(**kwargs)  # the acquirer acts; its answer is lost
            raise Died()

        return call


def dying_core(core: Core, *, after: bool) -> tuple[Core, list[Dies]]:
    made: list[Dies] = []

    def acquirer_for(merchant: MerchantRef) -> Dies:
        made.append(Dies(core.acquirer_for(merchant), after=after))
        return made[-1]

    return replace(core, acquirer_for=acquirer_for), made  # type: ignore[arg-type]


def auth_file(*rows: tuple[str, str]) -> str:
    lines = ["trading_id,payment_amount,card_number,card_valid_term"]
    lines += [f"{trading_id},1000,{card},1230" for trading_id, card in rows]
    return "\r\n".join(lines) + "\r\n"


def die_on_first_line(core: Core) -> process.Chunk:
    """A worker takes a chunk and dies in its first line (the rest stay `claimed`)."""
    chunk = process.claim_chunk(core)
    assert chunk is not None
    with pytest.raises(Died):
        process.run_chunk(core, chunk)
    return chunk


def die_after_marks(runtime: Runtime, lines: int | None = None) -> None:
    """A worker takes a chunk, writes the write-ahead marks of its first `lines` lines (all by
    default) and dies before any of them is called."""
    chunk = process.claim_chunk(runtime.core)
    assert chunk is not None
    with runtime.core.sessions.begin() as session:
        session.execute(
            update(PaymentFileLine)
            .where(PaymentFileLine.id.in_(chunk.line_ids[:lines]))
            .values(status="running")
        )


def lines_of(runtime: Runtime, receipt_id: str) -> dict[int, PaymentFileLine]:
    with runtime.core.sessions() as session:
        rows = session.scalars(
            select(PaymentFileLine)
            .join(PaymentFile, PaymentFile.id == PaymentFileLine.file_id)
            .where(PaymentFile.receipt_id == receipt_id)
        )
        return {line.line_no: line for line in rows}


def operations_by_line(runtime: Runtime, line_ids: list[int]) -> dict[int, list[str]]:
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(PaymentOperation.file_line_id, PaymentOperation.status).where(
                PaymentOperation.file_line_id.in_(line_ids)
            )
        )
        found: dict[int, list[str]] = {}
        for line_id, status in rows:
            found.setdefault(int(line_id), []).append(status)
        return found


def payments_of(runtime: Runtime, merchant: NewMerchant) -> dict[str, list[int]]:
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(Payment.trading_id, Payment.id).where(
                Payment.merchant_id == merchant.merchant_id
            )
        )
        found: dict[str, list[int]] = {}
        for trading_id, payment_id in rows:
            found.setdefault(trading_id, []).append(int(payment_id))
        return found


def test_every_operation_of_a_one_operation_file_names_its_line(server, merchant, runtime):
    receipt_id = accepted(server, merchant, "020", auth_file(("N1", OK), ("N2", DECLINED)))
    run_files(runtime)
    lines = lines_of(runtime, receipt_id)
    approved, declined = lines[2].id, lines[3].id
    assert operations_by_line(runtime, [approved, declined]) == {
        approved: ["succeeded"],
        declined: ["declined"],
    }


def test_a_line_cut_off_before_its_operation_runs_again_once(server, merchant, runtime, clock):
    receipt_id = accepted(server, merchant, "020", auth_file(("B1", OK), ("B2", OK)))
    die_after_marks(runtime)
    clock.advance(LATER)
    assert run_files(runtime) == 2
    result = fetch_result(server, merchant, receipt_id)
    assert [(r["result"], r["response_code"]) for r in map(result.line, (2, 3))] == [("0", "")] * 2
    assert sorted(payments_of(runtime, merchant)) == ["B1", "B2"]
    assert all(len(ids) == 1 for ids in payments_of(runtime, merchant).values())


@pytest.mark.parametrize(("card", "result", "code"), [(OK, "0", ""), (DECLINED, "1", "2002")])
def test_a_line_cut_off_after_the_acquirer_answered_takes_that_answer(
    server, merchant, runtime, clock, card, result, code
):
    receipt_id = accepted(server, merchant, "020", auth_file(("A1", card), ("A2", card)))
    core, acquirers = dying_core(runtime.core, after=True)
    die_on_first_line(core)
    assert sum(a.calls for a in acquirers) == 1
    first = lines_of(runtime, receipt_id)[2]
    assert first.status == "running"
    clock.advance(LATER)
    run_periodic_jobs(runtime.core, runtime.settings)  # the reconciler asks the acquirer
    run_files(runtime)

    record = fetch_result(server, merchant, receipt_id).line(2)
    (payment_id,) = payments_of(runtime, merchant)["A1"]  # not run twice
    assert (record["result"], record["response_code"], record["payment_id"]) == (
        result,
        code,
        str(payment_id),
    )
    # The same answer as a line that ran through: the recovered record tells nothing apart.
    other = fetch_result(server, merchant, receipt_id).line(3)
    assert (other["result"], other["response_code"]) == (result, code)
    assert operations_by_line(runtime, [first.id]) == {
        first.id: ["succeeded" if result == "0" else "declined"]
    }


def test_the_kills_own_line_never_sent_ends_as_the_telegram_would(server, merchant, runtime, clock):
    """The worker died before the call left: the reconciler finds nothing at the acquirer and
    ends the operation (2008, as an authorisation timeout); the line takes that outcome."""
    receipt_id = accepted(server, merchant, "020", auth_file(("C1", OK)))
    core, _ = dying_core(runtime.core, after=False)
    die_on_first_line(core)
    clock.advance(LATER)
    run_periodic_jobs(runtime.core, runtime.settings)
    run_files(runtime)
    record = fetch_result(server, merchant, receipt_id).line(2)
    (payment_id,) = payments_of(runtime, merchant)["C1"]
    with runtime.core.sessions() as session:
        payment = session.get_one(Payment, payment_id)
    assert (record["result"], record["response_code"]) == ("1", "2008")
    assert (record["payment_id"], payment.status) == (str(payment_id), "11")


def test_a_line_whose_operation_is_still_open_is_9105_with_its_payment(
    server, merchant, runtime, clock
):
    receipt_id = accepted(server, merchant, "020", auth_file(("D1", OK), ("D2", OK)))
    core, _ = dying_core(runtime.core, after=False)
    die_on_first_line(core)
    clock.advance(LATER)
    run_files(runtime)  # no reconciler pass yet: the operation is still `sending`
    result = fetch_result(server, merchant, receipt_id)
    (payment_id,) = payments_of(runtime, merchant)["D1"]
    assert (result.line(2)["response_code"], result.line(2)["payment_id"]) == (
        "9105",
        str(payment_id),
    )
    assert (result.line(3)["result"], len(payments_of(runtime, merchant)["D2"])) == ("0", 1)


def test_a_cut_off_line_of_a_cancelled_file_that_reached_nobody_is_cancelled(
    server, merchant, runtime, clock
):
    receipt_id = accepted(server, merchant, "020", auth_file(("E1", OK), ("E2", OK)))
    die_after_marks(runtime, lines=1)
    files.cancel(runtime.core, None, receipt_id)  # a line already running is left to finish
    clock.advance(LATER)
    assert run_files(runtime) == 0
    assert {line.status for line in lines_of(runtime, receipt_id).values()} == {"cancelled"}
    assert payments_of(runtime, merchant) == {}


def test_a_register_line_cut_off_is_9105_and_never_rerun(server, merchant, runtime, clock):
    """026 (stored-card register) writes no operation: whether it got through is unknowable."""
    data = "customer_id,card_number,card_valid_term\r\nR1," + OK + ",1230\r\n"
    receipt_id = accepted(server, merchant, "026", data)
    die_after_marks(runtime)
    clock.advance(LATER)
    assert run_files(runtime) == 0
    record = fetch_result(server, merchant, receipt_id).line(2)
    assert (record["result"], record["response_code"]) == ("1", "9105")


def test_a_file_line_opens_at_most_one_operation(server, merchant, runtime):
    receipt_id = accepted(server, merchant, "020", auth_file(("F1", OK)))
    run_files(runtime)
    line = lines_of(runtime, receipt_id)[2]
    with runtime.core.sessions() as session:
        first = session.scalars(
            select(PaymentOperation).where(PaymentOperation.file_line_id == line.id)
        ).one()
        session.add(
            PaymentOperation(
                payment_id=first.payment_id,
                kind="void",
                status="succeeded",
                idempotency_key="second-op-of-one-line",
                amount=first.amount,
                attempts=1,
                created_at=first.created_at,
                updated_at=first.updated_at,
                file_line_id=line.id,
            )
        )
        with pytest.raises(IntegrityError):
            session.flush()
