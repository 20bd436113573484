"""notices (payment_id, payment_seq), and of it the blocking ones: the claim's earlier-notice probe

A notice is claimable only when no earlier notice of its payment (lower payment_seq) is pending,
delivering or failed. That test runs once per due candidate at every claim, and with the outbox's
statistics stale after a burst PostgreSQL ANDed `ix_notices_payment_id` with `ix_notices_due` (every
pending notice) for each candidate: ~200 ms per claim at 2,000 pending, 8 ms with this index
(bench/notify.py, one merchant). It leads with payment_id, so it replaces `ix_notices_payment_id`.

With half the outbox delivered the planner still ANDed the probe with `ix_notices_due` (126 ms per
claim): `ix_notices_blocking` holds only the notices that block (pending, delivering, failed), so the
probe is one look into a small index (6 ms).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 12:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

_BLOCKING = "delivery_status IN ('pending', 'delivering', 'failed')"


def upgrade() -> None:
    op.create_index("ix_notices_payment_seq", "notices", ["payment_id", "payment_seq"])
    op.drop_index("ix_notices_payment_id", table_name="notices")
    op.create_index(
        "ix_notices_blocking",
        "notices",
        ["payment_id", "payment_seq"],
        postgresql_where=sa.text(_BLOCKING),
        sqlite_where=sa.text(_BLOCKING),
    )


def downgrade() -> None:
    op.drop_index("ix_notices_blocking", table_name="notices")
    op.create_index("ix_notices_payment_id", "notices", ["payment_id"])
    op.drop_index("ix_notices_payment_seq", table_name="notices")
