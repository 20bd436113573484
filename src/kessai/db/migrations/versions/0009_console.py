"""merchant console: users, certificates, sessions, audit log, bulk submissions; search indexes

The console (issue #6) signs staff in per merchant (argon2 hashes, lockout), binds each user to one
client certificate of the console CA, logs every action, and records each bulk submission with a
result per payment so that a re-submitted form never acts twice. The payments indexes serve its
search: one merchant's payments by 取引日時, status, 支払期限日 and 消込日時.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 05:41:26.209842
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "console_audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("action", sa.String(length=48), nullable=False),
        sa.Column("target", sa.String(length=128), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.String(length=512), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_audit")),
    )
    with op.batch_alter_table("console_audit", schema=None) as batch_op:
        batch_op.create_index("ix_console_audit_merchant_at", ["merchant_id", "at"], unique=False)

    op.create_table(
        "console_bulk_actions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_bulk_actions")),
        sa.UniqueConstraint("key", name=op.f("uq_console_bulk_actions_key")),
    )
    with op.batch_alter_table("console_bulk_actions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_bulk_actions_merchant_id"), ["merchant_id"], unique=False
        )

    op.create_table(
        "console_bulk_rows",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("bulk_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("payment_id", sa.BigInteger(), nullable=False),
        sa.Column("trading_id", sa.String(length=25), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("message", sa.String(length=256), nullable=False),
        sa.Column("status_after", sa.String(length=2), nullable=False),
        sa.Column("new_payment_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bulk_id"],
            ["console_bulk_actions.id"],
            name=op.f("fk_console_bulk_rows_bulk_id_console_bulk_actions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_bulk_rows")),
        sa.UniqueConstraint("bulk_id", "payment_id", name="uq_console_bulk_rows_once"),
    )
    with op.batch_alter_table("console_bulk_rows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_bulk_rows_bulk_id"), ["bulk_id"], unique=False)

    op.create_table(
        "console_users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("merchant_id", sa.Integer(), nullable=False),
        sa.Column("login", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("permissions", sa.String(length=128), nullable=False),
        sa.Column("password_hash", sa.String(length=256), nullable=False),
        sa.Column("must_change_password", sa.Boolean(), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["merchant_id"], ["merchants.id"], name=op.f("fk_console_users_merchant_id_merchants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_users")),
        sa.UniqueConstraint("login", name=op.f("uq_console_users_login")),
    )
    with op.batch_alter_table("console_users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_users_merchant_id"), ["merchant_id"], unique=False
        )

    op.create_table(
        "console_cert_downloads",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("issued_by_user_id", sa.BigInteger(), nullable=False),
        sa.Column("filename", sa.String(length=96), nullable=False),
        sa.Column("p12", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["console_users.id"],
            name=op.f("fk_console_cert_downloads_user_id_console_users"),
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_console_cert_downloads")),
    )
    with op.batch_alter_table("console_cert_downloads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_cert_downloads_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "console_certificates",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("serial", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("not_valid_after", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["console_users.id"],
            name=op.f("fk_console_certificates_user_id_console_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_certificates")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_console_certificates_fingerprint")),
    )
    with op.batch_alter_table("console_certificates", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_console_certificates_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "console_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("cert_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["console_users.id"],
            name=op.f("fk_console_sessions_user_id_console_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_console_sessions")),
    )
    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_console_sessions_user_id"), ["user_id"], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # Prefix search (LIKE 'abc%') can use the trading_id index only with pattern ops unless
        # the database collation is exactly "C"; equality lookups keep using it.
        op.drop_index("ix_payments_merchant_trading", table_name="payments")
        op.create_index(
            "ix_payments_merchant_trading",
            "payments",
            ["merchant_id", "trading_id"],
            postgresql_ops={"trading_id": "varchar_pattern_ops"},
        )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_payments_merchant_captured", ["merchant_id", "captured_at"], unique=False
        )
        batch_op.create_index(
            "ix_payments_merchant_created", ["merchant_id", "created_at"], unique=False
        )
        batch_op.create_index("ix_payments_merchant_due", ["merchant_id", "due_at"], unique=False)
        batch_op.create_index(
            "ix_payments_merchant_status_created",
            ["merchant_id", "status", "created_at"],
            unique=False,
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_payments_merchant_trading", table_name="payments")
        op.create_index("ix_payments_merchant_trading", "payments", ["merchant_id", "trading_id"])
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_merchant_status_created")
        batch_op.drop_index("ix_payments_merchant_due")
        batch_op.drop_index("ix_payments_merchant_created")
        batch_op.drop_index("ix_payments_merchant_captured")

    with op.batch_alter_table("console_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_sessions_user_id"))

    op.drop_table("console_sessions")
    with op.batch_alter_table("console_certificates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_certificates_user_id"))

    op.drop_table("console_certificates")
    with op.batch_alter_table("console_cert_downloads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_cert_downloads_user_id"))

    op.drop_table("console_cert_downloads")
    with op.batch_alter_table("console_users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_users_merchant_id"))

    op.drop_table("console_users")
    with op.batch_alter_table("console_bulk_rows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_bulk_rows_bulk_id"))

    op.drop_table("console_bulk_rows")
    with op.batch_alter_table("console_bulk_actions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_console_bulk_actions_merchant_id"))

    op.drop_table("console_bulk_actions")
    with op.batch_alter_table("console_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_console_audit_merchant_at")

    op.drop_table("console_audit")
