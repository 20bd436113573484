"""File payment (ファイル決済, 200/201) through the real server over HTTP, in Windows-31J: every file
type, malformed files (nothing runs), duplicate_check, 9103 then the result, the file notice and
its hc, a cancel mid-file, another merchant's receipt id."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from kessai.app import Runtime
from kessai.client import NoticeVerificationError, is_file_notice, verify_file_notice
from kessai.core.cards.models import StoredCard
from kessai.core.files import commands as files
from kessai.core.files import process
from kessai.core.files.models import PaymentFile, PaymentFileLine
from kessai.core.merchants.commands import NewMerchant
from kessai.core.notifications.models import Notice
from kessai.core.payments.models import Payment
from kessai.kit.errors import KessaiError
from kessai.worker.outbox import deliver_due
from tests.conftest import make_merchant
from tests.support.console import merchant_ref
from tests.support.files import accepted, fetch_result, run_files, submit
from tests.support.receiver import Receiver
from tests.support.servers import serve_app
from tests.support.telegrams import authorised, send

OK = "4900000000000000"
DECLINED = "4900000000008101"  # 2002 1C01 (§4)


def payments(runtime: Runtime, merchant: NewMerchant) -> dict[str, list[str]]:
    """trading_id → the statuses of its payments."""
    with runtime.core.sessions() as session:
        rows = session.execute(
            select(Payment.trading_id, Payment.status)
            .where(Payment.merchant_id == merchant.merchant_id)
            .order_by(Payment.id)
        ).all()
    found: dict[str, list[str]] = {}
    for trading_id, status in rows:
        found.setdefault(trading_id, []).append(status)
    return found


def status_of(runtime: Runtime, payment_id: str) -> str:
    with runtime.core.sessions() as session:
        return session.get_one(Payment, int(payment_id)).status


def file_count(runtime: Runtime, merchant: NewMerchant) -> int:
    with runtime.core.sessions() as session:
        return (
            session.scalar(
                select(func.count(PaymentFile.id)).where(
                    PaymentFile.merchant_id == merchant.merchant_id
                )
            )
            or 0
        )


def auth_file(*rows: tuple[str, int, str]) -> str:
    lines = ["trading_id,payment_amount,card_number,card_valid_term"]
    lines += [f"{t},{amount},{card},1230" for t, amount, card in rows]
    return "\r\n".join(lines) + "\r\n"


class TestAuthorisationFile:
    def test_9103_until_the_worker_runs_it_then_one_record_per_line(
        self, server, merchant, runtime
    ):
        data = auth_file(("F1", 1000, OK), ("F2", 2000, DECLINED), ("F3", 0, OK))
        receipt_id = accepted(server, merchant, "020", data)
        assert len(receipt_id) == 9 and receipt_id.isdigit()
        early = fetch_result(server, merchant, receipt_id)
        assert (early.result, early.code, early.data) == ("1", "9103", [])

        assert run_files(runtime) == 3
        result = fetch_result(server, merchant, receipt_id)
        assert (result.result, result.code, result.header[1]) == ("0", "", receipt_id)
        ok, declined, zero = result.line(2), result.line(3), result.line(4)
        assert (ok["result"], ok["trading_id"]) == ("0", "F1")
        assert status_of(runtime, ok["payment_id"]) == "20"
        assert (declined["result"], declined["response_code"]) == ("1", "2002")
        assert (declined["response_detail"], declined["payment_id"]) == ("1C01", "")
        assert (zero["result"], zero["response_code"]) == ("1", "P014")
        assert payments(runtime, merchant) == {"F1": ["20"], "F2": ["11"]}

    def test_sales_mode_column_captures_as_the_telegram_does(self, server, merchant, runtime):
        data = "trading_id,payment_amount,card_number,card_valid_term,sales_mode\r\nS1,500,"
        receipt_id = accepted(server, merchant, "020", data + OK + ",1230,1\r\n")
        run_files(runtime)
        assert (
            status_of(runtime, fetch_result(server, merchant, receipt_id).line(2)["payment_id"])
            == "40"
        )

    def test_utf8_file_with_a_bom_is_read(self, server, merchant, runtime):
        data = "\ufeff" + auth_file(("U1", 700, OK))
        receipt_id = accepted(server, merchant, "020", data.encode("utf-8"))
        run_files(runtime)
        assert fetch_result(server, merchant, receipt_id).line(2)["result"] == "0"

    def test_a_failing_line_does_not_stop_the_others(self, server, merchant, runtime):
        rows = [(f"M{n}", 100 + n, DECLINED if n % 2 else OK) for n in range(10)]
        receipt_id = accepted(server, merchant, "020", auth_file(*rows))
        run_files(runtime)
        result = fetch_result(server, merchant, receipt_id)
        assert [r[1] for r in result.data] == ["0", "1"] * 5
        view = files.show(runtime.core, None, receipt_id)
        assert (view.status, view.done_lines, view.error_lines) == ("done", 10, 5)


class TestFollowUpFiles:
    def test_capture_file_captures_each_payment(self, server, merchant, runtime):
        ids = [authorised(server, merchant, f"C{n}") for n in range(2)]
        receipt_id = accepted(server, merchant, "021", "payment_id\r\n" + "\r\n".join(ids))
        run_files(runtime)
        result = fetch_result(server, merchant, receipt_id)
        assert [r[1] for r in result.data] == ["0", "0"]
        assert [status_of(runtime, pid) for pid in ids] == ["40", "40"]

    def test_capture_of_a_captured_payment_answers_its_telegrams_error(
        self, server, merchant, runtime
    ):
        pid = authorised(server, merchant, "C9", sales_mode="1")
        receipt_id = accepted(server, merchant, "021", f"payment_id\r\n{pid}\r\n")
        run_files(runtime)
        same = send(server, merchant, "022", payment_id=pid)
        line = fetch_result(server, merchant, receipt_id).line(2)
        assert (line["result"], line["response_code"]) == (same.result, same.code)

    def test_cancel_file_voids_an_authorisation_and_cancels_a_capture(
        self, server, merchant, runtime
    ):
        authorised_only = authorised(server, merchant, "V1")
        captured = authorised(server, merchant, "V2", sales_mode="1")
        data = "trading_id\r\nV1\r\nV2\r\n"
        receipt_id = accepted(server, merchant, "022", data)
        run_files(runtime)
        assert [r[1] for r in fetch_result(server, merchant, receipt_id).data] == ["0", "0"]
        assert status_of(runtime, authorised_only) == "32"
        assert status_of(runtime, captured) == "60"

    def test_correction_files_change_the_amount(self, server, merchant, runtime):
        auth = authorised(server, merchant, "K1")
        data = f"payment_id,payment_amount,reduction_flag\r\n{auth},600,1\r\n"
        receipt_id = accepted(server, merchant, "028", data)
        run_files(runtime)
        line = fetch_result(server, merchant, receipt_id).line(2)
        assert line["result"] == "0", line
        with runtime.core.sessions() as session:
            assert session.get_one(Payment, int(line["payment_id"])).amount == 1000 - 600
        captured = authorised(server, merchant, "K2", sales_mode="1")
        data = f"payment_id,payment_amount,reduction_flag\r\n{captured},300,1\r\n"
        receipt_id = accepted(server, merchant, "029", data)
        run_files(runtime)
        line = fetch_result(server, merchant, receipt_id).line(2)
        assert line["result"] == "0", line
        assert status_of(runtime, line["payment_id"]) == "40"


class TestStoredCardFiles:
    def test_register_update_and_delete_by_file(self, server, merchant, runtime):
        data = f"customer_id,card_number,card_valid_term,cardholder_name\r\nCU1,{OK},1230,TARO\r\n"
        receipt_id = accepted(server, merchant, "026", data)
        run_files(runtime)
        line = fetch_result(server, merchant, receipt_id).line(2)
        assert line["result"] == "0" and line["customer_card_id"].isdigit(), line
        card_id = line["customer_card_id"]

        data = f"customer_id,customer_card_id,card_valid_term\r\nCU1,{card_id},0131\r\n"
        receipt_id = accepted(server, merchant, "116", data)
        run_files(runtime)
        assert fetch_result(server, merchant, receipt_id).line(2)["result"] == "0"
        with runtime.core.sessions() as session:
            assert session.get_one(StoredCard, int(card_id)).card_valid_term == "0131"

        data = f"customer_id,customer_card_id\r\nCU1,{card_id}\r\n"
        receipt_id = accepted(server, merchant, "027", data)
        run_files(runtime)
        assert fetch_result(server, merchant, receipt_id).line(2)["result"] == "0"
        with runtime.core.sessions() as session:
            assert session.get_one(StoredCard, int(card_id)).deleted_at is not None


class TestMalformedFiles:
    def refused(self, server, merchant, runtime, data: str | bytes, file_type: str = "020") -> str:
        reply = submit(server, merchant, file_type, data)
        assert (reply.result, reply.code) == ("1", "9101"), reply.fields
        assert file_count(runtime, merchant) == 0
        assert payments(runtime, merchant) == {}
        return reply["response_detail"]

    def test_unknown_column(self, server, merchant, runtime):
        detail = self.refused(server, merchant, runtime, "trading_id,payment_amount,colour\r\n")
        assert detail.startswith("1行目") and "colour" in detail

    def test_missing_required_column(self, server, merchant, runtime):
        detail = self.refused(server, merchant, runtime, "trading_id\r\nT1\r\n")
        assert detail.startswith("1行目") and "payment_amount" in detail

    def test_merchant_credentials_are_not_repeated(self, server, merchant, runtime):
        data = "merchant_id,payment_amount\r\n1,100\r\n"
        assert "merchant_id" in self.refused(server, merchant, runtime, data)

    def test_security_codes_are_refused(self, server, merchant, runtime):
        data = f"payment_amount,card_number,card_valid_term,card_conf_number\r\n1,{OK},1230,123\r\n"
        assert "card_conf_number" in self.refused(server, merchant, runtime, data)

    def test_wrong_number_of_fields_names_its_line(self, server, merchant, runtime):
        data = auth_file(("A", 1, OK), ("B", 2, OK)) + "C,3\r\n"
        assert self.refused(server, merchant, runtime, data).startswith("4行目")

    def test_value_the_codec_refuses_names_its_line_and_nothing_runs(
        self, server, merchant, runtime
    ):
        data = auth_file(("A", 1, OK), ("B", 12_345_678, OK))
        detail = self.refused(server, merchant, runtime, data)
        assert detail.startswith("3行目") and "P009" in detail and "payment_amount" in detail
        assert OK not in detail

    def test_bad_encoding(self, server, merchant, runtime):
        data = auth_file(("A", 1, OK)).encode("cp932") + b"\x82\r\n"
        assert self.refused(server, merchant, runtime, data).startswith("3行目")

    def test_header_only(self, server, merchant, runtime):
        self.refused(server, merchant, runtime, "trading_id,payment_amount\r\n")

    def test_unknown_file_type_answers_9102(self, server, merchant, runtime):
        assert submit(server, merchant, "999", auth_file(("A", 1, OK))).code == "9102"


class TestReceipt:
    def test_duplicate_check_refuses_the_same_file_within_24_hours(
        self, server, merchant, runtime, clock
    ):
        data = auth_file(("D1", 100, OK))
        first = submit(server, merchant, "020", data, duplicate_check="1")
        assert first.result == "0"
        again = submit(server, merchant, "020", data, duplicate_check="1")
        assert (again.result, again.code) == ("1", "9106")
        assert submit(server, merchant, "020", data).result == "0"  # without the check
        other = make_merchant(runtime)
        assert submit(server, other, "020", data, duplicate_check="1").result == "0"
        clock.advance(process.STALE_RUNNING * 0 + files.DUPLICATE_WINDOW)
        assert submit(server, merchant, "020", data, duplicate_check="1").result == "0"
        assert file_count(runtime, merchant) == 3

    def test_two_identical_files_at_once_with_duplicate_check_accept_one(
        self, runtime, merchant, monkeypatch
    ):
        # The first submit sits between its check and its commit while the second checks: the
        # second must wait for it and answer 9106, not store the same file again.
        seen = files._seen
        checking = threading.Barrier(2, timeout=10)

        def slow_seen(*args):
            found = seen(*args)
            if not found:
                with contextlib.suppress(threading.BrokenBarrierError):
                    checking.wait(timeout=1)  # the other one is checking too (if not locked out)
            return found

        monkeypatch.setattr(files, "_seen", slow_seen)
        data = auth_file(("R1", 100, OK)).encode("cp932")
        ref = merchant_ref(runtime, merchant.merchant_id)
        with ThreadPoolExecutor(2) as pool:
            tries = [
                pool.submit(files.submit, runtime.core, ref, "020", data, duplicate_check=True)
                for _ in range(2)
            ]
            outcomes = []
            for future in tries:
                try:
                    outcomes.append(future.result())
                except KessaiError as refused:
                    outcomes.append(refused.code)
        assert sorted(o == "9106" for o in outcomes) == [False, True], outcomes
        assert file_count(runtime, merchant) == 1

    def test_another_merchants_receipt_id_is_not_found(self, server, merchant, runtime):
        receipt_id = accepted(server, merchant, "020", auth_file(("O1", 100, OK)))
        run_files(runtime)
        other = make_merchant(runtime)
        result = fetch_result(server, other, receipt_id)
        assert (result.result, result.code, result.data) == ("1", "9104", [])
        assert fetch_result(server, merchant, receipt_id).result == "0"


@contextmanager
def receiving(runtime: Runtime) -> Iterator[tuple[Receiver, NewMerchant]]:
    receiver = Receiver()
    with serve_app(receiver.app) as base_url:
        yield receiver, make_merchant(runtime, notification_url=base_url + "/notify")


def test_file_notice_is_pushed_with_its_hc_when_the_file_is_done(server, runtime):
    with receiving(runtime) as (receiver, merchant):
        receipt_id = accepted(server, merchant, "020", auth_file(("N1", 100, OK)))
        run_files(runtime)
        deliver_due(runtime.core, runtime.settings)
        pushes = [r for r in receiver.received if "file_receipt_id" in r.fields]
    assert len(pushes) == 1
    fields = pushes[0].fields
    assert fields["file_receipt_id"] == receipt_id
    assert fields["event_id"] == "file.process.done"
    assert len(fields["receipt_date"]) == len(fields["occur_date"]) == 14
    material = (
        receipt_id
        + "file.process.done"
        + fields["receipt_date"]
        + fields["occur_date"]
        + merchant.notification_hash_key
    )
    assert fields["hc"] == hashlib.sha256(material.encode()).hexdigest()
    assert is_file_notice(pushes[0].raw)
    verified = verify_file_notice(pushes[0].raw, hash_key=merchant.notification_hash_key)
    assert (verified.file_receipt_id, verified.event_id) == (receipt_id, "file.process.done")
    with pytest.raises(NoticeVerificationError):
        verify_file_notice(pushes[0].raw, hash_key="another key")
    with runtime.core.sessions() as session:
        notice = session.scalars(
            select(Notice).where(Notice.merchant_id == merchant.merchant_id, Notice.kind == "file")
        ).one()
    assert notice.delivery_status == "delivered"
    # 091 pull reads payment notices only: the authorisation's, numbered 1.
    pulled = send(server, merchant, "091")
    assert pulled["payment_notice_id"] == "1" and pulled["trading_id"] == "N1"


def test_cancel_mid_file_leaves_the_rest_unrun(server, merchant, runtime):
    rows = [(f"X{n}", 100, OK) for n in range(process.CHUNK_LINES + 20)]
    receipt_id = accepted(server, merchant, "020", auth_file(*rows))
    chunk = process.claim_chunk(runtime.core)
    assert chunk is not None
    process.run_chunk(runtime.core, chunk)
    view = files.cancel(runtime.core, None, receipt_id)
    assert (view.status, view.done_lines) == ("cancelled", process.CHUNK_LINES)
    assert run_files(runtime) == 0
    result = fetch_result(server, merchant, receipt_id)
    codes = [r[2] for r in result.data]
    assert codes == [""] * process.CHUNK_LINES + ["9105"] * 20
    assert len(payments(runtime, merchant)) == process.CHUNK_LINES
    with runtime.core.sessions() as session:
        statuses = set(
            session.scalars(
                select(PaymentFileLine.status)
                .join(PaymentFile, PaymentFile.id == PaymentFileLine.file_id)
                .where(PaymentFile.receipt_id == receipt_id)
            )
        )
    assert statuses == {"done", "cancelled"}


def test_files_of_two_merchants_progress_side_by_side(server, runtime):
    big, small = make_merchant(runtime), make_merchant(runtime)
    rows = [(f"B{n}", 100, OK) for n in range(process.CHUNK_LINES * 3)]
    big_id = accepted(server, big, "020", auth_file(*rows))
    small_id = accepted(server, small, "020", auth_file(("S1", 100, OK)))
    process.run_due(runtime.core, chunks=2)  # the big file's first chunk, then the small file
    assert files.show(runtime.core, None, small_id).status == "done"
    assert files.show(runtime.core, None, big_id).status == "running"
    run_files(runtime)
    assert files.show(runtime.core, None, big_id).done_lines == process.CHUNK_LINES * 3


def test_turns_go_round_the_merchants_not_their_files(server, runtime):
    busy, other = make_merchant(runtime), make_merchant(runtime)
    rows = [(f"M{n}", 100, OK) for n in range(process.CHUNK_LINES + 1)]
    many = [accepted(server, busy, "020", auth_file(*rows)) for _ in range(3)]
    single = accepted(server, other, "020", auth_file(("S1", 100, OK)))
    process.run_due(runtime.core, chunks=2)  # one chunk of the busy merchant's, then the other's
    assert files.show(runtime.core, None, single).status == "done"
    assert sum(files.show(runtime.core, None, r).done_lines for r in many) == process.CHUNK_LINES
    run_files(runtime)
    assert all(files.show(runtime.core, None, r).status == "done" for r in many)


def test_file_telegrams_take_up_to_10_mb_and_no_more(server, merchant, runtime):
    lines = "\r\n".join(str(100_000_000 + n) for n in range(30_000))  # ~330 KB, over 100 KB
    receipt_id = accepted(server, merchant, "021", "payment_id\r\n" + lines)
    assert files.show(runtime.core, None, receipt_id).total_lines == 30_000
    files.cancel(runtime.core, None, receipt_id)  # its 30,000 lines would hold up later tests
    too_big = submit(server, merchant, "021", "payment_id\r\n" + "1\r\n" * (4 * 1024 * 1024))
    assert (too_big.result, too_big.code) == ("1", "P009")
    assert file_count(runtime, merchant) == 1


def test_the_sdk_submits_a_file_and_reads_its_result(server, merchant, runtime):
    from kessai.client import KessaiClient

    data = auth_file(("SDK1", 100, OK), ("SDK2", 100, DECLINED)).encode("cp932")
    with KessaiClient(
        server,
        merchant_id=merchant.merchant_id,
        connect_id=merchant.connect_id,
        connect_password=merchant.connect_password,
    ) as paygent:
        receipt = paygent.submit_file(file_type="020", data=data, duplicate_check=True)
        assert receipt.ok and receipt.file_receipt_id
        assert (
            paygent.submit_file(file_type="020", data=data, duplicate_check=True).response_code
            == "9106"
        )
        assert paygent.file_result(file_receipt_id=receipt.file_receipt_id).running
        run_files(runtime)
        result = paygent.file_result(file_receipt_id=receipt.file_receipt_id)
        bad = paygent.submit_file(file_type="020", data=b"colour\r\n1\r\n")
    assert result.ok and [line.line_no for line in result.lines] == [2, 3]
    first, second = result.lines
    assert first.ok and first.trading_id == "SDK1" and status_of(runtime, first.payment_id) == "20"
    assert (second.result, second.response_code, second.response_detail) == ("1", "2002", "1C01")
    assert (bad.result, bad.response_code) == ("1", "9101") and "colour" in bad.response_detail


def test_a_file_whose_worker_died_before_closing_it_is_closed_by_the_next_pass(
    server, merchant, runtime
):
    receipt_id = accepted(server, merchant, "020", auth_file(("Z1", 100, OK)))
    chunk = process.claim_chunk(runtime.core)
    assert chunk is not None
    process.run_chunk(runtime.core, chunk)  # …and the worker dies before finish_if_complete
    assert files.show(runtime.core, None, receipt_id).status == "running"
    process.run_due(runtime.core)
    assert files.show(runtime.core, None, receipt_id).status == "done"
    with runtime.core.sessions() as session:
        kinds = session.scalars(
            select(Notice.kind).where(Notice.merchant_id == merchant.merchant_id)
        )
        assert sorted(kinds) == ["file", "payment"]


def test_the_workers_file_thread_runs_a_file_as_it_comes(server, merchant, runtime):
    import time

    from kessai.worker.scheduler import Scheduler

    scheduler = Scheduler(runtime.core, runtime.settings, interval=3600)
    scheduler.start()
    try:
        receipt_id = accepted(server, merchant, "020", auth_file(("W1", 100, OK)))
        deadline = time.monotonic() + 20
        while files.show(runtime.core, None, receipt_id).status != "done":
            assert time.monotonic() < deadline, "the file thread never ran the file"
            time.sleep(0.1)
    finally:
        scheduler.stop()
    assert fetch_result(server, merchant, receipt_id).line(2)["result"] == "0"


class _CountingAcquirer:
    """The merchant's acquirer, counting each authorisation by amount and by thread."""

    def __init__(self, real: object, calls: list[tuple[int, str]]) -> None:
        self._real, self._calls = real, calls

    def __getattr__(self, name: str) -> object:
        return getattr(self._real, name)

    def authorize(self, **kwargs):
        self._calls.append((kwargs["amount"], threading.current_thread().name))
        return self._real.authorize(**kwargs)


