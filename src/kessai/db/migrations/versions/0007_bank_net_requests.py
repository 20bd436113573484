"""bank net requests

A bank net application (060/050) lives before and across its payments: one row per (merchant,
trading_id), each bank the buyer picks making a payment of its own.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 05:37:42
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "bank_net_requests",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("trading_id", sa.String(length=25), nullable=False),
        sa.Column("site_id", sa.String(length=4), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("claim_kana", sa.String(length=24), nullable=False),
        sa.Column("claim_kanji", sa.String(length=24), nullable=False),
        sa.Column("bank_code", sa.String(length=4), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("selections", sa.Integer(), nullable=False),
        sa.Column("paid_payment_id", _ID, nullable=True),
        sa.Column("limit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payment_limit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_bank_net_requests_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_net_requests")),
        sa.UniqueConstraint(
            "merchant_id", "trading_id", name=op.f("uq_bank_net_requests_merchant_id")
        ),
    )


def downgrade() -> None:
    op.drop_table("bank_net_requests")
