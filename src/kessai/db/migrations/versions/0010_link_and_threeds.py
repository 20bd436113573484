"""link type and EMV 3-D Secure 2

The hosted payment page (issue #5): link requests (one per merchant and trading_id), merchant logos,
3-D Secure 2 authentications (telegram 450 and the page's card step), and each merchant's
3Dセキュア結果受付ハッシュ鍵, generated here for the merchants that exist already.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 08:40:00
"""

from __future__ import annotations

import secrets
import string

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_ALNUM = string.ascii_letters + string.digits


def upgrade() -> None:
    _link_requests()
    _merchant_logos()
    _threeds_authentications()
    _threeds_hash_keys()


def _link_requests() -> None:
    op.create_table(
        "link_requests",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("trading_id", sa.String(length=25), nullable=False),
        sa.Column("token", sa.String(length=43), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("payment_types", sa.String(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("charset", sa.String(length=12), nullable=False),
        sa.Column("limit_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("card_failures", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_link_requests_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_requests")),
        sa.UniqueConstraint("merchant_id", "trading_id", name=op.f("uq_link_requests_merchant_id")),
        sa.UniqueConstraint("token", name=op.f("uq_link_requests_token")),
    )


def _merchant_logos() -> None:
    op.create_table(
        "merchant_logos",
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_merchant_logos_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("merchant_id", name=op.f("pk_merchant_logos")),
    )


def _threeds_authentications() -> None:
    op.create_table(
        "threeds_authentications",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("auth_id", sa.String(length=36), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("vault_card_id", _BIG_ID, nullable=True),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("currency_code", sa.String(length=3), nullable=False),
        sa.Column("cardholder_name", sa.String(length=64), nullable=False),
        sa.Column("merchant_name", sa.String(length=64), nullable=False),
        sa.Column("term_url", sa.String(length=512), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trans_status", sa.String(length=1), nullable=False),
        sa.Column("result", sa.String(length=1), nullable=False),
        sa.Column("attempt_kbn", sa.String(length=1), nullable=False),
        sa.Column("response_code", sa.String(length=8), nullable=False),
        sa.Column("payment_id", _BIG_ID, nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notice_attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_notice_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"],
            ["merchants.id"],
            name=op.f("fk_threeds_authentications_merchant_id_merchants"),
        ),
        sa.ForeignKeyConstraint(
            ["vault_card_id"],
            ["vault_cards.id"],
            name=op.f("fk_threeds_authentications_vault_card_id_vault_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_threeds_authentications")),
        sa.UniqueConstraint("auth_id", name=op.f("uq_threeds_authentications_auth_id")),
    )
    with op.batch_alter_table("threeds_authentications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_threeds_authentications_merchant_id"), ["merchant_id"], unique=False
        )
        batch_op.create_index(
            "ix_threeds_authentications_status_expires", ["status", "expires_at"], unique=False
        )


def _threeds_hash_keys() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("threeds_hash_key", sa.String(length=64), server_default="", nullable=False)
        )
    merchants = sa.table("merchants", sa.column("id"), sa.column("threeds_hash_key"))
    connection = op.get_bind()
    for (merchant_id,) in connection.execute(sa.select(merchants.c.id)).all():
        key = "".join(secrets.choice(_ALNUM) for _ in range(24))
        connection.execute(
            merchants.update().where(merchants.c.id == merchant_id).values(threeds_hash_key=key)
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.alter_column("threeds_hash_key", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("threeds_hash_key")
    with op.batch_alter_table("threeds_authentications", schema=None) as batch_op:
        batch_op.drop_index("ix_threeds_authentications_status_expires")
        batch_op.drop_index(batch_op.f("ix_threeds_authentications_merchant_id"))
    op.drop_table("threeds_authentications")
    op.drop_table("merchant_logos")
    op.drop_table("link_requests")
