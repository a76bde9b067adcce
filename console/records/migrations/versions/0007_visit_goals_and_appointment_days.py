"""Each session keeps the goals of its visit; appointments are booked for a day

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 09:00:00

``sessions.goals``: the client's goals as stated at the consultation of the session's visit (the
client's own ``goals`` hold the latest); NULL for sessions recorded before this revision.

``follow_ups.due_on``: the day of the next appointment, as the follow-up page books it.
``follow_ups.due_at`` becomes optional: appointments booked before this revision keep their
moment there (and no day); new ones have a day and no moment. Nothing is rewritten on the way
up. On the way down an appointment with a day only gets that day at 12:00 UTC as its moment
(the same calendar day in every time zone from UTC-11 to UTC+11), so no appointment is lost.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import sqlalchemy as sa
from alembic import op

import console.records.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

follow_ups = sa.table(
    "follow_ups",
    sa.column("id", sa.Integer),
    sa.column("due_at", console.records.models.UtcDateTime(timezone=True)),
    sa.column("due_on", sa.Date),
)


def upgrade() -> None:
    # Added in place: copying ``sessions`` would mean dropping the table every step, event
    # and note of a session points at.
    with op.batch_alter_table("sessions", recreate="never") as batch:
        batch.add_column(sa.Column("goals", sa.Text(), nullable=True))
    # ``follow_ups`` is pointed at by nothing: SQLite may copy it to drop the NOT NULL.
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch.alter_column(
            "due_at",
            existing_type=console.records.models.UtcDateTime(timezone=True),
            nullable=True,
        )


def downgrade() -> None:
    connection = op.get_bind()
    day_only = connection.execute(
        sa.select(follow_ups.c.id, follow_ups.c.due_on).where(
            follow_ups.c.due_at.is_(None), follow_ups.c.due_on.is_not(None)
        )
    ).all()
    for plan_id, day in day_only:
        connection.execute(
            follow_ups.update()
            .where(follow_ups.c.id == plan_id)
            .values(due_at=datetime.combine(day, time(12, 0), tzinfo=UTC))
        )
    with op.batch_alter_table("follow_ups") as batch:
        batch.alter_column(
            "due_at",
            existing_type=console.records.models.UtcDateTime(timezone=True),
            nullable=False,
        )
        batch.drop_column("due_on")
    with op.batch_alter_table("sessions", recreate="never") as batch:
        batch.drop_column("goals")
