"""Alembic environment: run programmatically by hub.db.migrate (no alembic.ini)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from hub.models import Base
from hub.stat_models import StatReport  # noqa: F401 - the statistics tables join Base.metadata

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine") or create_engine(config.get_main_option("sqlalchemy.url") or "")
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
