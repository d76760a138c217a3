"""The AppRec the legacy inbox gave each message (``legacy_receipts``): a resend is answered
with the very same bytes, a reused MsgId with other content is refused.

Revision ID: 0013
Revises: 0012"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "legacy_receipts",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("outcome", sa.String(20)),
        sa.Column("apprec", sa.LargeBinary),
    )


def downgrade() -> None:
    op.drop_table("legacy_receipts")
