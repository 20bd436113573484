"""merchant test clock

A sandbox merchant's test clock runs ahead of real time by `clock_offset_seconds` (advanced by
`kessai sandbox clock advance`); production merchants always stay at 0.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 05:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("clock_offset_seconds", sa.Integer(), nullable=False, server_default="0")
        )


def downgrade() -> None:
    with op.batch_alter_table("merchants", schema=None) as batch_op:
        batch_op.drop_column("clock_offset_seconds")
