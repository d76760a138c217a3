"""Transactional outbox for messages to other organisations (``outbox``, ``adapter/sync``).

Revision ID: 0004
Revises: 0003"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("message_id", sa.String(64), nullable=False, unique=True),
        sa.Column("destination", sa.String(500), nullable=False),
        sa.Column("kind", sa.String(80), nullable=False),
        sa.Column("person", sa.String(80), nullable=True),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("due_at", sa.Float, nullable=False),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("response", sa.Text, nullable=True),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "due_at"])
    op.create_index("ix_outbox_person", "outbox", ["person", "destination", "seq"])


def downgrade() -> None:
    op.drop_table("outbox")
