"""A merchant's payout settings: set through `merchant update`, kept, shown, refused whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kessai.app import Runtime
from kessai.core.merchants.commands import PayoutChange, update_merchant
from kessai.core.payouts.settings import describe, payout_settings
from kessai.kit.errors import InvalidRequest
from tests.integration.test_cli import kessai


def _update(runtime: Runtime, merchant_id: int, change: PayoutChange) -> None:
    with runtime.core.sessions.begin() as session:
        update_merchant(session, merchant_id, now=runtime.core.clock.now(), payout=change)


def _shown(runtime: Runtime, merchant_id: int) -> dict[str, object]:
    with runtime.core.sessions() as session:
        return describe(payout_settings(session, merchant_id))


def test_cycle_and_account_are_kept_with_the_directory_names(runtime, merchant) -> None:
    _update(runtime, merchant.merchant_id, PayoutChange(cycle="weekly"))
    _update(
        runtime,
        merchant.merchant_id,
        PayoutChange(bank_account="0005-001-2-7654321", account_holder="カ）テスト"),
    )
    shown = _shown(runtime, merchant.merchant_id)
    assert shown["payout_cycle"] == "weekly"
    assert (shown["closing_day"], shown["payout_day"]) == (7, 5)
    assert shown["bank_account"] == "0005-001-2-7654321"
    assert shown["account_holder"] == "ｶ)ﾃｽﾄ"
    assert shown["bank_name"] and shown["branch_name"]


def test_a_bad_holder_changes_nothing_not_even_the_cycle(runtime, merchant) -> None:
    with pytest.raises(InvalidRequest, match="account holder"):
        _update(
            runtime,
            merchant.merchant_id,
            PayoutChange(cycle="monthly", bank_account="0001-001-1-1234567", account_holder="山田"),
        )
    assert _shown(runtime, merchant.merchant_id)["payout_cycle"] is None


def test_an_update_without_payout_options_leaves_no_payout_row(runtime, merchant) -> None:
    _update(runtime, merchant.merchant_id, PayoutChange())
    with runtime.core.sessions() as session:
        assert payout_settings(session, merchant.merchant_id) is None


def test_an_account_without_its_holder_is_refused(runtime, merchant) -> None:
    with pytest.raises(InvalidRequest, match="account holder"):
        _update(runtime, merchant.merchant_id, PayoutChange(bank_account="0001-001-1-1234567"))


def test_cli_sets_and_shows_payout_settings(tmp_path: Path) -> None:
    kessai(tmp_path, "migrate")
    mid = str(json.loads(kessai(tmp_path, "merchant", "create", "--json").stdout)["merchant_id"])
    kessai(
        tmp_path,
        "merchant",
        "update",
        mid,
        "--payout-cycle",
        "semimonthly",
        "--bank-account",
        "0001-001-1-1234567",
        "--account-holder",
        "ヤマダ　タロウ",
    )
    shown = json.loads(kessai(tmp_path, "merchant", "show", mid, "--json").stdout)
    assert shown["payout_cycle"] == "semimonthly"
    assert shown["bank_account"] == "0001-001-1-1234567"
    assert (shown["bank_name"], shown["branch_name"]) == ("ﾐｽﾞﾎ", "ﾄｳｷﾖｳ")
    assert shown["account_holder"] == "ﾔﾏﾀﾞ ﾀﾛｳ"
    refused = kessai(
        tmp_path,
        "merchant",
        "update",
        mid,
        "--bank-account",
        "0001-001-1-1234567",
        "--account-holder",
        "ヤマダ・タロウ",
        check=False,
    )
    assert refused.returncode == 1
    assert "'･' cannot be sent in a Zengin transfer" in refused.stderr
    assert "Traceback" not in refused.stderr
