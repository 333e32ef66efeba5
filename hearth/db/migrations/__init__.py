"""Alembic migrations of Hearth's schema (``hearth db upgrade``; SQLite upgrades itself)."""
