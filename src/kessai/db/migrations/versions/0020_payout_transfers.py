"""payout_transfers: what each bank file wrote; a cheaper claim for the statement close

One row per statement whose payout a bank file (`kessai payouts zengin`) wrote: the transfer date,
the amount and the account as written. A held payout (no usable account) has no row, so a later
file picks it up once its account is fixed; `kessai payouts mark-paid` books these rows, so an
account changed after the file was written cannot change what is booked.

A close stamps every open entry of a merchant with its statement, a million rows for a large one.
Two things made each stamped row dearer than it needs to be, on PostgreSQL: the append-only trigger
called PL/pgSQL and built two JSONB copies of the row for every row, and the open-entries index
took a new entry for every stamped row although a stamped entry is never looked up through it.
Now the trigger's function runs only when its WHEN condition sees a forbidden change (a stamped
entry stamped again, or any column other than statement_id changed; a new column must be added to
that list, as SQLite's trigger already lists its columns), and the open-entries index holds the
open entries only (WHERE statement_id IS NULL), on both databases.

Revision ID: 0020
Revises: 0015 (the lead re-chains on merge)
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# Every column of ledger_entries but statement_id: the ones no UPDATE may change.
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
    _payout_transfers()
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_open")
        batch_op.create_index(
            "ix_ledger_entries_open",
            ["merchant_id", "event_date"],
            unique=False,
            postgresql_where=sa.text("statement_id IS NULL"),
            sqlite_where=sa.text("statement_id IS NULL"),
        )
    if op.get_bind().dialect.name == "postgresql":
        old = ", ".join(f"OLD.{c}" for c in _FIXED)
        new = ", ".join(f"NEW.{c}" for c in _FIXED)
        op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
        op.execute(
            "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
        )
        op.execute(
            "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries FOR EACH ROW "
            f"WHEN (OLD.statement_id IS NOT NULL OR ROW({old}) IS DISTINCT FROM ROW({new})) "
            "EXECUTE FUNCTION ledger_entries_append_only()"
        )


def _payout_transfers() -> None:
    op.create_table(
        "payout_transfers",
        sa.Column("statement_id", _BIG_ID, autoincrement=False, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("transfer_date", sa.Date(), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("bank_code", sa.String(length=4), nullable=False),
        sa.Column("bank_name", sa.String(length=64), nullable=False),
        sa.Column("branch_code", sa.String(length=3), nullable=False),
        sa.Column("branch_name", sa.String(length=64), nullable=False),
        sa.Column("account_type", sa.String(length=1), nullable=False),
        sa.Column("account_number", sa.String(length=7), nullable=False),
        sa.Column("account_holder", sa.String(length=30), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payout_transfers_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_payout_transfers_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("statement_id", name=op.f("pk_payout_transfers")),
    )
    with op.batch_alter_table("payout_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payout_transfers_transfer_date"), ["transfer_date"], unique=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entries_no_update ON ledger_entries")
        op.execute("DROP TRIGGER ledger_entries_no_delete ON ledger_entries")
        op.execute(
            "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
            "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
        )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_open")
        batch_op.create_index(
            "ix_ledger_entries_open", ["merchant_id", "statement_id", "event_date"], unique=False
        )
    with op.batch_alter_table("payout_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payout_transfers_transfer_date"))
    op.drop_table("payout_transfers")
