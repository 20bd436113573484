"""`kessai merchant …` for the telegram hash check: the key shown once, rotated with an overlap,
the module paths and the IP allow-list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.test_cli import kessai


@pytest.fixture
def home(tmp_path: Path) -> Path:
    kessai(tmp_path, "migrate")
    return tmp_path


def test_create_prints_the_telegram_hash_key_once(home):
    created = json.loads(
        kessai(
            home,
            "merchant",
            "create",
            "--module-paths",
            "n,s",
            "--ip-allow",
            "203.0.113.7, 2001:db8::/48",
            "--json",
        ).stdout
    )
    assert len(created["telegram_hash_key"]) == 32 and created["telegram_hash_key"].isalnum()
    assert created["module_paths"] == ["n", "s"]
    assert created["ip_allow_list"] == ["203.0.113.7/32", "2001:db8::/48"]
    shown = json.loads(
        kessai(home, "merchant", "show", str(created["merchant_id"]), "--json").stdout
    )
    assert "telegram_hash_key" not in shown
    assert shown["module_paths"] == ["n", "s"]


def test_rotate_key_prints_a_new_key_and_the_overlap(home):
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    mid = str(created["merchant_id"])
    rotated = json.loads(kessai(home, "merchant", "rotate-key", mid, "--telegram", "--json").stdout)
    assert rotated["telegram_hash_key"] != created["telegram_hash_key"]
    assert rotated["previous_key_valid_until"]
    at_once = json.loads(
        kessai(
            home, "merchant", "rotate-key", mid, "--telegram", "--overlap-hours", "0", "--json"
        ).stdout
    )
    assert at_once["previous_key_valid_until"] is None


def test_update_limits_paths_and_refuses_a_bad_network(home):
    created = json.loads(kessai(home, "merchant", "create", "--json").stdout)
    mid = str(created["merchant_id"])
    updated = json.loads(
        kessai(home, "merchant", "update", mid, "--module-paths", "s", "--json").stdout
    )
    assert updated["module_paths"] == ["s"]
    bad = kessai(home, "merchant", "update", mid, "--ip-allow", "10.0.0.1/24", check=False)
    assert bad.returncode != 0 and "10.0.0.1/24" in bad.stderr
    cleared = json.loads(kessai(home, "merchant", "update", mid, "--ip-allow", "", "--json").stdout)
    assert cleared["ip_allow_list"] == []


def test_production_merchant_on_s_without_a_list_is_warned(home):
    created = kessai(
        home,
        "merchant",
        "create",
        "--mode",
        "production",
        "--methods",
        "02",
        "--module-paths",
        "s",
        "--json",
    )
    assert "P015" in created.stderr
    mid = str(json.loads(created.stdout)["merchant_id"])
    listed = kessai(home, "merchant", "update", mid, "--ip-allow", "203.0.113.7", "--json")
    assert "P015" not in listed.stderr
