"""Alembic environment for the client records (run through :mod:`console.records.store`).

The store passes its open connection in ``config.attributes["connection"]``, so migrations run
on exactly the database the console uses, in one transaction.
"""

from __future__ import annotations

from alembic import context

from console.records.models import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes one
    raise RuntimeError("run migrations through console.records.store.RecordStore")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
)
with context.begin_transaction():
    context.run_migrations()
