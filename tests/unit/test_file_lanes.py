"""KESSAI_FILE_LANES: how many lines of files one worker runs at once (docs/operator/running.md)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from kessai.config import Settings

PG = "postgresql+psycopg://kessai@db/kessai"


def test_one_lane_by_default_on_either_database(tmp_path, monkeypatch):
    # PostgreSQL's lane runs its chunk in stripes with grouped commits; more lanes queued on the
    # merchant's notice counter and doubled the telegrams' p99 (bench/README, "Group commit").
    monkeypatch.delenv("KESSAI_FILE_LANES", raising=False)
    assert Settings(home=tmp_path, database_url=PG).resolved_file_lanes() == 1
    assert Settings(home=tmp_path).resolved_file_lanes() == 1


def test_the_variable_overrides_the_default_on_either_database(tmp_path, monkeypatch):
    monkeypatch.setenv("KESSAI_FILE_LANES", "2")
    assert Settings(home=tmp_path, database_url=PG).resolved_file_lanes() == 2
    assert Settings(home=tmp_path).resolved_file_lanes() == 2


@pytest.mark.parametrize("lanes", ["0", "17", "many"])
def test_a_lane_count_outside_1_to_16_fails_at_start_up_naming_the_setting(
    tmp_path, monkeypatch, lanes
):
    monkeypatch.setenv("KESSAI_FILE_LANES", lanes)
    with pytest.raises(ValidationError, match="file_lanes"):
        Settings(home=tmp_path)
