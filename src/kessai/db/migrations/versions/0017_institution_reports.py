"""institution settlement reports and breaks

The operator's reconciliation with institutions (issue #13, part 3): each imported settlement report
(unique per institution and file hash), its lines with what each was matched to (a ledger entry is
paid by at most one line: UNIQUE paid_entry_id), and the breaks found, open until resolved (an
entry is reported missing once: a partial UNIQUE index); ledger entries indexed by day and method,
which is how a report's day is read.

Revision ID: 0017
Revises: 0015 (0016 comes from another branch; the chain is set when they are merged)
Create Date: 2026-12-05 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain CREATE INDEX (not batch mode): SQLite must not rebuild the table and lose its triggers.
    op.create_index("ix_ledger_entries_day", "ledger_entries", ["event_date", "payment_type"])
    op.create_table(
        "institution_reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("institution", sa.String(length=16), nullable=False),
        sa.Column("report_date", sa.Date(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("line_count", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution_reports")),
        sa.UniqueConstraint("institution", "sha256", name="uq_institution_reports_file"),
    )
    with op.batch_alter_table("institution_reports", schema=None) as batch_op:
        batch_op.create_index(
            "ix_institution_reports_day", ["institution", "report_date"], unique=False
        )

    op.create_table(
        "institution_report_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_number", sa.Integer(), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("settled_on", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column(
            "paid_entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("booked", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_institution_report_lines_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["paid_entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_institution_report_lines_paid_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["institution_reports.id"],
            name=op.f("fk_institution_report_lines_report_id_institution_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_institution_report_lines")),
        sa.UniqueConstraint(
            "paid_entry_id", name=op.f("uq_institution_report_lines_paid_entry_id")
        ),
        sa.UniqueConstraint("report_id", "line_number", name="uq_institution_report_lines_line"),
    )
    with op.batch_alter_table("institution_report_lines", schema=None) as batch_op:
        batch_op.create_index("ix_institution_report_lines_entry_id", ["entry_id"], unique=False)

    op.create_table(
        "settlement_breaks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("institution", sa.String(length=16), nullable=False),
        sa.Column(
            "report_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("entry_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("payment_id", sa.BigInteger(), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("paid", sa.Integer(), nullable=False),
        sa.Column("detail", sa.String(length=256), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_by", sa.String(length=64), nullable=False),
        sa.Column("resolution", sa.String(length=512), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["ledger_entries.id"],
            name=op.f("fk_settlement_breaks_entry_id_ledger_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["line_id"],
            ["institution_report_lines.id"],
            name=op.f("fk_settlement_breaks_line_id_institution_report_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["report_id"],
            ["institution_reports.id"],
            name=op.f("fk_settlement_breaks_report_id_institution_reports"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_settlement_breaks")),
    )
    with op.batch_alter_table("settlement_breaks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_settlement_breaks_report_id"), ["report_id"], unique=False
        )
        batch_op.create_index("ix_settlement_breaks_resolved_at", ["resolved_at"], unique=False)
        batch_op.create_index(
            "uq_settlement_breaks_missing",
            ["entry_id"],
            unique=True,
            sqlite_where=sa.text("kind = 'missing'"),
            postgresql_where=sa.text("kind = 'missing'"),
        )


def downgrade() -> None:
    with op.batch_alter_table("settlement_breaks", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_settlement_breaks_missing",
            sqlite_where=sa.text("kind = 'missing'"),
            postgresql_where=sa.text("kind = 'missing'"),
        )
        batch_op.drop_index("ix_settlement_breaks_resolved_at")
        batch_op.drop_index(batch_op.f("ix_settlement_breaks_report_id"))

    op.drop_table("settlement_breaks")
    with op.batch_alter_table("institution_report_lines", schema=None) as batch_op:
        batch_op.drop_index("ix_institution_report_lines_entry_id")

    op.drop_table("institution_report_lines")
    with op.batch_alter_table("institution_reports", schema=None) as batch_op:
        batch_op.drop_index("ix_institution_reports_day")

    op.drop_table("institution_reports")
    op.drop_index("ix_ledger_entries_day", table_name="ledger_entries")
