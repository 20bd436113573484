"""64-bit yen where amounts add up: statement totals, payouts, ledger entries

A merchant that sells more than 2,147,483,647 yen (2^31 − 1, about 2.1 billion) in one period could
not have its statement saved: the totals, the payout and the ledger entry booking that payout were
32-bit INTEGER columns on PostgreSQL. They become BIGINT. SQLite's INTEGER already holds 64 bits,
so only PostgreSQL changes.

PostgreSQL refuses to change the type of a column that a trigger's WHEN clause names, and 0020's
ledger_entries_no_update trigger names every fixed column, amount among them: the trigger is dropped
and created again, exactly as 0020 made it, around the change (in the same transaction, so no
UPDATE can slip in between).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

_COLUMNS = {
    "statements": (
        "fees_total",
        "transfer_fee",
        "monthly_fee",
        "tax",
        "adjustments",
        "carried_in",
        "payout_amount",
        "carried_forward",
    ),
    "statement_lines": ("gross", "refunds", "fees"),
    "payout_transfers": ("amount",),
    "ledger_entries": ("amount",),
}

# ledger_entries' columns no UPDATE may change, as 0020 lists them.
_FIXED = (
    "id",
    "merchant_id",
    "payment_id",
    "payment_type",
    "institution",
    "kind",
    "debit",
    "credit",
    "amount",
    "event_date",
    "created_at",
)


def upgrade() -> None:
    _retype("BIGINT")


def downgrade() -> None:
    _retype("INTEGER")


def _retype(sql_type: str) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER ledger_entries_no_update ON ledger_entries")
    for table, columns in _COLUMNS.items():
        changes = ", ".join(f"ALTER COLUMN {c} TYPE {sql_type}" for c in columns)
        op.execute(f"ALTER TABLE {table} {changes}")
    old = ", ".join(f"OLD.{c}" for c in _FIXED)
    new = ", ".join(f"NEW.{c}" for c in _FIXED)
    op.execute(
        "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries FOR EACH ROW "
        f"WHEN (OLD.statement_id IS NOT NULL OR ROW({old}) IS DISTINCT FROM ROW({new})) "
        "EXECUTE FUNCTION ledger_entries_append_only()"
    )
