"""Server keys (``server_keys``): secrets the server makes at first use and shares between its
processes, e.g. the page-token key (``adapter/store/cursors.py``).

Revision ID: 0005
Revises: 0004"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "server_keys",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("secret", sa.String(128), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("server_keys")
