"""Alembic environment: runs the migrations on the URL that omnitui.db passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import pool

from omnitui import db

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
connectable = db.make_engine(url) if url.startswith("sqlite") else None
if connectable is None:
    from sqlalchemy import create_engine

    connectable = create_engine(url, poolclass=pool.NullPool)

with connectable.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=db.SQLModel.metadata,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()
connectable.dispose()
