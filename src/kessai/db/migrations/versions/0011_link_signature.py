"""link request signature scheme per merchant

Each merchant's `link_signature` (issue #11): `hmac` (HMAC-SHA256 over name=value lines, the default
for new merchants) or `paygent` (the §2.3 hash). Merchants that exist already keep `paygent`, so
shops built for PAYGENT go on working after the upgrade; the operator moves them with
`kessai merchant update ID --link-signature hmac`.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 17:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "link_signature", sa.String(length=16), server_default="paygent", nullable=False
            )
        )
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.alter_column("link_signature", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("link_signature")
