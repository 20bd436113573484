"""Every response code the gateway can answer is documented for merchants, with what to do."""

from __future__ import annotations

import re
from pathlib import Path

from kessai.kit.errors import MESSAGES

DOC = Path(__file__).parents[2] / "docs" / "user" / "errors.md"


def test_every_code_is_documented_with_what_to_do() -> None:
    rows = {
        match.group(1): match.group(2).strip()
        for match in re.finditer(r"^\| `([^`]+)` \|[^|]*\|([^|]*)\|$", DOC.read_text(), re.M)
    }
    missing = sorted(set(MESSAGES) - set(rows))
    assert not missing, f"add to docs/user/errors.md: {missing}"
    assert all(rows[code] for code in MESSAGES), "each code needs a 'what to do'"
