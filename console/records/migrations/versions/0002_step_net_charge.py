"""Steps keep their net (signed) charge next to |charge|

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 06:10:00

Sessions recorded before this revision have no net charge: the column stays empty for them and
reports show "—" there, never a zero the console did not measure.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.add_column(sa.Column("net_charge_uc", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("steps") as batch:
        batch.drop_column("net_charge_uc")
