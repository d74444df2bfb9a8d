"""Alembic environment: runs the migrations on the URL that omnitui.db passes in."""

from __future__ import annotations

from alembic import context

from omnitui import db

config = context.config
url = config.get_main_option("sqlalchemy.url")
assert url is not None
connectable = db.make_engine(url)

with connectable.connect() as connection:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode rebuilds a table (copy, drop, rename); with foreign keys on, dropping
        # one that others reference fails (SQLite's own ALTER recipe turns them off). The
        # pragma only works outside a transaction, so here; the check after the migrations
        # makes sure no reference was broken on the way.
        # On the DBAPI connection itself: SQLAlchemy would begin a transaction first.
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
    context.configure(
        connection=connection,
        target_metadata=db.SQLModel.metadata,
        render_as_batch=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # One migrating process at a time, and TUIs wait for it like for any writer.
            from omnitui import pg

            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({pg.WRITE_LOCK})")
        context.run_migrations()
        if sqlite:
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"the migration broke {len(broken)} references: {broken[:5]}")
    if sqlite:
        raw.execute("PRAGMA foreign_keys=ON")
connectable.dispose()
