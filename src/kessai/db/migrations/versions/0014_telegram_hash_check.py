"""telegram hash check (/s/) and the IP allow-list (P015)

Issue #17: each merchant gets a telegram hash key (generated here for the merchants that exist
already), room for the previous key during a rotation's overlap, the module paths it may use
(existing merchants keep "n": the certificate-free mode is opted into), its IP allow-list, and the
replay store of accepted `/s/` telegrams.

Revision ID: 0014
Revises: 0010 (the lead re-chains it after 0011–0013 when merging)
Create Date: 2026-12-04 17:40:00
"""

from __future__ import annotations

import secrets
import string

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ALNUM = string.ascii_letters + string.digits


def upgrade() -> None:
    _merchant_columns()
    _telegram_hash_keys()
    _telegram_replays()


def _merchant_columns() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("telegram_hash_key", sa.String(length=64), server_default="", nullable=False)
        )
        batch_op.add_column(
            sa.Column("telegram_hash_key_previous", sa.String(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("telegram_hash_key_previous_until", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("module_paths", sa.String(length=8), server_default="n", nullable=False)
        )
        batch_op.add_column(
            sa.Column("ip_allow_list", sa.String(length=2048), server_default="", nullable=False)
        )


def _telegram_hash_keys() -> None:
    merchants = sa.table("merchants", sa.column("id"), sa.column("telegram_hash_key"))
    connection = op.get_bind()
    for (merchant_id,) in connection.execute(sa.select(merchants.c.id)).all():
        key = "".join(secrets.choice(_ALNUM) for _ in range(32))
        connection.execute(
            merchants.update().where(merchants.c.id == merchant_id).values(telegram_hash_key=key)
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.alter_column("telegram_hash_key", server_default=None)


def _telegram_replays() -> None:
    op.create_table(
        "telegram_replays",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("request_date", sa.String(length=14), nullable=False),
        sa.Column("hc", sa.String(length=64), nullable=False),
        sa.Column("request_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_telegram_replays_merchant_id_merchants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_telegram_replays")),
        sa.UniqueConstraint(
            "merchant_id", "request_date", "hc", name=op.f("uq_telegram_replays_merchant_id")
        ),
    )
    with op.batch_alter_table("telegram_replays", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_telegram_replays_request_at"), ["request_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("telegram_replays", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_telegram_replays_request_at"))
    op.drop_table("telegram_replays")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("ip_allow_list")
        batch_op.drop_column("module_paths")
        batch_op.drop_column("telegram_hash_key_previous_until")
        batch_op.drop_column("telegram_hash_key_previous")
        batch_op.drop_column("telegram_hash_key")