def test_lanes_run_every_line_exactly_once_and_the_result_keeps_line_order(
    server, merchant, runtime
):
    lines = process.CHUNK_LINES * 4 + 30  # five chunks for four lanes
    rows = [(f"L{n}", 1000 + n, OK) for n in range(lines)]  # the amount names the line
    receipt_id = accepted(server, merchant, "020", auth_file(*rows))
    calls: list[tuple[int, str]] = []
    real_for = runtime.core.acquirer_for
    core = replace(runtime.core, acquirer_for=lambda m: _CountingAcquirer(real_for(m), calls))
    ran = 0
    while done := process.run_due(core, lanes=4):
        ran += done
    assert ran == lines
    assert sorted(amount for amount, _ in calls) == [1000 + n for n in range(lines)]
    assert len({thread for _, thread in calls}) > 1  # the lines really ran side by side
    assert files.show(runtime.core, None, receipt_id).status == "done"
    result = fetch_result(server, merchant, receipt_id)
    assert [int(record[0]) for record in result.data] == list(range(2, lines + 2))
    assert [result.line(n + 2)["trading_id"] for n in range(lines)] == [t for t, _, _ in rows]
    assert {record[1] for record in result.data} == {"0"}
    assert all(statuses == ["20"] for statuses in payments(runtime, merchant).values())
    assert len(payments(runtime, merchant)) == lines
