"""The outbox counts the attempts of each message that may have reached its receiver
(``outbox.maybe_reached``: delivered, retried, or a lease that ran out unsettled), over the
message's whole life — a replay restarts ``attempts`` but keeps this count, so the plan
transfer can tell a plan message B may hold from one it never got. Existing rows start from
what they show: every attempt of a queued or delivered message, all but the last (judged by its
error) of one in flight or dead.

Revision ID: 0014
Revises: 0013"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "outbox", sa.Column("maybe_reached", sa.Integer, nullable=False, server_default="0")
    )
    op.execute(  # queued or delivered: every attempt so far; in flight or dead: all but the last
        "UPDATE outbox SET maybe_reached = CASE WHEN status IN ('queued', 'delivered') "
        "THEN attempts ELSE attempts - 1 END WHERE attempts > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("maybe_reached")
