"""`kessai files submit|show|result|cancel` as operators' scripts drive them (SQLite home)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kessai.app import build_runtime
from kessai.config import Settings
from tests.integration.test_cli import kessai
from tests.support.files import run_files

FILE = "trading_id,payment_amount,card_number,card_valid_term\r\nCLI1,500,4900000000000000,1230\r\n"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    kessai(tmp_path, "migrate")
    return tmp_path


@pytest.fixture
def shop(home: Path) -> str:
    return str(json.loads(kessai(home, "merchant", "create", "--json").stdout)["merchant_id"])


def test_submit_show_and_result(home, shop, tmp_path):
    source = tmp_path / "auth.csv"
    source.write_bytes(FILE.encode("cp932"))
    submitted = kessai(home, "files", "submit", shop, str(source), "--type", "020", "--json")
    receipt_id = json.loads(submitted.stdout)["file_receipt_id"]
    assert len(receipt_id) == 9 and receipt_id.isdigit()
    plain = kessai(home, "files", "submit", shop, str(source), "--type", "020").stdout.strip()
    assert plain.isdigit() and plain != receipt_id

    shown = json.loads(kessai(home, "files", "show", receipt_id, "--json").stdout)
    assert (shown["status"], shown["total_lines"], shown["done_lines"]) == ("queued", 1, 0)
    out = tmp_path / "result.csv"
    early = kessai(home, "files", "result", receipt_id, "--out", str(out), check=False)
    assert early.returncode == 1 and "完了していません" in early.stderr

    runtime = build_runtime(Settings(home=home))
    run_files(runtime)
    runtime.engine.dispose()
    shown = json.loads(kessai(home, "files", "show", receipt_id, "--json").stdout)
    assert (shown["status"], shown["done_lines"], shown["error_lines"]) == ("done", 1, 0)
    kessai(home, "files", "result", receipt_id, "--out", str(out))
    records = out.read_bytes().decode("cp932").split("\r\n")
    assert records[0].split(",")[6] == "0" and records[1].startswith("3,2,0,,,")
    assert records[2] == "4,1"


def test_a_malformed_file_is_refused_with_its_line(home, shop, tmp_path):
    source = tmp_path / "bad.csv"
    source.write_bytes(b"trading_id,payment_amount\r\nA,1\r\nB\r\n")
    refused = kessai(home, "files", "submit", shop, str(source), "--type", "020", check=False)
    assert refused.returncode == 1 and "3行目" in refused.stderr


def test_cancel_a_queued_file(home, shop, tmp_path):
    source = tmp_path / "auth.csv"
    source.write_bytes(FILE.encode("cp932"))
    receipt_id = kessai(home, "files", "submit", shop, str(source), "--type", "020").stdout.strip()
    kessai(home, "files", "cancel", receipt_id)
    shown = json.loads(kessai(home, "files", "show", receipt_id, "--json").stdout)
    assert (shown["status"], shown["done_lines"]) == ("cancelled", 0)
    again = kessai(home, "files", "cancel", receipt_id, check=False)
    assert again.returncode == 1
