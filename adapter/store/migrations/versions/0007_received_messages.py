"""Messages received at ``$process-message`` (``received_messages``): the answer given to each
sender's message id, for de-duplication.

Revision ID: 0007
Revises: 0006"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "received_messages",
        sa.Column("sender", sa.String(9), primary_key=True),
        sa.Column("message_id", sa.String(64), primary_key=True),
        sa.Column("event", sa.String(80), nullable=False),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("response", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("received_messages")
