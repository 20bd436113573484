"""initial schema: merchants, payments, operations, events, notices, vault, stored cards

Revision ID: 0001
Revises:
Create Date: 2026-11-27 03:19:05.375896
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "merchants",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("connect_id", sa.String(length=32), nullable=False),
        sa.Column("connect_password_hash", sa.String(length=64), nullable=False),
        sa.Column("link_hash_key", sa.String(length=64), nullable=False),
        sa.Column("notification_hash_key", sa.String(length=64), nullable=False),
        sa.Column("notification_url", sa.String(length=512), nullable=True),
        sa.Column("enabled_methods", sa.String(length=128), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("notice_seq", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_merchants")),
        sa.UniqueConstraint("connect_id", name=op.f("uq_merchants_connect_id")),
    )
    op.create_table(
        "vault_cards",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key_id", sa.String(length=32), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.LargeBinary(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("masked", sa.String(length=19), nullable=False),
        sa.Column("brand", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vault_cards")),
    )
    with op.batch_alter_table("vault_cards", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vault_cards_fingerprint"), ["fingerprint"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vault_cards_key_id"), ["key_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("trading_id", sa.String(length=25), nullable=False),
        sa.Column("site_id", sa.String(length=4), nullable=False),
        sa.Column("payment_type", sa.String(length=2), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=2), nullable=False),
        sa.Column("institution_ref", sa.String(length=64), nullable=True),
        sa.Column("institution_code", sa.String(length=16), nullable=False),
        sa.Column("institution_name", sa.String(length=64), nullable=False),
        sa.Column(
            "vault_card_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "related_payment_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("authorized_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_payments_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["vault_card_id"],
            ["vault_cards.id"],
            name=op.f("fk_payments_vault_card_id_vault_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_merchant_id"), ["merchant_id"], unique=False)
        batch_op.create_index(
            "ix_payments_merchant_trading", ["merchant_id", "trading_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_payments_vault_card_id"), ["vault_card_id"], unique=False
        )

    op.create_table(
        "stored_cards",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.String(length=4), nullable=False),
        sa.Column("customer_id", sa.String(length=25), nullable=False),
        sa.Column(
            "vault_card_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("card_valid_term", sa.String(length=4), nullable=False),
        sa.Column("card_brand", sa.String(length=24), nullable=False),
        sa.Column("cardholder_name", sa.String(length=64), nullable=False),
        sa.Column("add_info1", sa.String(length=64), nullable=False),
        sa.Column("add_info2", sa.String(length=64), nullable=False),
        sa.Column("add_info3", sa.String(length=64), nullable=False),
        sa.Column("add_info4", sa.String(length=64), nullable=False),
        sa.Column("valid_check_result", sa.String(length=1), nullable=False),
        sa.Column("valid_check_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("issur_name", sa.String(length=64), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("valid_check_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_stored_cards_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["vault_card_id"],
            ["vault_cards.id"],
            name=op.f("fk_stored_cards_vault_card_id_vault_cards"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stored_cards")),
    )
    with op.batch_alter_table("stored_cards", schema=None) as batch_op:
        batch_op.create_index(
            "ix_stored_cards_customer", ["merchant_id", "site_id", "customer_id"], unique=False
        )

    op.create_table(
        "notices",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("payment_notice_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("payment_seq", sa.Integer(), nullable=False),
        sa.Column("payment_status", sa.String(length=2), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("delivery_status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_notices_merchant_id_merchants")
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_notices_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("merchant_id", "payment_notice_id", name="uq_notices_merchant_seq"),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_payment_id"), ["payment_id"], unique=False)

    op.create_table(
        "payment_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("operation", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=2), nullable=False),
        sa.Column("to_status", sa.String(length=2), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("response_code", sa.String(length=8), nullable=False),
        sa.Column("response_detail", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_events_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_events")),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_events_payment_id"), ["payment_id"], unique=False
        )

    op.create_table(
        "payment_operations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "payment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("response_code", sa.String(length=8), nullable=False),
        sa.Column("response_detail", sa.String(length=256), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_payment_operations_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payment_operations")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_payment_operations_idempotency_key")),
    )
    with op.batch_alter_table("payment_operations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_payment_operations_payment_id"), ["payment_id"], unique=False
        )
        batch_op.create_index(
            "uq_payment_operations_open",
            ["payment_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('sending', 'unknown')"),
            postgresql_where=sa.text("status IN ('sending', 'unknown')"),
        )


def downgrade() -> None:

    with op.batch_alter_table("payment_operations", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_payment_operations_open",
            sqlite_where=sa.text("status IN ('sending', 'unknown')"),
            postgresql_where=sa.text("status IN ('sending', 'unknown')"),
        )
        batch_op.drop_index(batch_op.f("ix_payment_operations_payment_id"))

    op.drop_table("payment_operations")
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payment_events_payment_id"))

    op.drop_table("payment_events")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_payment_id"))

    op.drop_table("notices")
    with op.batch_alter_table("stored_cards", schema=None) as batch_op:
        batch_op.drop_index("ix_stored_cards_customer")

    op.drop_table("stored_cards")
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payments_vault_card_id"))
        batch_op.drop_index("ix_payments_merchant_trading")
        batch_op.drop_index(batch_op.f("ix_payments_merchant_id"))

    op.drop_table("payments")
    with op.batch_alter_table("vault_cards", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vault_cards_key_id"))
        batch_op.drop_index(batch_op.f("ix_vault_cards_fingerprint"))

    op.drop_table("vault_cards")
    op.drop_table("merchants")
