"""One merchant's console staff attacking another merchant's payments over the real server.

Payment IDs are sequential, so a merchant admin can type any other merchant's IDs into the console's
forms and URLs. Every page and action that takes a payment ID must answer for someone else's payment
exactly what it answers for an ID that does not exist — byte for byte, the ID aside — show nothing
of it (its trading_id above all), and change nothing.
"""

from __future__ import annotations

import re
import uuid

import pytest
from sqlalchemy import func, select

from kessai.core.console.models import ConsoleUser
from kessai.core.console.permissions import Role
from kessai.core.notifications.models import Notice
from kessai.core.payments.models import Payment, PaymentOperation
from tests.conftest import make_merchant
from tests.support.console import ConsoleClient, card_payment, make_user, signed_in


@pytest.fixture
def attacker(runtime, server) -> ConsoleClient:
    """The merchant admin of merchant B, signed in over HTTP."""
    b = make_merchant(runtime)
    login = f"b{uuid.uuid4().hex[:10]}"
    return signed_in(server, make_user(runtime, b.merchant_id, login, role=Role.ADMIN))


def _state(runtime, merchant_id: int) -> list[tuple[object, ...]]:
    """Merchant A's payments and operations as they stand (nothing of B's may change them)."""
    with runtime.core.sessions() as session:
        payments = session.execute(
            select(Payment.id, Payment.status, Payment.amount, Payment.trading_id)
            .where(Payment.merchant_id == merchant_id)
            .order_by(Payment.id)
        ).all()
        operations = session.scalar(
            select(func.count())
            .select_from(PaymentOperation)
            .join(Payment, Payment.id == PaymentOperation.payment_id)
            .where(Payment.merchant_id == merchant_id)
        )
    return [tuple(p) for p in payments] + [("operations", operations)]


def _unused_payment_id(runtime) -> int:
    with runtime.core.sessions() as session:
        return (session.scalar(select(func.max(Payment.id))) or 0) + 100_000


def _a_notice_of(runtime, payment_id: int) -> int:
    with runtime.core.sessions() as session:
        found = session.scalar(
            select(Notice.payment_notice_id).where(Notice.payment_id == payment_id).limit(1)
        )
    assert found is not None, "the captured payment should have a notice to resend"
    return found


def _same_but_for_the_id(theirs: str, missing: str, their_id: int, missing_id: int) -> None:
    # Both IDs are masked in both texts: a small ID (1) also occurs in the page's own markup.
    ids = re.compile(rf"(?<![0-9])({their_id}|{missing_id})(?![0-9])")
    assert _fresh_keys(ids.sub("<ID>", theirs)) == _fresh_keys(ids.sub("<ID>", missing))


def _fresh_keys(html: str) -> str:
    """The page with its one-off form keys (random on every render) blanked."""
    return re.sub(r'name="key" value="[^"]*"', 'name="key" value=""', html)


def _requests(their_id: int, notice: int) -> list[tuple[str, str, list[tuple[str, object]]]]:
    """Every console request that names a payment by ID: (method, path, form or query)."""
    key = uuid.uuid4().hex  # one key per request: each is a fresh form
    one = f"/console/payments/{their_id}"
    return [
        ("GET", one, []),
        ("GET", "/console/payments", [("payment_id", their_id), ("created_from", "")]),
        ("GET", "/console/payments.csv", [("payment_id", their_id), ("created_from", "")]),
        ("POST", one + "/action", [("action", "capture"), ("key", key + "c")]),
        ("POST", one + "/action", [("action", "cancel"), ("key", key + "v")]),
        ("POST", one + "/action", [("action", "refund"), ("amount", 500), ("key", key + "r")]),
        (
            "POST",
            one + "/action",
            [("action", "change_amount"), ("amount", 500), ("key", key + "a")],
        ),
        ("POST", "/console/payments/bulk", [("action", "capture"), ("key", key + "bc")]),
        ("POST", "/console/payments/bulk", [("action", "cancel"), ("key", key + "bv")]),
        ("POST", one + f"/notices/{notice}/resend", []),
    ]


def _send(client: ConsoleClient, method: str, path: str, data: list[tuple[str, object]], pid: int):
    if path == "/console/payments/bulk":
        data = [*data, ("payment_id", pid)]
    if method == "GET":
        return client.get(path, **dict(data))
    return client.post(path, data)


