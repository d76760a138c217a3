"""Change stamps for consent caching (``change_stamps``): one row per person and one for the
directory, bumped by every write that touches them (``adapter/store/stamps.py``).

Revision ID: 0003
Revises: 0002"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "change_stamps",
        sa.Column("scope", sa.String(80), primary_key=True),
        sa.Column("stamp", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("change_stamps")
