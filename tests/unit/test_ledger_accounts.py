"""Account codes: every code the ledger writes parses back to the account it names."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kessai.core.ledger import accounts


@given(
    merchant_id=st.integers(min_value=1, max_value=999_999_999),
    payment_type=st.sampled_from(["01", "02", "03", "04", "05", "06", "07"]),
    institution=st.text(alphabet="ABCXYZ0123456789-", min_size=0, max_size=16),
)
def test_every_written_code_parses_back(merchant_id: int, payment_type: str, institution: str):
    code = accounts.receivable(merchant_id, payment_type, institution)
    parsed = accounts.parse(code)
    assert parsed is not None
    assert (parsed.kind, parsed.merchant_id, parsed.payment_type) == (
        accounts.AccountKind.RECEIVABLE,
        merchant_id,
        payment_type,
    )
    assert parsed.institution == (institution or accounts.NO_INSTITUTION)
    for code in (accounts.payable(merchant_id), accounts.fees(merchant_id), accounts.BANK):
        assert accounts.parse(code) is not None
        assert accounts.parse(code).code == code  # type: ignore[union-attr]


def test_malformed_codes_are_not_accounts():
    for code in (
        "",
        "merchant:1:payable:02:X",  # only the receivable names an institution
        "merchant:1:receivable",
        "merchant:x:payable",
        "merchant:1:cash",
        "kessai:payable",
        "merchant:1:payable ",
        "merchant:1:payable\n",
    ):
        assert accounts.parse(code) is None, code
