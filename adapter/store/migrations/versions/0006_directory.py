"""The directory of organisations and endpoints (``directory_entries``) and the replay memory of
the token endpoint (``client_assertions``).

Revision ID: 0006
Revises: 0005"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "directory_entries",
        sa.Column("orgnr", sa.String(9), primary_key=True),
        sa.Column("kommunenummer", sa.String(4), nullable=True),
        sa.Column("coordinating_unit", sa.Boolean, nullable=False),
        sa.Column("routable", sa.Boolean, nullable=False),
        sa.Column("organization", sa.Text, nullable=False),
        sa.Column("endpoint", sa.Text, nullable=True),
        sa.Column("loaded_at", sa.String(26), nullable=False),
    )
    op.create_index(
        "ix_directory_route", "directory_entries", ["kommunenummer", "coordinating_unit"]
    )
    op.create_table(
        "client_assertions",
        sa.Column("jti_key", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_client_assertions_expiry", "client_assertions", ["expires_at"])


def downgrade() -> None:
    op.drop_table("client_assertions")
    op.drop_table("directory_entries")
