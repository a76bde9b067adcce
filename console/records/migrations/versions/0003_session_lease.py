"""A running session carries a lease its console renews, so only abandoned sessions are recovered

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 06:25:00

``lease_owner`` names the console process that records the session (host, process id and a
random tag); ``lease_until`` is when the lease runs out unless renewed. Sessions from before this
revision have neither: a start treats them as it always did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import console.records.models

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("lease_owner", sa.String(length=160), nullable=True))
        batch.add_column(
            sa.Column(
                "lease_until", console.records.models.UtcDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("lease_until")
        batch.drop_column("lease_owner")
