"""The directory of Japanese banks and branches (金融機関コード・支店コード), from `zengin-code`.

`zengin-code` ships the Zengin bank and branch tables as data and loads all of them when first
imported (about half a second); this module imports it on first use only, so a process that never
looks a bank up never pays for it. Names come back as the directory has them (kanji) and in the
Zengin character set (half-width katakana) that a transfer file carries.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from kessai.kit.zengin_chars import to_zengin


@dataclass(frozen=True, slots=True)
class BankBranch:
    """One branch of one bank, with the names a transfer file and a person read."""

    bank_code: str  # 4 digits
    bank_name: str  # as the directory writes it (みずほ)
    bank_kana: str  # half-width katakana (ﾐｽﾞﾎ)
    branch_code: str  # 3 digits
    branch_name: str
    branch_kana: str


def find_branch(bank_code: str, branch_code: str) -> BankBranch:
    """The branch `branch_code` of the bank `bank_code`; LookupError saying which is unknown."""
    bank = _banks().get(bank_code)
    if bank is None:
        raise LookupError(f"bank code {bank_code} is not in the Zengin bank directory")
    branch = bank.branches.get(branch_code)
    if branch is None:
        raise LookupError(
            f"branch code {branch_code} is not a branch of {bank.name} ({bank_code}) "
            "in the Zengin bank directory"
        )
    return BankBranch(
        bank_code=bank_code,
        bank_name=bank.name,
        bank_kana=to_zengin(bank.kana),
        branch_code=branch_code,
        branch_name=branch.name,
        branch_kana=to_zengin(branch.kana),
    )


def directory_version() -> str:
    """The `zengin-code` data's version (its date), for the operator who asks how fresh it is."""
    import zengin_code  # type: ignore[import-untyped]

    return str(zengin_code.__version__)


@functools.cache
def _banks() -> dict[str, Any]:
    from zengin_code import Bank

    return dict(Bank.all)
