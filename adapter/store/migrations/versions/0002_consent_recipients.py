"""Recipients to inform when a sharing consent is revoked (``consent_recipients``).

Revision ID: 0002
Revises: 0001"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_recipients",
        sa.Column("consent", sa.String(80), primary_key=True),
        sa.Column("organisation", sa.String(20), primary_key=True),
        sa.Column("first_disclosed", sa.String(40), nullable=False),
        sa.Column("last_disclosed", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("consent_recipients")
