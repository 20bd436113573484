"""ledger, fees and payout statements

Issue #12: the double-entry ledger (one row per journal entry, carrying its debit and credit
account, so an entry is balanced by construction and a capture costs one INSERT), append-only at
the database (triggers refuse UPDATE and DELETE, except stamping a NULL statement_id once), with an
opening sale for every payment already holding money; fee schedules per merchant and method (and
card brand), payout fee terms, and the statements (支払明細) with their per-method lines.

Revision ID: 0012
Revises: 0010 (the lead re-chains it after 0011 when merging)
Create Date: 2026-12-04 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _statements()
    _ledger_entries()
    _fee_schedules()
    _payout_fee_terms()
    is_pg = op.get_bind().dialect.name == "postgresql"
    _opening_sales(is_pg)
    if is_pg:
        _append_only_postgresql()
    else:
        _append_only_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ledger_entries_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_no_delete")
    op.drop_table("payout_fee_terms")
    op.drop_table("fee_schedules")
    op.drop_table("ledger_entries")
    op.drop_table("statement_lines")
    op.drop_table("statements")


def _statements() -> None:
    op.create_table(
        "statements",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("period_from", sa.Date(), nullable=True),
        sa.Column("period_through", sa.Date(), nullable=False),
        sa.Column("payout_date", sa.Date(), nullable=False),
        sa.Column("fees_total", sa.Integer(), nullable=False),
        sa.Column("transfer_fee", sa.Integer(), nullable=False),
        sa.Column("monthly_fee", sa.Integer(), nullable=False),
        sa.Column("tax_rate_percent", sa.Integer(), nullable=False),
        sa.Column("tax", sa.Integer(), nullable=False),
        sa.Column("adjustments", sa.Integer(), nullable=False),
        sa.Column("carried_in", sa.Integer(), nullable=False),
        sa.Column("payout_amount", sa.Integer(), nullable=False),
        sa.Column("carried_forward", sa.Integer(), nullable=False),
        sa.Column("registration_number", sa.String(length=14), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("payout_amount >= 0", name=op.f("ck_statements_payout_not_negative")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_statements_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("merchant_id", "number", name=op.f("uq_statements_merchant_id")),
    )
    op.create_table(
        "statement_lines",
        sa.Column("statement_id", _BIG_ID, nullable=False),
        sa.Column("payment_type", sa.String(length=2), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("gross", sa.Integer(), nullable=False),
        sa.Column("refunds", sa.Integer(), nullable=False),
        sa.Column("fees", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_statement_lines_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("statement_id", "payment_type", name=op.f("pk_statement_lines")),
    )


def _ledger_entries() -> None:
    op.create_table(
        "ledger_entries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", _BIG_ID, nullable=True),
        sa.Column("payment_type", sa.String(length=2), nullable=False),
        sa.Column("institution", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("debit", sa.String(length=64), nullable=False),
        sa.Column("credit", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("statement_id", _BIG_ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount > 0", name=op.f("ck_ledger_entries_amount_positive")),
        sa.CheckConstraint("debit <> credit", name=op.f("ck_ledger_entries_two_accounts")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_ledger_entries_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_ledger_entries_payment_id_payments")
        ),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["statements.id"],
            name=op.f("fk_ledger_entries_statement_id_statements"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_ledger_entries_open", ["merchant_id", "statement_id", "event_date"], unique=False
        )
        batch_op.create_index("ix_ledger_entries_payment_id", ["payment_id"], unique=False)
        batch_op.create_index("ix_ledger_entries_statement_id", ["statement_id"], unique=False)


def _fee_schedules() -> None:
    op.create_table(
        "fee_schedules",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("payment_type", sa.String(length=2), nullable=False),
        sa.Column("brand", sa.String(length=16), nullable=False),
        sa.Column("rate_bp", sa.Integer(), nullable=False),
        sa.Column("fixed", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rate_bp >= 0 AND rate_bp < 10000", name=op.f("ck_fee_schedules_rate")),
        sa.CheckConstraint("fixed >= 0", name=op.f("ck_fee_schedules_fixed")),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_fee_schedules_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_schedules")),
    )
    with op.batch_alter_table("fee_schedules", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fee_schedules_lookup",
            ["merchant_id", "payment_type", "brand", "effective_from"],
            unique=False,
        )


def _payout_fee_terms() -> None:
    op.create_table(
        "payout_fee_terms",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("transfer_fee", sa.Integer(), nullable=False),
        sa.Column("monthly_fee", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "transfer_fee >= 0 AND monthly_fee >= 0", name=op.f("ck_payout_fee_terms_fees")
        ),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payout_fee_terms_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payout_fee_terms")),
    )
    with op.batch_alter_table("payout_fee_terms", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payout_fee_terms_lookup", ["merchant_id", "effective_from"], unique=False
        )


# Payments that hold money when the ledger starts (kessai.core.payments.tables.holds_money, as of
# this migration, written out: a migration must not change when the code does) get their sale, so
# the ledger agrees with the payments from the first day and a later refund reverses a booked sale.
# Dated the day they were captured or paid (Japan); the merchant's first statement closes them.
_HOLDS_MONEY = """
    (payment_type = '02' AND status IN ('40', '41'))
    OR (payment_type IN ('01', '03', '04', '05', '07') AND status = '40')
    OR (payment_type = '06' AND (status IN ('40', '41', '44')
        OR (status IN ('34', '42') AND captured_at IS NOT NULL)))
"""


def _opening_sales(is_pg: bool) -> None:
    if is_pg:
        day = "(COALESCE(captured_at, updated_at) AT TIME ZONE 'Asia/Tokyo')::date"
    else:
        day = "date(COALESCE(captured_at, updated_at), '+9 hours')"
    # exec_driver_sql: the account codes' colons are not bind parameters.
    op.get_bind().exec_driver_sql(
        "INSERT INTO ledger_entries (merchant_id, payment_id, payment_type, institution, kind, "
        "debit, credit, amount, event_date, statement_id, created_at) "
        "SELECT merchant_id, id, payment_type, institution_code, 'sale', "
        "'merchant:' || merchant_id || ':receivable:' || payment_type || ':' "
        "|| COALESCE(NULLIF(institution_code, ''), '-'), "
        "'merchant:' || merchant_id || ':payable', "
        f"amount, {day}, NULL, CURRENT_TIMESTAMP "
        f"FROM payments WHERE amount > 0 AND ({_HOLDS_MONEY}) ORDER BY id"
    )


# Entries are append-only: the only change the database lets through is a statement close
# stamping a NULL statement_id once. A correction is a new entry.
_PG_FUNCTION = """
CREATE FUNCTION ledger_entries_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'ledger entries are append-only (entry %)', OLD.id;
    END IF;
    IF OLD.statement_id IS NOT NULL
       OR (to_jsonb(NEW) - 'statement_id') IS DISTINCT FROM (to_jsonb(OLD) - 'statement_id') THEN
        RAISE EXCEPTION 'ledger entries are append-only (entry %)', OLD.id;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql
"""


def _append_only_postgresql() -> None:
    op.execute(_PG_FUNCTION)
    op.execute(
        "CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries "
        "FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only()"
    )


_SQLITE_COLUMNS = (
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


def _append_only_sqlite() -> None:
    changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _SQLITE_COLUMNS)
    op.execute(
        "CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries "
        f"WHEN OLD.statement_id IS NOT NULL OR {changed} "
        "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"
    )
    op.execute(
        "CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries "
        "BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"
    )
