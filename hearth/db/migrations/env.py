"""Alembic environment: runs migrations on the connection Database.upgrade() hands over."""

from alembic import context

from hearth.db import models

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=models.Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
