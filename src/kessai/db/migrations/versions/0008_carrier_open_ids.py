"""carrier open ids

Carrier user authentications (telegram 104): the buyer's carrier login kept as an OpenID for the
merchant's later payments (100 with open_id) until released (105).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 05:46:02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carrier_open_ids",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=4), nullable=False),
        sa.Column("career_type", sa.String(length=2), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("open_id", sa.String(length=64), nullable=True),
        sa.Column("login_id", sa.String(length=64), nullable=False),
        sa.Column("redirect_url", sa.String(length=512), nullable=False),
        sa.Column("cancel_url", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_carrier_open_ids_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carrier_open_ids")),
        sa.UniqueConstraint("open_id", name=op.f("uq_carrier_open_ids_open_id")),
    )
    with op.batch_alter_table("carrier_open_ids", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_carrier_open_ids_merchant_id"), ["merchant_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("carrier_open_ids", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carrier_open_ids_merchant_id"))
    op.drop_table("carrier_open_ids")
