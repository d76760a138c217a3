"""Date searches by the end of a range: ``ix_idx_date_high`` (res_type, param, high), so
``Goal?start-date=ge2026-01-01`` (and ``gt``, ``eb``) seeks the index entries ending on or after
that day instead of reading every start date of the type (``ix_idx_date_lookup`` orders by the
start of the range, which ``ge`` cannot use).

Revision ID: 0012
Revises: 0011"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idx_date_high", "idx_date", ["res_type", "param", "high"])


def downgrade() -> None:
    op.drop_index("ix_idx_date_high", table_name="idx_date")
