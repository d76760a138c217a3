"""Outcomes of writes made with a client's request id (``request_outcomes``), so that a retry
after a lost answer is answered with the first outcome instead of writing again
(``adapter/store/idempotency.py``).

Revision ID: 0009
Revises: 0008"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_outcomes",
        sa.Column("request_key", sa.String(64), primary_key=True),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("res_type", sa.String(40), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version", sa.String(20), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("request_outcomes")