def test_another_merchants_payment_ids_read_like_ids_that_do_not_exist(
    runtime, server, merchant, attacker
):
    secret = f"ASECRET{uuid.uuid4().hex[:12].upper()}"
    a = merchant.merchant_id
    authorised = card_payment(runtime, a, secret + "1", 3000)
    captured = card_payment(runtime, a, secret + "2", 3000, capture=True)
    notice = _a_notice_of(runtime, captured)
    before = _state(runtime, a)

    for theirs in (authorised, captured):
        missing = _unused_payment_id(runtime)
        for (method, path, data), (_, other_path, other_data) in zip(
            _requests(theirs, notice), _requests(missing, notice), strict=True
        ):
            shown = _send(attacker, method, path, data, theirs)
            absent = _send(attacker, method, other_path, other_data, missing)
            where = f"{method} {path} {data}"
            assert secret not in shown.text, where
            assert shown.status_code == absent.status_code, where
            _same_but_for_the_id(shown.text, absent.text, theirs, missing)

    assert _state(runtime, a) == before


def test_a_bulk_form_mixing_their_ids_and_missing_ones_shows_identical_rows(
    runtime, server, merchant, attacker
):
    secret = f"ASECRET{uuid.uuid4().hex[:12].upper()}"
    theirs = card_payment(runtime, merchant.merchant_id, secret, 3000)
    missing = _unused_payment_id(runtime)
    before = _state(runtime, merchant.merchant_id)

    result = attacker.post(
        "/console/payments/bulk",
        [
            ("action", "capture"),
            ("key", uuid.uuid4().hex),
            ("payment_id", theirs),
            ("payment_id", missing),
        ],
    )

    assert result.status_code == 200 and "失敗 2件" in result.text
    assert secret not in result.text
    rows = result.text.split("<tbody>")[1].split("</tbody>")[0].split("</tr>")
    _same_but_for_the_id(rows[0], rows[1], theirs, missing)
    assert _state(runtime, merchant.merchant_id) == before
    # Nor may B find A's orders by their trading_id, nor see them anywhere else.
    search = {"trading_id": secret[:9], "trading_match": "prefix", "created_from": ""}
    assert "0件中" in attacker.get("/console/payments", **search).text  # the form echoes it
    assert secret[:9] not in attacker.get("/console/payments.csv", **search).text
    for page in ("/console/dashboard", "/console/audit", "/console/audit.csv"):
        assert secret not in attacker.get(page).text


def test_another_merchants_users_read_like_users_that_do_not_exist(runtime, server, attacker):
    a = make_merchant(runtime)
    theirs = make_user(runtime, a.merchant_id, f"a{uuid.uuid4().hex[:10]}", role=Role.ADMIN)
    with runtime.core.sessions() as session:
        missing = (session.scalar(select(func.max(ConsoleUser.id))) or 0) + 100_000

    for suffix in ("", "/password", "/certificate", "/certificate/revoke"):
        if suffix:
            shown = attacker.post(f"/console/users/{theirs.user_id}{suffix}", [])
            absent = attacker.post(f"/console/users/{missing}{suffix}", [])
        else:
            shown = attacker.get(f"/console/users/{theirs.user_id}")
            absent = attacker.get(f"/console/users/{missing}")
        assert theirs.login not in shown.text
        assert shown.status_code == absent.status_code == 404, suffix
        _same_but_for_the_id(shown.text, absent.text, theirs.user_id, missing)


@pytest.mark.parametrize("payment_id", ["²", "１２", "99999999999999999999"])
def test_payment_ids_out_of_range_or_not_ascii_digits_read_as_missing(
    runtime, server, attacker, log_file, payment_id
):
    before = log_file.stat().st_size
    key = uuid.uuid4().hex
    bulk = attacker.post(
        "/console/payments/bulk",
        [("action", "capture"), ("key", key), ("payment_id", payment_id)],
    )
    assert bulk.status_code == 400 and "決済を選択してください" in bulk.text
    if payment_id.isascii():  # the URL's {payment_id:int} takes ASCII digits only
        form = [("action", "capture"), ("key", uuid.uuid4().hex)]
        for shown in (
            attacker.get(f"/console/payments/{payment_id}"),
            attacker.post(f"/console/payments/{payment_id}/action", form),
            attacker.post(f"/console/payments/{payment_id}/notices/1/resend", []),
        ):
            assert shown.status_code == 404, shown.text[-800:]
    with log_file.open("rb") as log:
        log.seek(before)
        assert b"Traceback" not in log.read()
