"""洗替 (the card account updater) over stored cards registered through the real server (025): each
stub outcome and the vault after it, a closed card refused without reaching the acquirer, the
history, the CLI, and neither card number in the clear in the database or the logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from kessai.app import Runtime, build_runtime, create_app
from kessai.config import Settings
from kessai.connectors.base import CardAcquirer, CardData, CardUpdate, CardUpdateAnswer
from kessai.core.cards import updater
from kessai.core.cards.models import CardRefresh, StoredCard, VaultCard
from kessai.core.cards.updater import RefreshOutcome, Trigger
from kessai.core.context import MerchantRef
from kessai.core.merchants.commands import NewMerchant
from kessai.kit.errors import InProgress, InvalidRequest, NotFound
from kessai.kit.secrets import CardNumber
from tests.conftest import TestClock, make_merchant
from tests.integration.test_card_data_at_rest import _database_bytes
from tests.support.servers import serve_app
from tests.support.telegrams import send


class CountingAcquirer:
    """The sandbox acquirer, with every call it receives written down."""

    name = "counting"

    def __init__(self, inner: CardAcquirer) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, method: str) -> Callable[..., object]:
        call = getattr(self.inner, method)

        def counted(**kwargs: Any) -> object:
            self.calls.append(method)
            return call(**kwargs)

        return counted


@pytest.fixture(scope="module")
def refresh_runtime(
    database_url: str, home: Path, clock: TestClock, log_file: Path
) -> Iterator[Runtime]:
    built = build_runtime(Settings(home=home, database_url=database_url), clock=clock)
    acquirer = CountingAcquirer(built.core.acquirer_for(MerchantRef(id=0, mode="sandbox")))
    core = replace(built.core, acquirer_for=lambda _merchant: acquirer)
    yield Runtime(settings=built.settings, engine=built.engine, core=core)
    built.engine.dispose()


@pytest.fixture(scope="module")
def refresh_server(refresh_runtime: Runtime) -> Iterator[str]:
    with serve_app(create_app(refresh_runtime), http="h11") as url:
        yield url


@pytest.fixture
def shop(refresh_runtime: Runtime) -> NewMerchant:
    return make_merchant(refresh_runtime)


def ref(shop: NewMerchant) -> MerchantRef:
    return MerchantRef(id=shop.merchant_id, mode="sandbox")


def store(server: str, shop: NewMerchant, number: str, customer: str = "C1") -> int:
    reply = send(
        server, shop, "025", customer_id=customer, card_number=number, card_valid_term="1230"
    )
    assert reply.result == "0", reply.fields
    return int(reply["customer_card_id"])


def refresh(runtime: Runtime, shop: NewMerchant, card_id: int, customer: str = "C1"):
    return updater.refresh_card(
        runtime.core, ref(shop), customer_id=customer, customer_card_id=card_id
    )


def vault_of(runtime: Runtime, card_id: int) -> tuple[StoredCard, VaultCard, CardNumber]:
    with runtime.core.sessions() as session:
        row = session.get(StoredCard, card_id)
        assert row is not None
        vault_row = session.get(VaultCard, row.vault_card_id)
        assert vault_row is not None
        return row, vault_row, runtime.core.vault.open(vault_row)


def charge(server: str, shop: NewMerchant, card_id: int, trading_id: str, customer: str = "C1"):
    return send(
        server,
        shop,
        "020",
        trading_id=trading_id,
        payment_amount=1000,
        stock_card_mode="1",
        customer_id=customer,
        customer_card_id=card_id,
    )


def test_unchanged_card_stays_as_it_was_and_the_history_says_so(
    refresh_runtime, refresh_server, shop
):
    card_id = store(refresh_server, shop, "4980000000001234")
    result = refresh(refresh_runtime, shop, card_id)
    assert result.outcome is RefreshOutcome.UNCHANGED
    row, _vault_row, number = vault_of(refresh_runtime, card_id)
    assert number.reveal() == "4980000000001234"
    assert (row.card_valid_term, row.refresh_result) == ("1230", "unchanged")
    [entry] = updater.history(refresh_runtime.core, ref(shop), card_id)
    assert (entry.outcome, entry.old_last4, entry.new_last4) == ("unchanged", "1234", "1234")


def test_new_expiry_replaces_the_expiry_and_keeps_the_number(refresh_runtime, refresh_server, shop):
    card_id = store(refresh_server, shop, "4980000000007101")
    result = refresh(refresh_runtime, shop, card_id)
    assert (result.outcome, result.valid_term_before, result.valid_term_after) == (
        RefreshOutcome.NEW_EXPIRY,
        "1230",
        "1234",
    )
    row, _vault_row, number = vault_of(refresh_runtime, card_id)
    assert (number.reveal(), row.card_valid_term) == ("4980000000007101", "1234")
    [entry] = updater.history(refresh_runtime.core, ref(shop), card_id)
    assert (entry.old_valid_term, entry.new_valid_term) == ("1230", "1234")
    inquiry = send(refresh_server, shop, "027", customer_id="C1")
    assert inquiry.raw.count(b'"1234"') >= 1  # 027 shows the new expiry


def test_new_number_is_sealed_in_the_vault_and_the_old_one_is_gone(
    refresh_runtime, refresh_server, shop
):
    card_id = store(refresh_server, shop, "4980000000007202")
    _row, before, _number = vault_of(refresh_runtime, card_id)
    result = refresh(refresh_runtime, shop, card_id)
    assert result.outcome is RefreshOutcome.NEW_NUMBER
    assert (result.masked_before, result.masked_after) == ("************7202", "************0202")
    row, vault_row, number = vault_of(refresh_runtime, card_id)
    assert number.reveal() == "4980000000000202"
    assert row.card_valid_term == "1234"
    assert vault_row.masked == "498000******0202"
    assert vault_row.fingerprint != before.fingerprint
    assert vault_row.ciphertext != before.ciphertext and vault_row.nonce != before.nonce
    [entry] = updater.history(refresh_runtime.core, ref(shop), card_id)
    assert (entry.outcome, entry.old_last4, entry.new_last4) == ("new_number", "7202", "0202")
    assert charge(refresh_server, shop, card_id, "NEWNUM").result == "0"


def test_closed_card_is_refused_without_reaching_the_acquirer(
    refresh_runtime, refresh_server, shop
):
    acquirer = refresh_runtime.core.acquirer_for(ref(shop))
    closed = store(refresh_server, shop, "4980000000007303")
    working = store(refresh_server, shop, "4980000000001111")
    assert refresh(refresh_runtime, shop, closed).outcome is RefreshOutcome.CLOSED
    calls = len(acquirer.calls)
    reply = charge(refresh_server, shop, closed, "CLOSED1")
    assert (reply.result, reply.code, reply["response_detail"]) == ("1", "2001", "1G12")
    assert reply["payment_id"] == ""
    assert len(acquirer.calls) == calls  # the acquirer saw nothing
    assert charge(refresh_server, shop, working, "OPEN1").result == "0"
    assert acquirer.calls[calls:] == ["authorize"]  # the same path does reach it for a usable card
    row, _vault_row, number = vault_of(refresh_runtime, closed)
    assert row.closed_at is not None and number.reveal() == "4980000000007303"
    # A closed card is not asked about again, and no run counts it.
    assert refresh(refresh_runtime, shop, closed).refresh_id is None
    summary = updater.refresh_merchant(refresh_runtime.core, ref(shop))
    assert [r.customer_card_id for r in summary.results] == [working]


def test_contact_cardholder_flags_the_card_and_changes_nothing(
    refresh_runtime, refresh_server, shop
):
    card_id = store(refresh_server, shop, "4980000000007404")
    assert refresh(refresh_runtime, shop, card_id).outcome is RefreshOutcome.CONTACT_CARDHOLDER
    row, _vault_row, number = vault_of(refresh_runtime, card_id)
    assert (number.reveal(), row.card_valid_term) == ("4980000000007404", "1230")
    assert row.refresh_result == "contact_cardholder" and row.closed_at is None
    assert charge(refresh_server, shop, card_id, "CONTACT1").result == "0"


def test_no_answer_changes_nothing_and_is_asked_again(refresh_runtime, refresh_server, shop):
    card_id = store(refresh_server, shop, "4980000000007909")
    assert refresh(refresh_runtime, shop, card_id).outcome is RefreshOutcome.UNKNOWN
    assert refresh(refresh_runtime, shop, card_id).outcome is RefreshOutcome.UNKNOWN
    row, _vault_row, number = vault_of(refresh_runtime, card_id)
    assert (number.reveal(), row.card_valid_term, row.refresh_result) == (
        "4980000000007909",
        "1230",
        "",
    )
    assert len(updater.history(refresh_runtime.core, ref(shop), card_id)) == 2


def test_card_changed_while_asking_is_not_overwritten(refresh_runtime, refresh_server, shop):
    card_id = store(refresh_server, shop, "4980000000007101")

    class ChangesTheCardFirst:
        name = "racing"

        def inquire(self, *, idempotency_key: str, card: CardData) -> CardUpdateAnswer:
            send(
                refresh_server,
                shop,
                "116",
                customer_id="C1",
                customer_card_id=card_id,
                card_valid_term="0631",
            )
            return CardUpdateAnswer(CardUpdate.NEW_EXPIRY, valid_term="1234")

    core = replace(refresh_runtime.core, updater_for=lambda _m: ChangesTheCardFirst())
    result = updater.refresh_card(core, ref(shop), customer_id="C1", customer_card_id=card_id)
    assert result.outcome is RefreshOutcome.SUPERSEDED
    row, _vault_row, _number = vault_of(refresh_runtime, card_id)
    assert row.card_valid_term == "0631"  # the merchant's change stands


def test_inquiry_cut_off_by_a_crash_is_closed_and_asked_again(
    refresh_runtime, refresh_server, shop, clock
):
    card_id = store(refresh_server, shop, "4980000000007101")

    class Crashes:
        name = "crash"

        def inquire(self, *, idempotency_key: str, card: CardData) -> CardUpdateAnswer:
            raise RuntimeError("the process died here")

    core = replace(refresh_runtime.core, updater_for=lambda _m: Crashes())
    with pytest.raises(RuntimeError):
        updater.refresh_card(core, ref(shop), customer_id="C1", customer_card_id=card_id)
    with pytest.raises(InProgress):  # another run may still be asking
        refresh(refresh_runtime, shop, card_id)
    clock.advance(updater.ASKING_TIMEOUT * 2)
    assert refresh(refresh_runtime, shop, card_id).outcome is RefreshOutcome.NEW_EXPIRY
    outcomes = [e.outcome for e in updater.history(refresh_runtime.core, ref(shop), card_id)]
    assert outcomes == ["new_expiry", "unknown"]
    assert vault_of(refresh_runtime, card_id)[0].card_valid_term == "1234"  # applied once


def test_another_merchants_card_is_not_found_and_its_history_is_empty(
    refresh_runtime, refresh_server, shop
):
    card_id = store(refresh_server, shop, "4980000000007101")
    other = make_merchant(refresh_runtime)
    with pytest.raises(NotFound) as refused:
        refresh(refresh_runtime, other, card_id)
    assert refused.value.code == "P022"
    refresh(refresh_runtime, shop, card_id)
    assert updater.history(refresh_runtime.core, ref(other), card_id) == []
    assert vault_of(refresh_runtime, card_id)[0].card_valid_term == "1234"


def test_production_merchant_has_no_updater_and_nothing_is_written(refresh_runtime):
    production = make_merchant(refresh_runtime, mode="production")
    merchant = MerchantRef(id=production.merchant_id, mode="production")
    with pytest.raises(InvalidRequest) as refused:
        updater.refresh_merchant(refresh_runtime.core, merchant)
    assert refused.value.code == "P007"


def test_cli_counts_each_outcome_and_json_lists_masked_cards_only(
    refresh_runtime, refresh_server, shop, home, database_url, log_file, tmp_path
):
    numbers = {
        "4980000000001000": "unchanged",
        "4980000000007105": "new_expiry",
        "4980000000007206": "new_number",
        "4980000000007307": "closed",
        "4980000000007408": "contact_cardholder",
    }
    for index, number in enumerate(numbers):
        store(refresh_server, shop, number, customer=f"C{index}")
    env = {
        **os.environ,
        "KESSAI_HOME": str(home),
        "KESSAI_DATABASE_URL": database_url,
        "KESSAI_LOG_LEVEL": "INFO",
    }
    run = subprocess.run(
        [sys.executable, "-m", "kessai", "cards", "refresh", str(shop.merchant_id), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report = json.loads(run.stdout)
    assert report["total"] == 5
    assert {k: v for k, v in report["counts"].items() if v} == dict.fromkeys(numbers.values(), 1)
    by_outcome = {card["outcome"]: card for card in report["cards"]}
    assert by_outcome["new_number"]["masked_card_number_before"] == "************7206"
    assert by_outcome["new_number"]["masked_card_number_after"] == "************0206"
    text = subprocess.run(
        [sys.executable, "-m", "kessai", "cards", "refresh", str(shop.merchant_id)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    assert f"merchant {shop.merchant_id}: 4 stored cards" in text  # the closed one is done
    # The stub answers by the digits every time: the 71ZZ card gets its new expiry again, the
    # replaced card (now ending 0206) is unchanged, the flagged one is flagged again.
    assert "unchanged            2" in text and "new_expiry           1" in text
    # Neither the old nor the new numbers anywhere in the clear: database, logs, CLI output.
    haystacks = {
        "database": _database_bytes(refresh_runtime, tmp_path),
        "logs": log_file.read_bytes(),
        "cli": (run.stdout + run.stderr + text).encode(),
    }
    assert b"******0206" in haystacks["database"]  # the new card's mask: real data is searched
    for number in [*numbers, "4980000000000206"]:
        for where, haystack in haystacks.items():
            assert number.encode() not in haystack, f"card number in the {where}"


def test_history_rows_hold_no_card_number(refresh_runtime, refresh_server, shop):
    card_id = store(refresh_server, shop, "4980000000007210")
    refresh(refresh_runtime, shop, card_id)
    with refresh_runtime.core.sessions() as session:
        row = session.scalars(
            select(CardRefresh).where(CardRefresh.stored_card_id == card_id)
        ).one()
        values = [str(getattr(row, c.key)) for c in CardRefresh.__table__.columns]
    assert not any(len(v) >= 12 and v.isdigit() for v in values)
    assert (row.trigger, row.status) == (Trigger.FILE.value, "answered")


def test_monthly_schedule_is_off_by_default_and_asks_each_card_once_a_month(
    refresh_runtime, refresh_server, shop, clock
):
    from datetime import timedelta

    from kessai.core.cards.schedule import refresh_due, schedule_of, set_schedule
    from kessai.kit.clock import JST

    core = refresh_runtime.core
    reissued = store(refresh_server, shop, "4980000000007101", customer="S1")
    silent = store(refresh_server, shop, "4980000000007909", customer="S2")

    def asked(card_id: int) -> int:
        return len(updater.history(core, ref(shop), card_id))

    refresh_due(core)
    assert (schedule_of(core, shop.merchant_id), asked(reissued)) == (None, 0)  # off by default
    with pytest.raises(InvalidRequest):
        set_schedule(core, shop.merchant_id, 29)
    assert set_schedule(core, shop.merchant_id, 1) == 1
    refresh_due(core)
    assert (asked(reissued), asked(silent)) == (1, 1)
    assert vault_of(refresh_runtime, reissued)[0].card_valid_term == "1234"
    refresh_due(core)
    assert (asked(reissued), asked(silent)) == (1, 1)  # answered this month: not again

    same_month = (clock.now() + timedelta(days=2)).astimezone(JST).month == clock.now().astimezone(
        JST
    ).month
    clock.advance(timedelta(days=2))
    refresh_due(core)
    # No answer is asked again a day later; an answered card waits for next month.
    assert (asked(reissued), asked(silent)) == ((1, 2) if same_month else (2, 2))

    clock.advance(timedelta(days=31))
    refresh_due(core)
    assert asked(reissued) == (2 if same_month else 3)
    set_schedule(core, shop.merchant_id, None)
    clock.advance(timedelta(days=31))
    before = asked(reissued)
    refresh_due(core)
    assert asked(reissued) == before  # off again


def test_cli_schedule_shows_sets_and_turns_off(shop, home, database_url):
    env = {**os.environ, "KESSAI_HOME": str(home), "KESSAI_DATABASE_URL": database_url}

    def cards(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kessai", "cards", "schedule", str(shop.merchant_id), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    assert json.loads(cards("--json").stdout)["monthly_day"] is None
    assert json.loads(cards("--day", "5", "--json").stdout)["monthly_day"] == 5
    assert "from day 5 of each month" in cards().stdout
    assert cards("--day", "29").returncode == 2  # click refuses it: 1-28
    assert "off" in cards("--off").stdout


def test_a_run_skips_a_card_being_asked_about_and_refreshes_the_rest(
    refresh_runtime, refresh_server, shop
):
    first, busy, last = (
        store(refresh_server, shop, "4980000000007101", customer=f"R{n}") for n in range(3)
    )

    class Crashes:
        name = "crash"

        def inquire(self, *, idempotency_key: str, card: CardData) -> CardUpdateAnswer:
            raise RuntimeError("the process died here")

    core = replace(refresh_runtime.core, updater_for=lambda _m: Crashes())
    with pytest.raises(RuntimeError):
        updater.refresh_card(core, ref(shop), customer_id="R1", customer_card_id=busy)

    summary = updater.refresh_merchant(refresh_runtime.core, ref(shop), chunk=2)
    got = {r.customer_card_id: (r.outcome.value, r.response_code) for r in summary.results}
    assert got == {
        first: ("new_expiry", ""),
        busy: ("skipped", "9005"),
        last: ("new_expiry", ""),
    }
    assert vault_of(refresh_runtime, busy)[0].card_valid_term == "1230"
    assert summary.counts["skipped"] == 1


@pytest.mark.parametrize(
    "answer",
    [
        CardUpdateAnswer(CardUpdate.NEW_NUMBER, valid_term="1234", number=CardNumber("12ab")),
        CardUpdateAnswer(CardUpdate.NEW_NUMBER, valid_term="1334", number=CardNumber("4" * 16)),
        CardUpdateAnswer(CardUpdate.NEW_EXPIRY, valid_term="99"),
    ],
    ids=["bad-number", "bad-month", "bad-expiry"],
)
def test_an_unusable_answer_is_recorded_as_no_answer_and_changes_nothing(
    refresh_runtime, refresh_server, shop, answer
):
    card_id = store(refresh_server, shop, "4980000000001234")

    class Garbled:
        name = "garbled"

        def inquire(self, *, idempotency_key: str, card: CardData) -> CardUpdateAnswer:
            return answer

    core = replace(refresh_runtime.core, updater_for=lambda _m: Garbled())
    result = updater.refresh_card(core, ref(shop), customer_id="C1", customer_card_id=card_id)
    assert result.outcome is RefreshOutcome.UNKNOWN
    row, _vault_row, number = vault_of(refresh_runtime, card_id)
    assert (number.reveal(), row.card_valid_term) == ("4980000000001234", "1230")
