"""Clients are found by a search form without case or accents, never cut short

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 06:40:00

``search_name`` becomes unbounded text (case-folding and decomposition can make a 120-character
name longer; it was cut at 120, so two long names could collide) and is computed anew for every
client by :func:`console.records.names.search_form`. Names are composed (NFC) as they are
stored now.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from console.records.names import composed, search_form

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

clients = sa.table(
    "clients",
    sa.column("id", sa.Integer),
    sa.column("name", sa.String),
    sa.column("search_name", sa.Text),
)


def upgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.alter_column(
            "search_name", existing_type=sa.String(length=120), type_=sa.Text(), nullable=False
        )
    connection = op.get_bind()
    for client_id, name in connection.execute(sa.select(clients.c.id, clients.c.name)).all():
        connection.execute(
            clients.update()
            .where(clients.c.id == client_id)
            .values(name=composed(name), search_name=search_form(name))
        )


def downgrade() -> None:
    with op.batch_alter_table("clients") as batch:
        batch.alter_column(
            "search_name", existing_type=sa.Text(), type_=sa.String(length=120), nullable=False
        )
