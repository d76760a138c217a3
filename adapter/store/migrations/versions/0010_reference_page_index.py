"""Search pages by reference in index order: ``ix_idx_reference_lookup`` gains ``res_id`` (and
``target_type``), so ``Goal?patient=X&_count=10`` reads ten index entries in id order and stops,
however many Goals the person has (``adapter/store/search_sql.py`` ``page_select``). The old
index (res_type, param, target_id) is a prefix of the new one and is dropped.

Revision ID: 0010
Revises: 0009"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_COLUMNS = ["res_type", "param", "target_id", "target_type", "res_id"]


def upgrade() -> None:
    op.drop_index("ix_idx_reference_lookup", table_name="idx_reference")
    op.create_index("ix_idx_reference_lookup", "idx_reference", _COLUMNS)


def downgrade() -> None:
    op.drop_index("ix_idx_reference_lookup", table_name="idx_reference")
    op.create_index("ix_idx_reference_lookup", "idx_reference", ["res_type", "param", "target_id"])
