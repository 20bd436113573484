"""card refresh (洗替)

The account updater (issue #15 part 2): each stored card keeps the last 洗替 answer
(`refresh_result`, `refreshed_at`) and, once its account is closed, `closed_at` (the card can no
longer pay). `card_refreshes` is the stored card's history: one row per inquiry, written before the
updater is asked and completed with its answer; masked facts only (last four digits, expiries).
`card_refresh_schedules` holds the merchants that asked for a monthly 洗替 (none: off).

Revision ID: 0019
Revises: 0015 (0016–0018 come from other branches; the chain is set when they are merged)
Create Date: 2026-12-05 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("stored_cards", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refresh_result", sa.String(length=24), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("stored_cards", schema=None) as batch_op:
        batch_op.alter_column("refresh_result", server_default=None)
    op.create_table(
        "card_refreshes",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("stored_card_id", _ID, nullable=False),
        sa.Column("idempotency_key", sa.String(length=40), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=24), nullable=False),
        sa.Column("old_last4", sa.String(length=4), nullable=False),
        sa.Column("new_last4", sa.String(length=4), nullable=False),
        sa.Column("old_valid_term", sa.String(length=4), nullable=False),
        sa.Column("new_valid_term", sa.String(length=4), nullable=False),
        sa.Column("asked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_card_refreshes_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["stored_card_id"],
            ["stored_cards.id"],
            name=op.f("fk_card_refreshes_stored_card_id_stored_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_card_refreshes")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_card_refreshes_idempotency_key")),
    )
    op.create_index("ix_card_refreshes_card", "card_refreshes", ["stored_card_id", "asked_at"])
    op.create_index("ix_card_refreshes_merchant", "card_refreshes", ["merchant_id", "asked_at"])
    op.create_table(
        "card_refresh_schedules",
        sa.Column("merchant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_card_refresh_schedules_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_card_refresh_schedules")),
    )


def downgrade() -> None:
    op.drop_table("card_refresh_schedules")
    op.drop_index("ix_card_refreshes_merchant", table_name="card_refreshes")
    op.drop_index("ix_card_refreshes_card", table_name="card_refreshes")
    op.drop_table("card_refreshes")
    with op.batch_alter_table("stored_cards", schema=None) as batch_op:
        batch_op.drop_column("closed_at")
        batch_op.drop_column("refreshed_at")
        batch_op.drop_column("refresh_result")
