"""What an operator watches: `/health`, `/ready`, `/metrics` in Prometheus's text format, JSON log
lines with a request id that is also in the answer's headers, and no card data in any of them."""

from __future__ import annotations

import io
import json
import logging
import re
import uuid
from collections.abc import Iterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from kessai.app import build_runtime, create_app
from kessai.config import Settings
from kessai.observability.logs import JsonFormatter, RequestIdFilter, redact
from tests.conftest import make_merchant
from tests.support.servers import serve_app
from tests.support.telegrams import OK_CARD, authorise, form_body, header, send

CARDS = (OK_CARD, "4900000000008101", "3580000000000000")


def samples(base_url: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = httpx.get(f"{base_url}/metrics").text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(base_url: str, name: str, **labels: str) -> float:
    return samples(base_url).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The root logger also writes JSON lines here, as `KESSAI_LOG_FORMAT=json` makes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    yield stream
    root.removeHandler(handler)


def test_health_says_the_process_is_alive(server):
    response = httpx.get(f"{server}/health")
    assert (response.status_code, response.text) == (200, "ok")


def test_ready_checks_the_database_and_its_schema(server, tmp_path):
    assert httpx.get(f"{server}/ready").text == "ready"
    empty = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'empty.db'}")
    (tmp_path / "empty.db").touch()
    runtime = build_runtime(empty)
    with serve_app(create_app(runtime), http="h11") as base_url:
        response = httpx.get(f"{base_url}/ready")
    runtime.engine.dispose()
    assert response.status_code == 503
    assert response.text == "database schema empty; run kessai migrate"


def test_metrics_count_requests_results_and_institution_calls_per_kind(server, merchant):
    before = value(
        server, "kessai_http_requests_total", face="module", telegram_kind="020", status="200"
    )
    declined_before = value(
        server, "kessai_telegram_results_total", telegram_kind="020", response_code="2002"
    )
    authorise(server, merchant, trading_id="M1")
    assert authorise(server, merchant, trading_id="M2", card="4900000000008101").code == "2002"
    after = samples(server)
    assert (
        after[
            (
                "kessai_http_requests_total",
                frozenset({"face": "module", "telegram_kind": "020", "status": "200"}.items()),
            )
        ]
        == before + 2
    )
    assert (
        after[
            (
                "kessai_telegram_results_total",
                frozenset({"telegram_kind": "020", "response_code": "2002"}.items()),
            )
        ]
        == declined_before + 1
    )
    calls = [key for key in after if key[0] == "kessai_institution_call_duration_seconds_count"]
    outcomes = {
        dict(labels)["outcome"] for _, labels in calls if dict(labels)["operation"] == "authorize"
    }
    assert {"succeeded", "declined"} <= outcomes
    latency = [key for key in after if key[0] == "kessai_http_request_duration_seconds_bucket"]
    assert any(dict(labels).get("telegram_kind") == "020" for _, labels in latency)


def test_metrics_show_the_notice_backlog_and_the_workers_lag(server, runtime):
    # A notice is pending only when it has somewhere to go (without a URL it is written skipped).
    shop = make_merchant(runtime, notification_url="http://127.0.0.1:9/unreached")
    send(
        server,
        shop,
        "020",
        trading_id="N1",
        payment_amount=500,
        card_number=OK_CARD,
        card_valid_term="1230",
    )
    after = samples(server)
    assert after[("kessai_notices", frozenset({"delivery_status": "pending"}.items()))] >= 1
    for gauge in (
        "kessai_oldest_undelivered_notice_age_seconds",
        "kessai_notice_delivery_lag_seconds",
        "kessai_unsettled_operations",
        "kessai_oldest_unsettled_operation_age_seconds",
    ):
        assert (gauge, frozenset()) in after


def test_the_request_id_is_in_the_answer_and_on_every_log_line_of_the_request(
    server, merchant, json_log
):
    response = httpx.post(
        f"{server}/n/card/request",
        content=form_body(
            header(
                merchant,
                "020",
                trading_id="R1",
                payment_amount=700,
                card_number=OK_CARD,
                card_valid_term="1230",
            )
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Request-Id": "shop-42"},
    )
    assert response.headers["x-request-id"] == "shop-42"
    fresh = httpx.get(f"{server}/health").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)
    strange = httpx.get(f"{server}/health", headers={"X-Request-Id": "a b\tc"})
    assert strange.headers["x-request-id"] != "a b\tc"  # not a token: a new id instead
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    mine = [line for line in lines if line["request_id"] == "shop-42"]
    assert any("telegram kind=020" in line["message"] for line in mine)
    assert {"time", "level", "logger", "message", "request_id"} <= set(mine[0])


def test_no_card_number_in_the_metrics_or_the_logs(server, merchant, json_log, log_file):
    trading = f"P{uuid.uuid4().hex[:8]}"
    for number, card in enumerate(CARDS):
        send(
            server,
            merchant,
            "020",
            trading_id=f"{trading}{number}",
            payment_amount=100,
            card_number=card,
            card_valid_term="1230",
            card_conf_number="123",
        )
        httpx.get(f"{server}/n/card/request?card_number={card}&telegram_kind=020")
    metrics = httpx.get(f"{server}/metrics").text
    logs = json_log.getvalue() + log_file.read_text()
    for card in CARDS:
        assert card not in metrics
        assert card not in logs
    assert not re.search(r"(?<!\d)49000000\d{8}(?!\d)", metrics + json_log.getvalue())


def test_a_card_number_that_slips_into_a_log_line_is_masked():
    assert redact("card 4900000000000000 id 20261210022117") == (
        "card ************0000 id 20261210022117"  # a 14-digit time stamp is not Luhn-valid
    )
    assert redact("amex 378282246310005, diners 30569309025904") == (
        "amex ***********0005, diners **********5904"  # 14 digits, Luhn-valid
    )
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "got %s", (OK_CARD,), None)
    assert OK_CARD not in JsonFormatter().format(record)
