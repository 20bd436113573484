"""payout settings

Each merchant's payout cycle (monthly, semimonthly, weekly; closing and payout day) and the bank
account payouts are transferred to, with the Zengin directory's bank and branch names in half-width
katakana for the transfer file (issue #12). One row per merchant, created when a setting is first
given.

Revision ID: 0013
Revises: 0010 (0011 and 0012 come from other branches; the chain is set when they are merged)
Create Date: 2026-12-04 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "payout_settings",
        sa.Column("merchant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("cycle", sa.String(length=16), nullable=True),
        sa.Column("closing_day", sa.Integer(), nullable=True),
        sa.Column("payout_day", sa.Integer(), nullable=True),
        sa.Column("bank_code", sa.String(length=4), nullable=True),
        sa.Column("bank_name", sa.String(length=64), nullable=True),
        sa.Column("branch_code", sa.String(length=3), nullable=True),
        sa.Column("branch_name", sa.String(length=64), nullable=True),
        sa.Column("account_type", sa.String(length=1), nullable=True),
        sa.Column("account_number", sa.String(length=7), nullable=True),
        sa.Column("account_holder", sa.String(length=30), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_payout_settings_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_payout_settings")),
    )


def downgrade() -> None:
    op.drop_table("payout_settings")
