"""Screening dates and question version; the client's full date of birth

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 10:00:00

``clients.date_of_birth``: the full date, which the screening's age rule reads; clients recorded
before keep their ``birth_year`` (and no date) and are asked for it at their next screening.

``screenings.question_version``: the version of the question set asked (NULL before this
revision: those screenings were all asked from version 1). ``screenings.dates``: the dates given
with time-limited yes answers (surgery, injections…), from which their waits are counted.
``screenings.date_of_birth``: the date of birth the age rule was applied to.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))
    with op.batch_alter_table("screenings") as batch:
        batch.add_column(sa.Column("question_version", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("dates", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("date_of_birth", sa.Date(), nullable=True))


def downgrade() -> None:
    # Dropped in place (SQLite 3.35 and later drop a column natively): copying ``clients``
    # the batch way would drop the original table, and with foreign keys enforced that
    # deletes every client's records by cascade.
    with op.batch_alter_table("screenings", recreate="never") as batch:
        batch.drop_column("date_of_birth")
        batch.drop_column("dates")
        batch.drop_column("question_version")
    with op.batch_alter_table("clients", recreate="never") as batch:
        batch.drop_column("date_of_birth")
