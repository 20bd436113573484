"""inform_url: where a link payment's notices go

Each merchant's `inform_url_mode` (issue #19): `replace` pushes the notices of a payment made on a
link page whose signed request carried an `inform_url` there instead of to the merchant's
notification URL; `ignore` keeps them at the notification URL. Merchants that exist already get
`ignore`, so the upgrade changes no merchant's delivery target; new merchants get `replace`. Each
notice keeps the URL it is pushed to (`push_url`, NULL: the merchant's notification URL), fixed
when the notice is written.

Revision ID: 0015
Revises: 0013 (0012 and 0014 come from other branches; the chain is set when they are merged)
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "inform_url_mode", sa.String(length=16), server_default="ignore", nullable=False
            )
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.alter_column("inform_url_mode", server_default=None)
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("push_url", sa.String(length=512), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("push_url")
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("inform_url_mode")
