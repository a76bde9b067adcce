"""Practitioner accounts and the audit trail

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 18:40:00

``accounts``: who may sign in (name, role, an Argon2id hash of the PIN or password, the failed
attempts since the last sign-in, until when a locked account waits, when it was disabled), each
linked to the practitioner row its records name. ``audit_entries``: every access to the records,
each entry chained to the one before by a SHA-256 hash (console.records.audit).

The audit trail is append-only in the database itself: a trigger refuses every UPDATE and
DELETE of ``audit_entries`` (SQLite: ``RAISE(ABORT)``; PostgreSQL: a trigger function), so a
mistake in a program cannot rewrite history; someone who drops the triggers can, and the hash
chain then says where. Nothing existing is changed on the way up; the way down drops both
tables (the trail with them: a console of revision 0007 has no place for it).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import console.records.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_REFUSAL = "the audit trail is append-only"

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
    BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END""",
    f"""CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
    BEGIN SELECT RAISE(ABORT, '{_REFUSAL}'); END""",
)

_POSTGRES_TRIGGERS = (
    f"""CREATE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION '{_REFUSAL}'; END $$""",
    """CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries
    FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()""",
    # TRUNCATE is not a row operation: refused by a statement trigger of its own.
    """CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()""",
)


def upgrade() -> None:
    utc = console.records.models.UtcDateTime(timezone=True)
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("login", sa.String(length=480), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("secret_kind", sa.String(length=8), nullable=False),
        sa.Column("failed_attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", utc, nullable=True),
        sa.Column("practitioner_id", sa.Integer(), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("disabled_at", utc, nullable=True),
        sa.ForeignKeyConstraint(["practitioner_id"], ["practitioners.id"]),
        sa.ForeignKeyConstraint(["created_by_id"], ["accounts.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("login"),
    )
    op.create_table(
        "audit_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.Column("actor", sa.String(length=160), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("workstation", sa.String(length=255), nullable=False),
        sa.Column("previous_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("entry_hash"),
    )
    op.create_index("ix_audit_entries_client_id", "audit_entries", ["client_id"], unique=False)
    dialect = op.get_bind().dialect.name
    triggers = _POSTGRES_TRIGGERS if dialect == "postgresql" else _SQLITE_TRIGGERS
    for statement in triggers:
        op.execute(statement)


def downgrade() -> None:
    # Dropping the table drops its triggers (SQLite and PostgreSQL); the function stays.
    op.drop_index("ix_audit_entries_client_id", table_name="audit_entries")
    op.drop_table("audit_entries")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
    op.drop_table("accounts")
