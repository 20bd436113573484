"""`kessai notices list|resend` as scripts drive them, and the CLI's notification URL checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from kessai.app import build_runtime
from kessai.config import Settings
from kessai.connectors.base import CardData
from kessai.core.context import MerchantRef
from kessai.core.notifications.models import Notice, NoticeAttempt
from kessai.core.payments.card import commands
from kessai.core.payments.card.commands import AuthorizeRequest
from kessai.kit.secrets import CardNumber
from tests.integration.test_cli import kessai


@pytest.fixture
def home(tmp_path: Path) -> Path:
    kessai(tmp_path, "migrate")
    return tmp_path


@pytest.fixture
def shop(home: Path) -> str:
    """A merchant with two notices: 1 failed after one refused attempt, 2 delivered."""
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    runtime = build_runtime(Settings(home=home))
    merchant = MerchantRef(id=created["merchant_id"], mode="sandbox")
    card = CardData(CardNumber("4900000000000000"), "1230", None)
    for trading_id in ("T1", "T2"):
        request = AuthorizeRequest(trading_id=trading_id, amount=1000, card=card)
        assert commands.authorize(runtime.core, merchant, request).ok
    with runtime.core.sessions.begin() as session:
        first, second = session.scalars(select(Notice).order_by(Notice.payment_notice_id))
        first.delivery_status, first.attempts, first.failed_at = "failed", 5, datetime.now(UTC)
        second.delivery_status = "delivered"
        session.add(_refused_attempt(first.id))
    runtime.engine.dispose()
    return str(created["merchant_id"])


def _refused_attempt(notice_id: int) -> NoticeAttempt:
    return NoticeAttempt(
        notice_id=notice_id,
        attempt_no=1,
        started_at=datetime.now(UTC),
        duration_ms=12,
        outcome="refused",
        http_status=500,
        response_excerpt="Internal Server Error",
        error="",
    )


def listed(home: Path, *args: str) -> list[dict[str, object]]:
    return json.loads(kessai(home, "notices", "list", *args, "--json").stdout)


def test_notices_list_shows_notices_and_attempts(home, shop):
    rows = listed(home, "--merchant", shop, "--attempts")
    assert [(r["payment_notice_id"], r["delivery_status"]) for r in rows] == [
        (1, "failed"),
        (2, "delivered"),
    ]
    attempt = rows[0]["attempt_log"][0]  # type: ignore[index]
    assert (attempt["outcome"], attempt["http_status"]) == ("refused", 500)
    assert attempt["response_excerpt"] == "Internal Server Error"
    assert [
        r["payment_notice_id"] for r in listed(home, "--merchant", shop, "--status", "delivered")
    ] == [2]
    payment = str(rows[1]["payment_id"])
    assert [
        r["payment_notice_id"] for r in listed(home, "--merchant", shop, "--payment", payment)
    ] == [2]
    text = kessai(home, "notices", "list", "--merchant", shop, "--attempts").stdout
    assert "refused http=500" in text


def test_resend_failed_queues_them_from_scratch(home, shop):
    out = kessai(home, "notices", "resend", "--merchant", shop, "--failed").stdout
    assert "queued 1 notice(s)" in out
    first = listed(home, "--merchant", shop)[0]
    assert (first["delivery_status"], first["attempts"], first["failed_at"]) == ("pending", 0, None)
    assert listed(home, "--merchant", shop, "--status", "failed") == []


def test_resend_one_notice_by_number(home, shop):
    assert (
        "queued 1 notice(s)"
        in kessai(home, "notices", "resend", "--merchant", shop, "--notice", "2").stdout
    )
    assert listed(home, "--merchant", shop)[1]["delivery_status"] == "pending"


def test_resend_unknown_notice_or_no_choice_says_what_to_do(home, shop):
    missing = kessai(home, "notices", "resend", "--merchant", shop, "--notice", "99", check=False)
    assert missing.returncode == 1 and "kessai notices list" in missing.stderr
    neither = kessai(home, "notices", "resend", "--merchant", shop, check=False)
    assert neither.returncode == 1 and "--notice N or --failed" in neither.stderr


def test_production_merchant_with_an_internal_url_is_refused(home):
    result = kessai(
        home,
        "merchant",
        "create",
        "--mode",
        "production",
        "--methods",
        "02",
        "--notification-url",
        "http://169.254.169.254/",
        check=False,
    )
    assert result.returncode == 1
    assert "internal address" in result.stderr and "Traceback" not in result.stderr


def test_sandbox_merchant_with_internal_url_cannot_go_production(home):
    created = json.loads(
        kessai(
            home, "merchant", "create", "--notification-url", "http://127.0.0.1:9000/n", "--json"
        ).stdout
    )
    mid = str(created["merchant_id"])
    result = kessai(home, "merchant", "update", mid, "--mode", "production", check=False)
    assert result.returncode == 1 and "public host" in result.stderr
    assert json.loads(kessai(home, "merchant", "show", mid, "--json").stdout)["mode"] == "sandbox"
    kessai(
        home,
        "merchant",
        "update",
        mid,
        "--mode",
        "production",
        "--notification-url",
        "https://203.0.113.10/n",
    )
    assert (
        json.loads(kessai(home, "merchant", "show", mid, "--json").stdout)["mode"] == "production"
    )


def test_notification_url_must_be_http(home):
    result = kessai(home, "merchant", "create", "--notification-url", "ftp://x/", check=False)
    assert result.returncode == 1 and "http:// or https://" in result.stderr
