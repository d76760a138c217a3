"""Initial store: versions, current resources, search indexes, active plans.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _owner_cols() -> list[sa.Column[str]]:
    return [
        sa.Column("res_type", sa.String(40), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("param", sa.String(40), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "resources",
        sa.Column("res_type", sa.String(40), primary_key=True),
        sa.Column("res_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.String(26), nullable=False),
        sa.Column("sort_date", sa.String(26), nullable=False),
        sa.Column("deleted", sa.Boolean, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
    )
    op.create_index(
        "ix_resources_type_updated", "resources", ["res_type", "last_updated", "res_id"]
    )
    op.create_index("ix_resources_type_date", "resources", ["res_type", "sort_date", "res_id"])
    op.create_table(
        "resource_versions",
        sa.Column("seq", _SEQ, primary_key=True, autoincrement=True),
        sa.Column("res_type", sa.String(40), nullable=False),
        sa.Column("res_id", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("last_updated", sa.String(26), nullable=False),
        sa.Column("method", sa.String(6), nullable=False),
        sa.Column("body", sa.Text, nullable=True),
        sa.UniqueConstraint("res_type", "res_id", "version", name="uq_resource_versions"),
    )
    op.create_index("ix_resource_versions_type_seq", "resource_versions", ["res_type", "seq"])
    op.create_table(
        "idx_token",
        *_owner_cols(),
        sa.Column("system", sa.String(255), nullable=True),
        sa.Column("code", sa.String(255), nullable=False),
    )
    op.create_index("ix_idx_token_lookup", "idx_token", ["res_type", "param", "code", "system"])
    op.create_index("ix_idx_token_owner", "idx_token", ["res_type", "res_id"])
    op.create_table(
        "idx_reference",
        *_owner_cols(),
        sa.Column("target_type", sa.String(40), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
    )
    op.create_index("ix_idx_reference_lookup", "idx_reference", ["res_type", "param", "target_id"])
    op.create_index("ix_idx_reference_target", "idx_reference", ["target_type", "target_id"])
    op.create_index("ix_idx_reference_owner", "idx_reference", ["res_type", "res_id"])
    op.create_table(
        "idx_date",
        *_owner_cols(),
        sa.Column("low", sa.String(26), nullable=False),
        sa.Column("high", sa.String(26), nullable=False),
    )
    op.create_index("ix_idx_date_lookup", "idx_date", ["res_type", "param", "low"])
    op.create_index("ix_idx_date_owner", "idx_date", ["res_type", "res_id"])
    op.create_table(
        "active_plans",
        sa.Column("patient_id", sa.String(64), primary_key=True),
        sa.Column("careplan_id", sa.String(64), nullable=False, unique=True),
    )


def downgrade() -> None:
    for table in ("active_plans", "idx_date", "idx_reference", "idx_token"):
        op.drop_table(table)
    op.drop_table("resource_versions")
    op.drop_table("resources")
