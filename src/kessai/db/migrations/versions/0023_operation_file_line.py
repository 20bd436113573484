"""payment_operations.file_line_id: the file line whose run opened an operation

A file worker killed mid-chunk leaves the lines it had started `running` (on PostgreSQL up to one
per stripe of each lane, their write-ahead marks committed together). Which of them reached the
institution was unknowable, so every one was closed with 9105 and never rerun. An operation opened
by a one-operation file line (020 authorisation, 021 capture, 022 cancel) now names its line, and
recovery asks: no operation → nothing happened, the line runs again; one settled operation → the
line's outcome is that operation's; still open → 9105 with its payment_id (issue #15).

A line still `running` when this runs was started by a worker from before it, whose operation does
not name its line: it is closed as recovery closed such lines until now (9105, see 094), so it can
never be taken for a line that reached nobody.

The index is unique: a line opens at most one operation, so even a line run twice can never reach
the institution twice. It holds only the rows that name a line (partial), so the telegrams'
operations cost it nothing.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-06 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

_NAMES_A_LINE = "file_line_id IS NOT NULL"
_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


# files.process.INTERRUPTED_DETAIL as of this revision
_INTERRUPTED = "処理中に中断されました。結果は決済情報照会（094）で確認してください。"


def upgrade() -> None:
    op.execute(
        sa.text(
            "UPDATE payment_file_lines SET status = 'done', result = '1', response_code = '9105', "
            "response_detail = :detail WHERE status = 'running'"
        ).bindparams(detail=_INTERRUPTED)
    )
    with op.batch_alter_table("payment_operations") as batch:
        batch.add_column(sa.Column("file_line_id", _BIG_ID, nullable=True))
    op.create_index(
        "uq_payment_operations_file_line",
        "payment_operations",
        ["file_line_id"],
        unique=True,
        postgresql_where=sa.text(_NAMES_A_LINE),
        sqlite_where=sa.text(_NAMES_A_LINE),
    )


def downgrade() -> None:
    op.drop_index("uq_payment_operations_file_line", table_name="payment_operations")
    with op.batch_alter_table("payment_operations") as batch:
        batch.drop_column("file_line_id")
