"""Journal replay writes each record once: safety events keyed by their place, steps marked final

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:20:00

``ordinal`` counts a session's safety events from 0 in the order they happened; (session,
ordinal) is unique. The local journal replays its entries after a crash or an outage, possibly
some the database already holds: the key makes each write land once. Events recorded before
this revision have no ordinal (NULL never collides).

``steps.final`` tells a step's end from a checkpoint of it in progress, so a replayed checkpoint
never overwrites the step's end (NULL, before this revision: the end).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("safety_events") as batch:
        batch.add_column(sa.Column("ordinal", sa.Integer(), nullable=True))
        batch.create_unique_constraint(
            "uq_safety_events_session_ordinal", ["session_id", "ordinal"]
        )
    with op.batch_alter_table("steps") as batch:
        batch.add_column(sa.Column("final", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("final")
    with op.batch_alter_table("safety_events") as batch:
        batch.drop_constraint("uq_safety_events_session_ordinal", type_="unique")
        batch.drop_column("ordinal")
