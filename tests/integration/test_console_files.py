"""The console's ファイル決済 pages over HTTP, for what a browser test does not show well: the progress
JSON the page polls, the result refused while the file runs, a finished file that cannot be
cancelled, receipt ids that are no file, and card numbers that never reach a page."""

from __future__ import annotations

import uuid

import pytest

from kessai.core.console.permissions import Permission
from kessai.core.files import commands
from tests.support.console import make_user, merchant_ref, signed_in
from tests.support.files import run_files

OK = "4900000000000000"
DECLINED = "4900000000008101"


def submitted(runtime, merchant, *cards: str) -> str:
    rows = "".join(f"CF{n},{1000 + n},{card},1230\r\n" for n, card in enumerate(cards, start=1))
    data = ("trading_id,payment_amount,card_number,card_valid_term\r\n" + rows).encode("cp932")
    return commands.submit(
        runtime.core,
        merchant_ref(runtime, merchant.merchant_id),
        "020",
        data,
        duplicate_check=False,
    )


@pytest.fixture
def client(runtime, server, merchant):
    run_files(runtime)  # nothing of an earlier test left for the worker
    clerk = make_user(
        runtime,
        merchant.merchant_id,
        f"file{uuid.uuid4().hex[:8]}",
        permissions=frozenset({Permission.CARD}),
    )
    yield signed_in(server, clerk)
    run_files(runtime)  # nor any of this test's left for a later one


def test_progress_json_then_the_result_once_the_file_is_done(runtime, client, merchant):
    receipt_id = submitted(runtime, merchant, OK, DECLINED)

    running = client.get(f"/console/files/{receipt_id}/progress.json")
    assert running.status_code == 200
    assert running.headers["cache-control"] == "no-store"
    body = running.json()
    assert {k: body[k] for k in ("status", "open", "total_lines", "done_lines", "error_lines")} == {
        "status": "queued",
        "open": True,
        "total_lines": 2,
        "done_lines": 0,
        "error_lines": 0,
    }
    assert (body["lines_per_second"], body["seconds_left"]) == (0, None)
    early = client.get(f"/console/files/{receipt_id}/result.csv")
    assert early.status_code == 409 and "処理が終わってから" in early.text

    run_files(runtime)
    done = client.get(f"/console/files/{receipt_id}/progress.json").json()
    assert (done["status"], done["open"], done["done_lines"], done["error_lines"]) == (
        "done",
        False,
        2,
        1,
    )
    assert done["lines_per_second"] > 0
    result = client.get(f"/console/files/{receipt_id}/result.csv")
    assert result.status_code == 200
    assert result.headers["content-disposition"] == (
        f'attachment; filename="file_{receipt_id}_result.csv"'
    )
    assert result.content.startswith(f"1,{receipt_id},020,".encode())
    assert result.content.endswith(b"\r\n4,2\r\n")


def test_a_finished_file_cannot_be_cancelled_and_stays_as_it_was(runtime, client, merchant):
    receipt_id = submitted(runtime, merchant, OK)
    run_files(runtime)
    client.get(f"/console/files/{receipt_id}")

    refused = client.post(f"/console/files/{receipt_id}/cancel")

    assert refused.status_code == 409
    assert "処理が終わっているため取り消せません" in refused.text
    view = commands.show(runtime.core, None, receipt_id)
    assert (view.status, view.done_lines, view.error_lines) == ("done", 1, 0)


@pytest.mark.parametrize(
    "receipt_id", ["12345678", "0123456789", "012345678", "１２３４５６７８９"]
)
def test_what_is_not_a_receipt_id_is_no_file(client, receipt_id):
    assert client.get(f"/console/files/{receipt_id}").status_code == 404
    assert client.get(f"/console/files/{receipt_id}/progress.json").status_code == 404


def test_pages_never_show_a_card_number(runtime, client, merchant):
    receipt_id = submitted(runtime, merchant, OK, DECLINED)
    pages = [client.get("/console/files"), client.get(f"/console/files/{receipt_id}")]
    run_files(runtime)
    pages += [
        client.get("/console/files"),
        client.get(f"/console/files/{receipt_id}"),
        client.get(f"/console/files/{receipt_id}/result.csv"),
    ]
    for page in pages:
        assert page.status_code == 200
        assert OK not in page.text and DECLINED not in page.text


def test_a_stalled_file_shows_no_rate_rather_than_its_old_average(runtime, client, merchant, clock):
    from datetime import timedelta

    from kessai.core.files import process

    receipt_id = submitted(runtime, merchant, OK, OK, OK)
    chunk = process.claim_chunk(runtime.core, size=2)
    assert chunk is not None and process.run_chunk(runtime.core, chunk) == 2
    moving = client.get(f"/console/files/{receipt_id}/progress.json").json()
    assert moving["lines_per_second"] > 0 and moving["seconds_left"] is not None

    clock.advance(timedelta(minutes=2))  # no line has finished in the last minute
    stalled = client.get(f"/console/files/{receipt_id}/progress.json").json()

    assert (stalled["done_lines"], stalled["lines_per_second"], stalled["seconds_left"]) == (
        2,
        0,
        None,
    )
    commands.cancel(runtime.core, None, receipt_id)


def test_cancel_without_the_forms_csrf_token_is_refused(runtime, client, merchant):
    receipt_id = submitted(runtime, merchant, OK)

    refused = client.post(f"/console/files/{receipt_id}/cancel", csrf=False)

    assert refused.status_code == 403
    assert commands.show(runtime.core, None, receipt_id).status == "queued"
    commands.cancel(runtime.core, None, receipt_id)
